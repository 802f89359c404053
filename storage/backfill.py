"""Loads Asterisk's queue_log into the same facts the collector writes, without duplicates.

Used by `python -m storage import-queue-log` (years of history before Callboard existed) and
for reconciliation: a call the collector saw is kept as it is (source `ami`); a call it missed
is added from queue_log (source `queue_log`); a stay the collector could only close as
`unknown` across a gap is replaced by queue_log's record of it. Member lines become agent
presence (`member_states`) for the time before the collector's first row for the PBX
(storage/presence.py). Loading a file twice changes nothing. All writes go through the store's
writer (`Store.in_writer`, `Store.submit`).
"""

from __future__ import annotations

import functools
import os
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import duckdb

from collectors.rows import MemberState, QueueCall, RingAttempt
from storage import agent_days, rollups
from storage.presence import MembersWritten, next_rowid, order_members, write_members
from storage.queue_log import MAX_LINE_CHARS, OVERSIZED_LINE, QueueLogFolder
from storage.queue_log_fast import FastFolder, FastRows
from storage.store import Store, WriterJob, scalar, to_arrow

CHUNK_LINES = 200_000
BLOCK_CHARS = 1 << 20  # read 1 M characters at a time; lines are split in C
# queue_log times are whole seconds and the AMI event follows the line by some ms, so the two
# records of one stay start within a second or two of each other.
SAME_STAY_WINDOW_S = 5
WRITE_TIMEOUT_S = 600.0  # one chunk's writes: seconds on a large store, never minutes


@dataclass
class BackfillReport:
    """What a load did, for the CLI and the admin page."""

    lines: int = 0
    calls_added: int = 0
    calls_replaced: int = 0  # `unknown` gap stays replaced by queue_log's record
    calls_known: int = 0  # already in the store (seen live, or loaded before)
    open_calls: int = 0
    orphan_lines: int = 0
    bad_lines: list[tuple[int, str]] = field(default_factory=list)  # the first ones
    bad_line_count: int = 0
    seconds: float = 0.0
    member_states_added: int = 0  # presence rows (closing rows at the horizon included)
    member_rows_observed: int = 0  # presence changes the collector had seen itself
    member_rows_in_outages: int = 0  # of those added, inside the collector's AMI outages
    unmapped_members: Counter[str] = field(default_factory=Counter)  # name -> lines left out

    def add_written(self, written: _Written | None) -> None:
        if written is not None:
            self.calls_added += written.added
            self.calls_replaced += written.replaced
            self.calls_known += written.calls - written.added
            self.add_members(written.members)

    def add_members(self, written: MembersWritten | None) -> None:
        if written is not None:
            self.member_states_added += written.added
            self.member_rows_observed += written.observed
            self.member_rows_in_outages += written.in_outages
            self.unmapped_members.update(written.unmapped)

    @property
    def lines_per_s(self) -> float:
        return self.lines / self.seconds if self.seconds else 0.0


Progress = Callable[[int, int], None]  # (bytes read, total bytes)


def backfill_file(
    store: Store,
    path: Path,
    pbx: str,
    progress: Progress | None = None,
    members: Mapping[str, str] | None = None,
    fast: bool = True,
) -> BackfillReport:
    """Fold `path` chunk by chunk and write the stays the store does not have yet, and the
    presence before the collector's first member row; `members` maps member names to their
    interfaces where the collector never saw them (storage/presence.py). `fast` folds the
    regular stays in DuckDB (storage/queue_log_fast.py, same rows); False folds every line
    in Python, as the equality tests do to compare the two."""
    report = BackfillReport()
    started = time.monotonic()
    folder = QueueLogFolder(pbx)
    fast_folder = FastFolder(folder) if fast else None
    total = path.stat().st_size
    first_member = store.in_writer(next_rowid) or 0
    threads = store.in_writer(functools.partial(_set_threads, threads=_load_threads())) or 1
    done = 0
    # The writer writes a chunk while the next one is folded (DuckDB lets go of the GIL while
    # it writes); one chunk ahead at most, so that memory holds two chunks' rows, not a file's,
    # and a chunk that fails to write stops the load before the next one is queued.
    pending: WriterJob[_Written] | None = None
    try:
        for chunk in _chunks(path):
            fast_rows = None
            if fast_folder is not None:
                fast_rows, rest = fast_folder.feed(chunk)
                calls, attempts = folder.feed_rest(chunk, rest)
            else:
                calls, attempts = folder.feed(chunk)
            rows = folder.take_members()
            if pending is not None:
                report.add_written(pending.wait(WRITE_TIMEOUT_S))
            pending = store.submit(functools.partial(
                _write_chunk, calls=calls, attempts=attempts, fast=fast_rows, rows=rows, pbx=pbx,
                names=members,
            ))  # fmt: skip
            done += sum(map(len, chunk)) + len(chunk)  # and their LFs
            if progress is not None:
                progress(min(done, total), total)
    finally:
        if fast_folder is not None:
            fast_folder.close()
        # After the last chunk's write (the writer runs jobs in order); not waited for, so
        # that a failed load raises its own error.
        store.submit(functools.partial(_set_threads, threads=threads))
    if pending is not None:
        report.add_written(pending.wait(WRITE_TIMEOUT_S))
    # Close what is still present at the collector's horizon, then put history loaded after
    # the collector ran before its rows, once for the whole file.
    report.add_members(store.in_writer(functools.partial(
        write_members, rows=[], pbx=pbx, order=False, days=False
    )))  # fmt: skip
    store.in_writer(functools.partial(order_members, pbx=pbx, first=first_member))
    store.in_writer(_settle_days)
    account = folder.account
    report.lines, report.open_calls = account.lines, account.open_calls
    report.orphan_lines, report.bad_lines = account.orphan_lines, account.bad_lines
    report.bad_line_count = account.bad_line_count
    report.seconds = time.monotonic() - started
    return report


def _settle_days(con: duckdb.DuckDBPyConnection) -> None:
    """agent_days recomputed from the first day the load wrote (a rewrite of the changelog,
    order_members, has recomputed it all already). A load that stopped before leaves this
    to the next open (agent_days.check)."""
    con.execute("BEGIN TRANSACTION")
    try:
        agent_days.settle(con)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def _load_threads() -> int:
    """DuckDB's threads while a file loads: a core is the fold's (the main thread folds the
    next chunk while the writer writes one), so the writer's statements get the others. With
    every core (DuckDB's default) its threads and the fold contend: on 2 cores the load took
    ~1 s more CPU per 1M lines and ran no faster (bench/README.md)."""
    return max(1, (os.cpu_count() or 1) - 1)


def _set_threads(con: duckdb.DuckDBPyConnection, threads: int) -> int:
    """Sets DuckDB's threads (the whole database's, readers' too, until set back); returns
    the previous value."""
    before = scalar(con, "SELECT current_setting('threads')")
    con.execute("SET threads = $n", {"n": threads})
    return before


@dataclass(frozen=True)
class _Written:
    """What the writer did with one chunk."""

    calls: int
    added: int
    replaced: int
    members: MembersWritten | None


def _write_chunk(
    con: duckdb.DuckDBPyConnection,
    calls: list[QueueCall],
    attempts: list[RingAttempt],
    fast: FastRows | None,
    rows: list[MemberState],
    pbx: str,
    names: Mapping[str, str] | None,
) -> _Written:
    stays = len(calls) + (fast.calls.num_rows if fast is not None else 0)
    # agent_days is recomputed once, at the load's end (`backfill_file`): each recompute runs
    # from its first day up to today, over the collector's days after the file too.
    added, replaced = write_new(con, calls, attempts, fast, days=False) if stays else (0, 0)
    members = write_members(con, rows, pbx, names=names, order=False, days=False) if rows else None
    return _Written(stays, added, replaced, members)


def _chunks(
    path: Path, block_chars: int = BLOCK_CHARS, max_line: int = MAX_LINE_CHARS
) -> Iterator[list[str]]:
    """The file's lines (without their LF), CHUNK_LINES at a time. A line over
    MAX_LINE_CHARS is not kept: OVERSIZED_LINE stands in for it, so the fold reports it by
    its number and a file that is not a queue_log never makes one line fill memory."""
    lines: list[str] = []
    with path.open(encoding="utf-8", errors="replace", newline="") as f:
        tail, skipping = "", False
        while block := f.read(block_chars):
            parts = (tail + block).split("\n")
            tail = parts.pop()  # the line still being read
            if skipping and parts:  # the rest of the oversized line, already reported
                del parts[0]
                skipping = False
            if parts and max(map(len, parts)) > max_line:
                parts = [OVERSIZED_LINE if len(p) > max_line else p for p in parts]
            if len(tail) > max_line:
                if not skipping:
                    parts.append(OVERSIZED_LINE)
                tail, skipping = "", True
            lines += parts
            if len(lines) >= CHUNK_LINES:
                yield lines
                lines = []
        if tail and not skipping:
            lines.append(tail)
    if lines:
        yield lines


def write_new(
    con: duckdb.DuckDBPyConnection,
    calls: list[QueueCall],
    attempts: list[RingAttempt],
    fast: FastRows | None = None,
    days: bool = True,
) -> tuple[int, int]:
    """In one transaction: replace `unknown` gap stays, add stays the store lacks, with their
    ring attempts, and note every stay in `queue_log_stays` (what queue_log holds, for the
    `completeness` query). `fast` holds more stays (storage/queue_log_fast.py), none the
    same as one of `calls`. Without `days`, agent_days is left for the caller to bring up to
    date. Returns (stays added, of which replacing an unknown one)."""
    con.execute("BEGIN TRANSACTION")
    try:
        # One row per stay even if the input repeats it (the same ENTERQUEUE twice in one
        # second): the last one folded wins.
        unique = {(c.pbx, c.queue, c.call_id, c.entered_at): c for c in calls}
        stays: list[QueueCall] = list(unique.values())
        con.register("py_calls", to_arrow(QueueCall, stays))
        con.register("py_attempts", to_arrow(RingAttempt, attempts))
        if fast is None:
            con.execute("CREATE OR REPLACE TEMP VIEW new_calls AS FROM py_calls")
            con.execute("CREATE OR REPLACE TEMP VIEW new_attempts AS FROM py_attempts")
        else:
            con.register("fast_calls", fast.calls)
            con.register("fast_attempts", fast.attempts)
            # BY NAME: a column the Python rows leave all None has Arrow's null type there.
            con.execute("CREATE OR REPLACE TEMP VIEW new_calls AS "
                        "FROM py_calls UNION ALL BY NAME FROM fast_calls")  # fmt: skip
            con.execute("CREATE OR REPLACE TEMP VIEW new_attempts AS "
                        "FROM py_attempts UNION ALL BY NAME FROM fast_attempts")  # fmt: skip
        con.execute(_NOTED)
        replaced = _count(con, _REPLACED)
        ring_span: list[datetime | None] = []  # agent_counts' days to recompute
        if replaced:
            ring_span += _span(con, _REPLACED_RINGS)
            con.execute(_DELETE_REPLACED_RINGS)
            con.execute(_DELETE_REPLACED_STAYS)
        _count(con, _FRESH)
        added = _count(con, "INSERT INTO queue_calls SELECT n.* FROM new_calls n SEMI JOIN "
                            "fresh USING (pbx, queue, call_id, entered_at)")  # fmt: skip
        con.execute(_INSERT_FRESH_RINGS)
        ring_span += _span(con, _FRESH_RINGS)
        con.execute("DROP TABLE fresh; DROP TABLE replaced")
        if added or replaced:  # the buckets of the new stays and of the gap stays they replace
            rollups.refresh_new_calls(
                con, timedelta(seconds=SAME_STAY_WINDOW_S), ring_span, days=days
            )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    finally:
        con.execute("DROP VIEW IF EXISTS new_calls; DROP VIEW IF EXISTS new_attempts")
        for name in ("py_calls", "py_attempts", "fast_calls", "fast_attempts"):
            con.unregister(name)
    return added, replaced


def _count(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    return scalar(con, sql, {"window": SAME_STAY_WINDOW_S} if "$window" in sql else None)


def _span(con: duckdb.DuckDBPyConnection, sql: str) -> list[datetime | None]:
    row = con.execute(sql).fetchone()
    return [row[0], row[1]] if row else []


# A stay the store has already: the collector's record of it (entered within the window), or
# queue_log's, which entered at the same second: a caller who leaves a queue and enters it
# again a few seconds later (a key pressed to an IVR and back) is two stays of queue_log,
# also when the second comes in a later chunk of a file or a later read of the follower.
_KNOWN = """q.pbx = n.pbx AND q.queue = n.queue AND q.call_id = n.call_id
    AND CASE WHEN q.source = 'queue_log' THEN q.entered_at = n.entered_at
             ELSE abs(epoch(q.entered_at) - epoch(n.entered_at)) < $window END"""
# Stays the collector could only close as unknown (a gap) that queue_log knows the end of
# (the collector's rows: _KNOWN matches them within the window).
_REPLACED = f"""
CREATE TEMP TABLE replaced AS
SELECT q.pbx, q.queue, q.call_id FROM queue_calls q
WHERE q.source = 'ami' AND q.outcome = 'unknown'
  AND EXISTS (SELECT 1 FROM new_calls n WHERE {_KNOWN})"""  # noqa: S608 (fixed text)
# The collector's rows of those gap stays, which queue_log's replace.
_DELETE_REPLACED_RINGS = """
DELETE FROM ring_attempts t USING replaced r
WHERE t.source = 'ami' AND t.pbx = r.pbx AND t.queue = r.queue AND t.call_id = r.call_id"""
_DELETE_REPLACED_STAYS = """
DELETE FROM queue_calls t USING replaced r
WHERE t.source = 'ami' AND t.pbx = r.pbx AND t.queue = r.queue AND t.call_id = r.call_id"""
# When the ring attempts deleted with the gap stays they replace, and those inserted with the
# fresh stays, started: (first, last), or (None, None).
_REPLACED_RINGS = """
SELECT min(t.started_at), max(t.started_at) FROM ring_attempts t
JOIN replaced r USING (pbx, queue, call_id) WHERE t.source = 'ami'"""
# The ring attempts of the fresh stays: of their key, started while one of them lasted (from
# a little before it entered: queue_log's whole seconds, and a CONNECT's whole-second ring
# time, put a ring's start a second or so early). A stay of the same key entered again,
# known already, keeps its rings out.
_OF_FRESH = """
SEMI JOIN fresh f
  ON a.pbx = f.pbx AND a.queue = f.queue AND a.call_id = f.call_id
 AND a.started_at >= f.entered_at - INTERVAL 2 SECONDS
 AND a.started_at <= coalesce(f.ended_at, 'infinity'::TIMESTAMPTZ)"""
_INSERT_FRESH_RINGS = f"""
INSERT INTO ring_attempts SELECT a.* FROM new_attempts a {_OF_FRESH}"""  # noqa: S608 (fixed text)
_FRESH_RINGS = f"""
SELECT min(a.started_at), max(a.started_at) FROM new_attempts a {_OF_FRESH}"""  # noqa: S608
_FRESH = f"""
CREATE TEMP TABLE fresh AS
SELECT n.pbx, n.queue, n.call_id, n.entered_at, n.ended_at FROM new_calls n
WHERE NOT EXISTS (SELECT 1 FROM queue_calls q WHERE {_KNOWN})"""  # noqa: S608 (fixed text)
# Every stay queue_log holds, once: the backfill may see a stay again (a file loaded twice,
# the follower re-reading after a restart). Bounded to the chunk's time span, so that only the
# row groups of those days are compared.
_NOTED = """
INSERT INTO queue_log_stays
SELECT n.pbx, n.queue, n.call_id, n.entered_at FROM new_calls n
WHERE NOT EXISTS (
    SELECT 1 FROM queue_log_stays s
    WHERE s.pbx = n.pbx AND s.queue = n.queue AND s.call_id = n.call_id
      AND s.entered_at = n.entered_at
      AND s.entered_at BETWEEN (SELECT min(entered_at) FROM new_calls)
                           AND (SELECT max(entered_at) FROM new_calls))"""
