"""The real Service on its own event loop in a background thread, as under the web server:
the page (AppTest, in the test's thread) reaches it through `service.current()`."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from service import Service
from settings import Settings


@contextmanager
def service_thread(settings: Settings, timeout: float = 60.0) -> Iterator[Service]:
    """Enter `Service(settings)` on a new loop in a thread; leave it (flush, close) after."""
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    holder: list[Service | BaseException] = []
    stop: list[Callable[[], None]] = []

    async def main() -> None:
        stopping = asyncio.Event()
        stop.append(stopping.set)
        try:
            async with Service(settings) as running:
                holder.append(running)
                ready.set()
                await stopping.wait()
        except BaseException as e:  # handed to the test, which raises it
            holder.append(e)
            raise
        finally:
            ready.set()

    thread = threading.Thread(target=lambda: loop.run_until_complete(main()), daemon=True)
    thread.start()
    assert ready.wait(timeout), "the service did not start"
    if isinstance(holder[0], BaseException):
        raise holder[0]
    try:
        yield holder[0]
    finally:
        loop.call_soon_threadsafe(stop[0])
        thread.join(timeout)
        loop.close()
