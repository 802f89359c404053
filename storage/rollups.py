"""Rollups: stays summed per queue and time bucket, kept equal to queue_calls by the writer.

The tables and the macros that compute their rows are in storage/schema.sql (`stay_quarters`:
per UTC quarter-hour, every additive figure; `stay_waits`: per UTC day, the whole-second wait
histogram; `agent_counts`: per agent and UTC day, answered stays and ring attempts). A rollup
row is a pure function of the rows of its bucket and of the queues' thresholds, so keeping it
right is one rule: whoever changes stays (or ring attempts) recomputes their buckets in the
same transaction (`refresh`, `refresh_rings`), and a threshold change recomputes everything
(`rebuild`).
`check` rebuilds when the totals disagree with queue_calls (a file written before rollups
existed, or rows written by hand), and `drop_reshaped` drops tables of another version's
columns, so a reader never meets a stale rollup (both at open: `store.apply_schema`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import duckdb
import pyarrow as pa

from collectors.rows import QueueCall
from storage import agent_days

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Rollup:
    table: str
    width: timedelta
    delete: str  # the buckets in [lo, hi)
    insert: str  # recompute them from the rows, at the stored thresholds


# Also from the ring attempts, which the collector writes as they ring (before their stay) and
# the queue_log import with its stays: recomputed where those are written too (`refresh_rings`).
AGENT_COUNTS = Rollup(
    "agent_counts",
    timedelta(days=1),
    delete="DELETE FROM agent_counts WHERE bucket >= $lo AND bucket < $hi",
    insert="INSERT INTO agent_counts SELECT * FROM agent_counts_of($lo, $hi) ORDER BY bucket",
)
# Inserts in bucket order, so that zone maps let a range skip the other buckets.
ROLLUPS = (
    Rollup(
        "stay_quarters",
        timedelta(minutes=15),
        delete="DELETE FROM stay_quarters WHERE bucket >= $lo AND bucket < $hi",
        insert="INSERT INTO stay_quarters "
        "SELECT * FROM stay_quarters_of($lo, $hi, NULL, 5) ORDER BY bucket",
    ),
    Rollup(
        "stay_waits",
        timedelta(days=1),
        delete="DELETE FROM stay_waits WHERE bucket >= $lo AND bucket < $hi",
        insert="INSERT INTO stay_waits SELECT * FROM stay_waits_of($lo, $hi) ORDER BY bucket",
    ),
    AGENT_COUNTS,
)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _floor(t: datetime, width: timedelta) -> datetime:
    return t - (t - _EPOCH) % width


def refresh(con: duckdb.DuckDBPyConnection, stays: Iterable[QueueCall],
            margin: timedelta = timedelta(0),
            rings: Iterable[datetime | None] = ()) -> None:  # fmt: skip
    """Bring the rollups up to date with `stays` (just written, or just replaced: then pass
    how far from them the replaced ones may have entered as `margin`) and with ring attempts
    written in the same transaction (when they started, `rings`), inside the caller's
    transaction: recompute the buckets from the first to the last they fall in, and the
    caller_stays of their callers.

    One range, not each bucket apart: a batch's stays entered minutes to hours apart, and
    recomputing the buckets between costs less than a statement per bucket (bench/rollups.py).
    """
    stays = list(stays)
    if not stays:
        refresh_rings(con, rings)
        return
    first = min(s.entered_at for s in stays) - margin
    last = max(s.entered_at for s in stays) + margin
    _refresh_buckets(con, first, last, rings)
    callers = {(s.pbx, s.linkedid or s.call_id) for s in stays}
    con.register("touched", pa.table({"pbx": [c[0] for c in callers],
                                      "caller": [c[1] for c in callers]}))  # fmt: skip
    try:
        _refresh_callers(con, first - CALLER_SPAN, last + CALLER_SPAN)
    finally:
        con.unregister("touched")


def refresh_new_calls(
    con: duckdb.DuckDBPyConnection,
    margin: timedelta = timedelta(0),
    rings: Iterable[datetime | None] = (),
    days: bool = True,
) -> None:
    """`refresh` for the stays in the view or table `new_calls` (queue_calls' columns; the
    file import's, storage/backfill.py): the same buckets and callers, found by DuckDB. The
    import writes some 50k stays per chunk; as Python objects they cost the writer thread
    ~0.5 s of CPU (and the GIL) per 1M lines (bench/README.md). Without `days`, agent_days
    is not recomputed but noted behind from the stays' first day (`agent_days.defer`: the
    import recomputes once, at its end)."""
    row = con.execute("SELECT min(entered_at), max(entered_at) FROM new_calls").fetchone()
    if row is None or row[0] is None:
        refresh_rings(con, rings)
        return
    first, last = row[0] - margin, row[1] + margin
    _refresh_buckets(con, first, last, rings, days)
    # `linkedid or call_id` as `refresh` reads it: an empty linkedid counts as none.
    con.execute("CREATE TEMP TABLE touched AS SELECT DISTINCT pbx, "
                "coalesce(nullif(linkedid, ''), call_id) AS caller FROM new_calls")  # fmt: skip
    try:
        _refresh_callers(con, first - CALLER_SPAN, last + CALLER_SPAN)
    finally:
        con.execute("DROP TABLE touched")


def refresh_rings(con: duckdb.DuckDBPyConnection, started: Iterable[datetime | None]) -> None:
    """Bring agent_counts up to date with ring attempts just written or deleted, started at
    `started` (None: none), inside the caller's transaction."""
    times = [t for t in started if t is not None]
    if times:
        _refresh(con, AGENT_COUNTS, min(times), max(times))


def _refresh(con: duckdb.DuckDBPyConnection, r: Rollup, first: datetime, last: datetime) -> None:
    params = {"lo": _floor(first, r.width), "hi": _floor(last, r.width) + r.width}
    con.execute(r.delete, params)
    con.execute(r.insert, params)


def _refresh_buckets(
    con: duckdb.DuckDBPyConnection, first: datetime, last: datetime,
    rings: Iterable[datetime | None] = (),
    days: bool = True,
) -> None:  # fmt: skip
    # agent_counts' days: the stays' and the ring attempts', in one recompute.
    times = [first, last, *(t for t in rings if t is not None)]
    for r in ROLLUPS:
        if r is AGENT_COUNTS:
            _refresh(con, r, min(times), max(times))
        else:
            _refresh(con, r, first, last)
    # Their talk, in the presence per day (storage/agent_days.py): the days from the first
    # of them entered to the last can still talk in (not every day up to today: an import
    # of old stays into a store with later days).
    if days:
        agent_days.refresh(con, first, last)
    else:
        agent_days.defer(con, first)


def _refresh_callers(con: duckdb.DuckDBPyConnection, lo: datetime, hi: datetime) -> None:
    """caller_stays of the callers in `touched`, whose stays are all in [lo, hi)."""
    con.execute(_CALLERS_DELETE)
    inserted = con.execute(_CALLERS_INSERT, {"lo": lo, "hi": hi}).fetchone()
    if inserted and inserted[0]:  # most batches: none of their callers has several stays
        _figure(con, _FIGURED + _TOUCHED_ONLY, {"lo": lo, "hi": hi}, _CALLERS_DELETE)


# A caller's stays are one call (minutes apart): the writer looks this far around new stays.
CALLER_SPAN = timedelta(days=1)
_CALLERS_DELETE = """
DELETE FROM caller_stays AS c USING touched AS t WHERE c.pbx = t.pbx AND c.caller = t.caller"""
_CALLERS_INSERT = """
INSERT INTO caller_stays BY NAME
SELECT pbx, caller, queue, call_id, entered_at, ended_at, outcome, wait_s, talk_s
FROM (
    -- caller_stays_of (storage/schema.sql) for the touched callers only: their stays are
    -- picked before the window counts them, not after.
    SELECT q.*, t.caller, count(*) OVER (PARTITION BY q.pbx, t.caller) AS caller_stays
    FROM queue_calls AS q
    JOIN touched AS t ON t.pbx = q.pbx AND t.caller = coalesce(q.linkedid, q.call_id)
    WHERE q.entered_at >= $lo AND q.entered_at < $hi
)
WHERE caller_stays > 1
ORDER BY entered_at"""
# Their figures (caller_figures, storage/schema.sql), over the stays just inserted: a touched
# caller's stays are all in [lo, hi) (CALLER_SPAN), so these are over its every stay.
_FIGURED = """
CREATE TEMP TABLE figured AS
SELECT * FROM caller_figures($lo, $hi, NULL, false) AS f"""
_TOUCHED_ONLY = """
WHERE EXISTS (SELECT 1 FROM touched AS t WHERE t.pbx = f.pbx AND t.caller = f.caller)"""


def _figure(
    con: duckdb.DuckDBPyConnection, figured: str, params: dict[str, datetime], delete: str
) -> None:
    """Put the caller figures on the rows just inserted (their stays, figures NULL): computed
    into a temporary table, the rows deleted (`delete`) and inserted again with them. Not an
    UPDATE: DuckDB 2.0 crashed (SIGSEGV, about 1 run in 20 of tests/storage/test_rollups.py)
    updating rows appended earlier in the same transaction."""
    con.execute(figured, params)
    try:
        con.execute(delete)
        con.execute("INSERT INTO caller_stays BY NAME SELECT * FROM figured ORDER BY entered_at")
    finally:
        con.execute("DROP TABLE figured")


# Each rollup table: a query of the columns it must have (its macro's), and how it goes when
# it has other ones.
_SHAPES = {
    "stay_quarters": ("SELECT * FROM stay_quarters_of("
                      "NULL::TIMESTAMPTZ, NULL::TIMESTAMPTZ, NULL, 5)", "DROP TABLE stay_quarters"),
    "stay_waits": ("SELECT * FROM stay_waits_of(NULL::TIMESTAMPTZ, NULL::TIMESTAMPTZ)",
                   "DROP TABLE stay_waits"),
    "caller_stays": ("SELECT * FROM caller_stays_of(NULL::TIMESTAMPTZ, NULL::TIMESTAMPTZ)",
                     "DROP TABLE caller_stays"),
    "agent_counts": ("SELECT * FROM agent_counts_of(NULL::TIMESTAMPTZ, NULL::TIMESTAMPTZ)",
                     "DROP TABLE agent_counts"),
}  # fmt: skip


def reshaped(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The rollup tables (or views, over an export) whose columns differ from their macros'
    (a file of another version)."""
    out = []
    for table, (query, _) in _SHAPES.items():
        stored = con.execute(
            "SELECT column_name FROM duckdb_columns() WHERE table_name = ? ORDER BY column_index",
            [table],
        ).fetchall()
        wanted = con.execute("DESCRIBE " + query).fetchall()
        # An export's files add the store's rowid as a last column (storage/export.py).
        if [c[0] for c in stored if c[0] != "rowid"] != [c[0] for c in wanted]:
            out.append(table)
    return out


def replace_with_empty(con: duckdb.DuckDBPyConnection, view: str) -> None:
    """Replace the view `view` of a rollup (over an export of another version) with an empty
    table of today's columns, for `rebuild` to fill."""
    query, _ = _SHAPES[view]  # a KeyError for any other name: only these reach SQL text
    con.execute("DROP VIEW " + view)
    con.execute(f"CREATE TABLE {view} AS {query} LIMIT 0")


def drop_reshaped(con: duckdb.DuckDBPyConnection) -> bool:
    """Drop the rollup tables whose columns differ from their macros' (derived data, made
    again); True when any went, and the schema must be applied again to create them
    (storage/store.py, `apply_schema`)."""
    tables = reshaped(con)
    for table in tables:
        log.info("rollup %s has the columns of another version: made again", table)
        con.execute(_SHAPES[table][1])
    return bool(tables)


# Every table this module keeps.
TABLES = tuple(_SHAPES)
_EVERYTHING = {"lo": datetime.min.replace(tzinfo=UTC), "hi": datetime.max.replace(tzinfo=UTC)}


def rebuild(con: duckdb.DuckDBPyConnection, callers: bool = False) -> None:
    """Recompute every rollup from all the stays (and caller_stays with `callers`: it does not
    depend on thresholds), inside the caller's transaction."""
    started = time.monotonic()
    for r in ROLLUPS:
        con.execute(r.delete, _EVERYTHING)
        con.execute(r.insert, _EVERYTHING)
    if callers:
        con.execute("DELETE FROM caller_stays")
        # In entered_at order, as the writer appends them: zone maps then let a range (totals,
        # the writer's own refresh) skip the rest of the table.
        con.execute(
            "INSERT INTO caller_stays SELECT * FROM caller_stays_of($lo, $hi) ORDER BY entered_at",
            _EVERYTHING,
        )
        _figure(con, _FIGURED, _EVERYTHING, "DELETE FROM caller_stays")
    log.info("rollups rebuilt in %.1f s", time.monotonic() - started)


def stale(con: duckdb.DuckDBPyConnection) -> bool:
    """True when a rollup's row count differs from the rows it sums (stays or ring attempts
    written by anything but the store, or before the rollup existed). Cheap: counts, no
    grouping by caller; a caller's stays more than CALLER_SPAN apart are not looked for."""
    row = con.execute(_COUNTS).fetchone()
    assert row is not None
    return any(row[i] != row[i + 1] for i in range(0, len(row), 2))


# Pairs: the rows, and what a rollup holds of them (each table read once: this runs at open).
_COUNTS = """
WITH c AS (
    SELECT count(*) AS stays,
           count(*) FILTER (WHERE outcome = 'answered' AND agent IS NOT NULL) AS answered
    FROM queue_calls
),
a AS (
    SELECT coalesce(sum(answered), 0) AS answered, coalesce(sum(attempts), 0) AS attempts
    FROM agent_counts
)
SELECT c.stays, (SELECT coalesce(sum(stays), 0) FROM stay_quarters),
       c.stays, (SELECT coalesce(sum(stays), 0) FROM stay_waits),
       c.answered, a.answered,
       (SELECT count(agent) FROM ring_attempts), a.attempts
FROM c, a"""


def check(con: duckdb.DuckDBPyConnection, force: bool = False) -> bool:
    """Rebuild the rollups when they disagree with queue_calls (or `force`); True when it
    did."""
    if not force and not stale(con):
        return False
    log.info("rollups out of date with queue_calls: rebuilding")
    con.execute("BEGIN TRANSACTION")
    try:
        rebuild(con, callers=True)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return True
