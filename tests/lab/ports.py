"""Free local ports for one lab: Asterisk's AMI, SIP and RTP, and every sipp process.

Ports are taken from 20000-32767, below Linux's default ephemeral range (32768-60999), so the
kernel never hands one of them to an outgoing socket between our check and the real bind.
A block is "free" when nothing is bound to it on any address, for TCP and UDP alike: sipp's
control socket and parts of Asterisk bind 0.0.0.0 (ASTERISK-NOTES.md), so a port taken on
0.0.0.0 clashes with 127.0.0.1 too. Blocks handed out are remembered for the whole pytest
process, so two labs (or two sipps) never get the same port before either has bound it.
"""

from __future__ import annotations

import random
import socket
import threading

LOW, HIGH = 20000, 32768

_lock = threading.Lock()
_handed_out: set[int] = set()


def _is_free(port: int) -> bool:
    for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
        with socket.socket(socket.AF_INET, kind) as probe:
            try:
                probe.bind(("0.0.0.0", port))  # a probe only: closed at once
            except OSError:
                return False
    return True


def free_block(size: int = 1, align: int = 1) -> int:
    """Return the first port of `size` consecutive free ports (first port a multiple of `align`)."""
    rng = random.Random()
    with _lock:
        for _ in range(500):
            base = rng.randrange(LOW, HIGH - size) // align * align
            block = range(base, base + size)
            if any(p in _handed_out for p in block):
                continue
            if all(_is_free(p) for p in block):
                _handed_out.update(block)
                return base
    raise RuntimeError(f"no block of {size} free local ports in {LOW}-{HIGH}")


def free_port() -> int:
    """One free port (TCP and UDP)."""
    return free_block(1)
