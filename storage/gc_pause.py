"""`gc_paused()`: Python's cyclic garbage collector held off while a bulk step builds objects.

The queue_log fold and the writer's Arrow conversion each make hundreds of thousands of small
objects that hold no reference cycles, while a large heap (every row folded so far) stays
alive: each generation-0 collection they trigger goes on to rescan that heap now and then, and
that doubled their time (bench/README.md, queue_log import). Reference counting still frees
their garbage; the collector resumes when the step ends.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def gc_paused() -> Iterator[None]:
    """Hold the cyclic collector off for the block, if it was running. The pause is
    process-wide: of two overlapping pauses (the importer's fold and the writer's
    conversion, in two threads), the first to end turns it back on, which costs speed, never
    memory or correctness."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
