"""`LiveBoard`: the service's task that rebuilds the live snapshot every `live_refresh_s`.

One task, one thread, one cursor: the queries of a tick run on a dedicated thread (DuckDB wants
a cursor per thread) so the event loop that carries the AMI collectors never waits for them,
and ticks never overlap (a slow tick delays the next one, never doubles up). Pages read
`latest()` through `current()`, which without a service (Streamlit's AppTest, a notebook)
builds one on the store open in this process.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import duckdb

from errors import CallboardError, StoreError
from live.snapshot import Link, Snapshot, build, failed
from settings import Settings
from storage import store as _store
from storage.store import Store

log = logging.getLogger(__name__)


class LiveBoard:
    """Owns the refresh task and the newest snapshot."""

    def __init__(
        self, store: Store, settings: Settings, links: Callable[[], tuple[Link, ...]], demo: bool
    ) -> None:
        self.store = store
        self.settings = settings
        self.links = links
        self.demo = demo
        self.ticks = 0
        self.tick_s_total = 0.0  # CPU-free wall time spent building, for /metrics and bench
        self._latest: Snapshot | None = None
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="live")
        self._cursor: duckdb.DuckDBPyConnection | None = None

    def latest(self) -> Snapshot | None:
        """The newest snapshot, or None before the first tick."""
        return self._latest

    async def run(self) -> None:
        """Tick until cancelled; a failing tick is logged and shown, the next one runs."""
        loop = asyncio.get_running_loop()
        try:
            while True:
                started = time.monotonic()
                await loop.run_in_executor(self._pool, self.tick)
                elapsed = time.monotonic() - started
                await asyncio.sleep(max(0.05, self.settings.live_refresh_s - elapsed))
        finally:
            # After the tick in flight, before the service closes the store.
            await asyncio.shield(loop.run_in_executor(self._pool, self._close_cursor))
            self._pool.shutdown(wait=False)

    def tick(self) -> Snapshot:
        """Build one snapshot now (on the board's thread)."""
        started = time.monotonic()
        self.ticks += 1
        try:
            if self._cursor is None:
                self._cursor = self.store.cursor()
            snapshot = build(self._cursor, self.settings, self.ticks, self.links(), self.demo)
        except CallboardError as e:
            log.warning("live snapshot failed: %s", e)
            snapshot = failed(self.settings, self.ticks, str(e), self.links(), self.demo)
        self._latest = snapshot
        self.tick_s_total += time.monotonic() - started
        return snapshot

    def _close_cursor(self) -> None:
        if self._cursor is not None:
            self._cursor.close()
            self._cursor = None


def current() -> Snapshot:
    """The snapshot a page renders: the service's, else one built on the open store (1 s)."""
    import service  # here, not at the top: service imports this module

    running = service.current()
    if running is not None:
        latest = running.live.latest()
        if latest is not None:
            return latest
    return _built_on_open_store()  # no service, or a page before the board's first tick


def _built_on_open_store() -> Snapshot:
    # No service (AppTest, a notebook): no other tab shares the work, so no cache either.
    store = _store.current()
    if store is None:
        raise StoreError("the store is not open in this process; start Callboard with `make run`")
    cursor = store.cursor()
    try:
        return build(cursor, Settings())
    finally:
        cursor.close()
