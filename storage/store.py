"""The store: the one DuckDB connection that writes, fed through a queue, and reader cursors.

DuckDB lets one process hold a file for writing, and within it one connection should own the
writes. `Store` runs a writer thread that drains a queue of rows (collectors/rows.py), groups
them by table and appends each group as one Arrow batch inside one transaction, at least every
`flush_interval_s`. Everything else reads through `Store.cursor()` (a cursor per reader thread,
as DuckDB requires), so a page never fights the writer for the file.
"""

from __future__ import annotations

import logging
import operator
import queue
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import fields
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar, cast

import duckdb
import pyarrow as pa

from collectors.rows import ROW_TYPES, Row
from errors import StoreBusyError, StoreError
from settings import AgentSettings

log = logging.getLogger(__name__)

_current: Store | None = None


def current() -> Store | None:
    """The store open in this process (the service's), which pages and queries read."""
    return _current


SCHEMA_SQL = Path(__file__).with_name("schema.sql")
# Inserts go to these tables only; the name comes from the row class, never from input.
_INSERTS = {cls: "INSERT INTO " + cls.TABLE + " SELECT * FROM batch" for cls in ROW_TYPES}  # noqa: S608 (fixed names)
_COLUMNS = {cls: [f.name for f in fields(cls)] for cls in ROW_TYPES}
_GETTERS = {cls: operator.attrgetter(*names) for cls, names in _COLUMNS.items()}
_MAX_BATCH = 50_000
T = TypeVar("T")


class _WriterTask:
    """Queued work for the writer thread, done after every row queued before it is written.

    `flush()` queues one with no function; `in_writer(fn)` runs `fn` on the writer's own
    connection, so maintenance (retention, imports) never needs a second writer.
    """

    def __init__(self, fn: Callable[[duckdb.DuckDBPyConnection], Any] | None = None) -> None:
        self.fn = fn
        self.done = threading.Event()
        self.result: Any = None
        self.error: BaseException | None = None

    def run(self, con: duckdb.DuckDBPyConnection) -> None:
        try:
            if self.fn is not None:
                self.result = self.fn(con)
        except Exception as e:  # handed back to the caller, which raises it
            self.error = e
        finally:
            self.done.set()


class Store:
    """Owns the DuckDB file: schema, the writer thread, reader cursors, checkpoint on close."""

    def __init__(
        self, path: Path, flush_interval_s: float = 0.25, agents: Sequence[AgentSettings] = ()
    ) -> None:
        self.path = path
        self.flush_interval_s = flush_interval_s
        self.agents = tuple(agents)
        self._queue: queue.SimpleQueue[Row | _WriterTask | None] = queue.SimpleQueue()
        self._con: duckdb.DuckDBPyConnection | None = None
        self._thread: threading.Thread | None = None
        self.rows_written = 0
        self.batches_written = 0
        self.last_error: str | None = None

    # -- lifecycle -------------------------------------------------------------------------
    def open(self) -> Store:
        """Open (or create) the file, apply the schema, load the agent map, start the writer."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._con = connect(self.path)
        self._con.execute(SCHEMA_SQL.read_text())
        self._load_agents(self.agents)
        self._thread = threading.Thread(target=self._run, name="store-writer", daemon=True)
        self._thread.start()
        global _current
        _current = self
        return self

    def close(self) -> None:
        """Write everything queued, checkpoint and close the file."""
        global _current
        if _current is self:
            _current = None
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None
        if self._con is not None:
            self._con.execute("CHECKPOINT")
            self._con.close()
            self._con = None

    def __enter__(self) -> Store:
        return self.open()

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _load_agents(self, agents: Sequence[AgentSettings]) -> None:
        # The agent map is configuration, not history: replaced whole at every start.
        assert self._con is not None
        self._con.execute("BEGIN TRANSACTION")
        self._con.execute("DELETE FROM agents")
        if agents:
            self._con.executemany(
                "INSERT INTO agents VALUES (?, ?, ?, ?)",
                [(a.pbx, a.interface, a.name, a.username) for a in agents],
            )
        self._con.execute("COMMIT")

    # -- writing -----------------------------------------------------------------------------
    def put(self, row: Row) -> None:
        """Queue one row for the writer; never blocks, safe from any thread or the event loop."""
        self._queue.put(row)

    def flush(self, timeout: float = 10.0) -> None:
        """Block until every row queued before this call is written."""
        self.in_writer(None, timeout)

    def in_writer(
        self, fn: Callable[[duckdb.DuckDBPyConnection], T] | None, timeout: float = 60.0
    ) -> T | None:
        """Run `fn(connection)` on the writer thread after the rows queued so far; return its
        result or raise its error. The one way anything but rows writes to the file."""
        task = _WriterTask(fn)
        self._queue.put(task)
        if not task.done.wait(timeout):
            raise StoreError(f"the store's writer did not finish within {timeout:.0f} s")
        if task.error is not None:
            raise task.error
        return cast(T | None, task.result)

    # -- reading -----------------------------------------------------------------------------
    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A new cursor for one reader (one thread); cheap, close it when done."""
        if self._con is None:
            raise StoreError("the store is not open")
        cur = self._con.cursor()
        cur.execute("SET TimeZone = 'UTC'")
        return cur

    # -- the writer thread -------------------------------------------------------------------
    def _run(self) -> None:
        stopping = False
        while not stopping:
            batch, marks, stopping = self._collect()
            if batch:
                self._write_until_done(batch)
            for task in marks:
                assert self._con is not None
                task.run(self._con)

    def _collect(self) -> tuple[list[Row], list[_WriterTask], bool]:
        """Wait for a first item, then gather more until the flush interval ends."""
        batch: list[Row] = []
        marks: list[_WriterTask] = []
        item = self._queue.get()
        deadline = time.monotonic() + self.flush_interval_s
        while True:
            if item is None:
                return batch, marks, True
            if isinstance(item, _WriterTask):
                marks.append(item)
                return batch, marks, False  # a flush is waiting: write now
            batch.append(item)
            remaining = deadline - time.monotonic()
            if remaining <= 0 or len(batch) >= _MAX_BATCH:
                return batch, marks, False
            try:
                item = self._queue.get(timeout=remaining)
            except queue.Empty:
                return batch, marks, False

    def _write_until_done(self, batch: list[Row]) -> None:
        # A failed write (disk full, file unwritable) keeps the batch and retries: rows that
        # were received are not dropped. The error is kept for the admin page.
        delay = 0.5
        while True:
            try:
                self._write(batch)
                self.last_error = None
                return
            except duckdb.Error as e:
                self.last_error = f"writing to {self.path} failed: {e}"
                log.error("%s; retrying in %.1f s", self.last_error, delay)
                time.sleep(delay)
                delay = min(delay * 2, 10.0)

    def _write(self, batch: list[Row]) -> None:
        assert self._con is not None
        groups: dict[type[Row], list[Row]] = defaultdict(list)
        for row in batch:
            groups[type(row)].append(row)
        con = self._con
        con.execute("BEGIN TRANSACTION")
        try:
            for cls, rows in groups.items():
                con.register("batch", to_arrow(cls, rows))
                con.execute(_INSERTS[cls])
                con.unregister("batch")
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        self.rows_written += len(batch)
        self.batches_written += 1


def to_arrow(cls: type[Row], rows: Sequence[Row]) -> pa.Table:
    """Rows of one class as an Arrow table whose columns follow the table's order."""
    # attrgetter builds each row's tuple in C, zip turns rows into columns: the writer holds
    # the GIL for a fraction of a per-field getattr loop (bench/README.md).
    names = _COLUMNS[cls]
    if not rows:
        return pa.table({name: [] for name in names})
    columns = zip(*map(_GETTERS[cls], rows), strict=True)
    return pa.table(dict(zip(names, map(list, columns), strict=True)))


def connect(path: Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the DuckDB file, turning a lock held by another process into a plain message."""
    try:
        con = duckdb.connect(str(path), read_only=read_only)
    except duckdb.IOException as e:
        if "lock" in str(e).lower():
            raise StoreBusyError(
                f"{path} is held by another process (normally the running Callboard service); "
                "stop it, or read the Parquet export instead"
            ) from None
        raise StoreError(f"cannot open {path}: {e}") from None
    con.execute("SET TimeZone = 'UTC'")
    return con
