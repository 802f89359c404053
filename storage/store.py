"""The store: the one DuckDB connection that writes, fed through a queue, and reader cursors.

DuckDB lets one process hold a file for writing, and within it one connection should own the
writes. `Store` runs a writer thread that drains a queue of rows (collectors/rows.py), groups
them by table and appends each group as one Arrow batch inside one transaction, at least every
`flush_interval_s`. Everything else reads through `Store.cursor()` (a cursor per reader thread,
as DuckDB requires), so a page never fights the writer for the file.

When a write fails (disk full, file or folder not writable) the writer keeps the batch, says
why in `last_error` and the log, and retries with backoff until it succeeds; rows keep
queueing meanwhile, at most `max_buffer_rows`, and past that each new row is dropped, counted
and recorded as a `store_gaps` row once writing works again (storage/overflow.py).
"""

from __future__ import annotations

import contextlib
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
from typing import Any, Generic, TypeVar, cast

import duckdb
import pyarrow as pa

from collectors.rows import ROW_TYPES, MemberState, QueueCall, QueueParams, RingAttempt, Row
from errors import StoreBusyError, StoreError
from settings import AgentSettings, QueueSettings
from storage import agent_days, member_changes, rollups
from storage.gc_pause import gc_paused
from storage.overflow import Overflow, StoreGap

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
# Rows held while the file cannot be written (about 1 KB each, a raw event with its text):
# about 200 MB at most; at 1,000 events a second, over three minutes of a busy PBX.
DEFAULT_MAX_BUFFER_ROWS = 200_000
RETRY_FIRST_S, RETRY_CAP_S = 0.5, 10.0
# Stopping while the file cannot be written: retry this long, then report what is lost.
STOP_GRACE_S = 10.0
T = TypeVar("T")


class WriterJob(Generic[T]):
    """Work queued on the writer thread (`Store.submit`): `wait` for its result or error."""

    def __init__(self, task: _WriterTask) -> None:
        self._task = task

    def wait(self, timeout: float = 60.0) -> T | None:
        if not self._task.done.wait(timeout):
            raise StoreError(f"the store's writer did not finish within {timeout:.0f} s")
        if self._task.error is not None:
            raise self._task.error
        return cast(T | None, self._task.result)


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
        self,
        path: Path,
        flush_interval_s: float = 0.25,
        agents: Sequence[AgentSettings] = (),
        max_buffer_rows: int = DEFAULT_MAX_BUFFER_ROWS,
        queues: Sequence[QueueSettings] = (),
    ) -> None:
        self.path = path
        self.flush_interval_s = flush_interval_s
        self.agents = tuple(agents)
        self.max_buffer_rows = max_buffer_rows
        self.retry_cap_s = RETRY_CAP_S  # longest wait between two write attempts
        self.stop_grace_s = STOP_GRACE_S  # how long a stop retries a write that fails
        self.queues = tuple(queues)
        self._queue: queue.SimpleQueue[Row | _WriterTask | None] = queue.SimpleQueue()
        self._con: duckdb.DuckDBPyConnection | None = None
        self._thread: threading.Thread | None = None
        self._held = 0  # rows the writer took off the queue and has not written yet
        self._stop_at: float | None = None  # monotonic time close() was called
        self.overflow = Overflow()
        self.rows_written = 0
        self.batches_written = 0
        self.last_error: str | None = None
        self.failing_since: float | None = None  # epoch time of the first failed write
        self.rows_lost = 0  # given up at a stop while the file could not be written

    # -- lifecycle -------------------------------------------------------------------------
    def open(self) -> Store:
        """Open (or create) the file, apply the schema, load the agent map and the queue
        targets, bring the rollups up to date, start the writer."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._con = connect(self.path)
        apply_schema(self._con)
        self._load_config(self.agents, self.queues)
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
            self._stop_at = time.monotonic()
            self._queue.put(None)
            self._thread.join()
            self._thread = None
            if self.rows_lost:
                log.error("stopping: %d rows could not be written and are lost: %s",
                          self.rows_lost, self.last_error)  # fmt: skip
        if self._con is not None:
            try:
                self._con.execute("CHECKPOINT")
            except duckdb.Error as e:  # what was committed is in the WAL: replayed at open
                log.error("checkpoint at close failed (the WAL keeps the data): %s", e)
            self._con.close()
            self._con = None

    def __enter__(self) -> Store:
        return self.open()

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _load_config(
        self, agents: Sequence[AgentSettings], queues: Sequence[QueueSettings]
    ) -> None:
        # The agent map and queue targets are configuration, not history: replaced whole at
        # every start.
        assert self._con is not None
        self._con.execute("BEGIN TRANSACTION")
        self._con.execute("DELETE FROM agents")
        if agents:
            self._con.executemany(
                "INSERT INTO agents VALUES (?, ?, ?, ?)",
                [(a.pbx, a.interface, a.name, a.username) for a in agents],
            )
        self._con.execute("DELETE FROM queue_settings")
        if queues:
            self._con.executemany(
                "INSERT INTO queue_settings VALUES (?, ?, ?, ?)",
                [(q.pbx, q.name, q.sl_threshold_s, q.sl_target_pct) for q in queues],
            )
        refresh_thresholds(self._con)
        self._con.execute("COMMIT")

    # -- writing -----------------------------------------------------------------------------
    def put(self, row: Row) -> None:
        """Queue one row for the writer; never blocks, safe from any thread or the event loop.

        With `max_buffer_rows` waiting (the file cannot be written, or the writer cannot keep
        up) the row is dropped and counted instead (storage/overflow.py)."""
        if self._queue.qsize() + self._held >= self.max_buffer_rows:
            self.overflow.drop(row)
            return
        self._queue.put(row)

    @property
    def rows_waiting(self) -> int:
        """Rows received and not written yet (queued, or held by a failing writer)."""
        return self._queue.qsize() + self._held

    def health(self) -> dict[str, object]:
        """The store's part of /healthz: written, waiting, dropped, and why it cannot write."""
        since = self.failing_since
        return {
            "path": str(self.path),
            "rows_written": self.rows_written,
            "rows_waiting": self.rows_waiting,
            "max_buffer_rows": self.max_buffer_rows,
            "rows_dropped": self.overflow.total,
            "last_error": self.last_error,
            "failing_for_s": None if since is None else round(time.time() - since, 1),
        }

    def flush(self, timeout: float = 10.0) -> None:
        """Block until every row queued before this call is written."""
        self.in_writer(None, timeout)

    def in_writer(
        self, fn: Callable[[duckdb.DuckDBPyConnection], T] | None, timeout: float = 60.0
    ) -> T | None:
        """Run `fn(connection)` on the writer thread after the rows queued so far; return its
        result or raise its error. The one way anything but rows writes to the file."""
        return self.submit(fn).wait(timeout)

    def submit(self, fn: Callable[[duckdb.DuckDBPyConnection], T] | None) -> WriterJob[T]:
        """Queue `fn(connection)` for the writer thread, as `in_writer` does, without waiting:
        a bulk load folds its next chunk meanwhile (DuckDB releases the GIL while it writes)."""
        task = _WriterTask(fn)
        self._queue.put(task)
        return WriterJob(task)

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
        # were received are not dropped. The error is kept for /healthz and the admin page.
        self._held = len(batch)
        delay = RETRY_FIRST_S
        while True:
            gap = self.overflow.gap(self.last_error)
            try:
                self._write(batch, gap)
                break
            except duckdb.Error as e:
                if self._failed(e, delay, len(batch)):
                    break
                time.sleep(delay)
                delay = min(delay * 2, self.retry_cap_s)
        self._held = 0

    def _failed(self, e: duckdb.Error, delay: float, rows: int) -> bool:
        """Record a failed write; True when the store is stopping and gives the batch up."""
        error = f"cannot write the database {self.path}: {_reason(e)}"
        if error != self.last_error:  # each new reason once; /healthz has it meanwhile
            log.error("%s; %d rows waiting, retrying (every %g s at most)",
                      error, self.rows_waiting, self.retry_cap_s)  # fmt: skip
        self.last_error = error
        self.failing_since = self.failing_since or time.time()
        if isinstance(e, duckdb.FatalException):  # DuckDB invalidated the connection
            self._reopen()
        if self._stop_at is not None and time.monotonic() - self._stop_at > self.stop_grace_s:
            self.rows_lost += rows  # close() says how many
            return True
        log.debug("write failed; retrying in %.1f s (%d rows)", delay, rows)
        return False

    def _reopen(self) -> None:
        # After a fatal error DuckDB refuses every statement on that database until it is
        # opened again; opening replays the WAL, so what was committed is kept.
        try:
            if self._con is not None:
                self._con.close()
            self._con = connect(self.path)
        except (duckdb.Error, StoreError) as e:
            log.error("reopening %s failed (retrying): %s", self.path, e)

    def _write(self, batch: list[Row], gap: StoreGap | None) -> None:
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
            if QueueCall in groups or RingAttempt in groups:
                # The rollup buckets of the stays and ring attempts, in the same transaction.
                rollups.refresh(
                    con,
                    cast(list[QueueCall], groups.get(QueueCall, [])),
                    rings=[cast(RingAttempt, a).started_at for a in groups.get(RingAttempt, [])],
                )
            if QueueParams in groups:  # a queue's servicelevel may have changed
                refresh_thresholds(con)
            if gap is not None:
                con.execute(StoreGap.INSERT, gap.params())
            con.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(duckdb.Error):  # a failed COMMIT has already ended it
                con.execute("ROLLBACK")
            raise
        if MemberState in groups:
            self._fold_members(con)
        if gap is not None:
            self.overflow.recorded(gap)
            log.warning("the store writes again; %d rows were dropped meanwhile (%s to %s)",
                        gap.rows_dropped, gap.started_at, gap.ended_at)  # fmt: skip
        if self.last_error is not None:
            log.warning("the store writes again after %.0f s: %s",
                        time.time() - (self.failing_since or time.time()), self.path)  # fmt: skip
        self.last_error, self.failing_since = None, None
        self.rows_written += len(batch)
        self.batches_written += 1

    @staticmethod
    def _fold_members(con: duckdb.DuckDBPyConnection) -> None:
        # agent_summary's presence changes, in a transaction after the batch's (see
        # member_changes.catch_up). A failure must not fail the batch, which is written:
        # the next batch with member rows folds these too.
        try:
            member_changes.catch_up(con)
        except duckdb.Error as e:
            log.warning("member_changes not brought up to date (the next batch will): %s", e)


def apply_schema(con: duckdb.DuckDBPyConnection) -> None:
    """The current schema on `con`, with rollups equal to the stays: what a file needs before
    anything reads or writes it (`Store.open`; the benches' history files)."""
    agent_days.drop_old_state(con)  # its macros read the state's current columns
    con.execute(SCHEMA_SQL.read_text())
    reshaped = rollups.drop_reshaped(con)
    days_reshaped = agent_days.drop_reshaped(con)
    if reshaped or days_reshaped:  # made again, empty, with today's columns
        con.execute(SCHEMA_SQL.read_text())
    # A count check would not see an emptied caller_stays: a reshaped rollup rebuilds them all.
    rollups.check(con, force=reshaped)
    # Member rows a queue_log load left out of time order (it stopped before its end).
    from storage.presence import order_left  # here: presence imports this module

    order_left(con)
    # Presence per day is folded from member_changes: rebuilt with it.
    agent_days.check(con, force=member_changes.check(con) or days_reshaped)


def refresh_thresholds(con: duckdb.DuckDBPyConnection) -> None:
    """Recompute the table queue_thresholds from its rule (the view queue_thresholds_rule in
    storage/schema.sql), inside the caller's transaction; a changed threshold rebuilds the
    rollups, which count stays within it."""
    before = con.execute(_THRESHOLDS).fetchall()
    con.execute("DELETE FROM queue_thresholds")
    con.execute("INSERT INTO queue_thresholds SELECT * FROM queue_thresholds_rule")
    if con.execute(_THRESHOLDS).fetchall() != before:
        rollups.rebuild(con)


_THRESHOLDS = "SELECT pbx, queue, sl_threshold_s FROM queue_thresholds ORDER BY ALL"


def scalar(
    con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, object] | None = None
) -> int:
    """The integer in the first column of `sql`'s first row (a count, a statement's row
    count), 0 for none or NULL."""
    rows = con.execute(sql, params).fetchall()  # all: fetchone leaves the result open
    return int(rows[0][0] or 0) if rows else 0


def to_arrow(cls: type[Row], rows: Sequence[Row]) -> pa.Table:
    """Rows of one class as an Arrow table whose columns follow the table's order."""
    # attrgetter builds each row's tuple in C, zip turns rows into columns: the writer holds
    # the GIL for a fraction of a per-field getattr loop (bench/README.md).
    names = _COLUMNS[cls]
    if not rows:
        return pa.table({name: [] for name in names})
    with gc_paused():  # a chunk of a queue_log import is ~100k rows: half the time otherwise
        columns = zip(*map(_GETTERS[cls], rows), strict=True)
        return pa.table(dict(zip(names, map(list, columns), strict=True)))


def _reason(e: duckdb.Error) -> str:
    # 'TransactionContext Error: Failed to commit: Could not write file "x.wal": No space
    # left on device': the OS's words are the last part; keep the whole for other errors.
    text = str(e)
    for prefix in ("TransactionContext Error: ", "IO Error: ", "FATAL Error: "):
        text = text.removeprefix(prefix)
    return text


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
    configure(con)
    return con


def configure(con: duckdb.DuckDBPyConnection) -> None:
    """The settings every connection to Callboard's tables runs with (the store's, an
    export's, the benchmarks')."""
    con.execute("SET TimeZone = 'UTC'")
    # DuckDB 2.0 may run an ASOF JOIN whose left side it estimates at 64 rows or fewer as a
    # nested loop. agent_time's (storage/schema.sql) were estimated at 0 rows and held
    # thousands for a range ending within a day: agent_summary of part of a day at 10M
    # callers took 0.64 s instead of 0.15 (bench/README.md, session 7). Since session 11 they
    # have no equality keys and DuckDB keeps them ASOF joins anyway; this stays the guard for
    # any ASOF join it would turn into a loop. GLOBAL: the readers' cursors get it too.
    con.execute("SET GLOBAL asof_loop_join_threshold = 0")
