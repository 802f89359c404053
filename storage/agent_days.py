"""agent_days and agent_hours: agent_summary's presence per device and UTC day and hour, kept
by the writer.

A year of agent_summary over all queues folded from member_changes cuts and matches every
piece of the year and joins every talk of the year against the logged-in runs (seconds at
10M calls, bench/README.md). Presence and observed talk are additive over time, so whole
hours are kept in agent_hours (`agent_time`, storage/schema.sql, computes them: the same SQL
as the query's edges) and summed per day in agent_days; a range reads its whole days from
agent_days, the whole hours at its edges from agent_hours (a local day is a whole number of
UTC hours in most zones), and folds from member_changes only what is left, less than an hour
at each end. Folding even a few minutes costs ~15-20 ms at 10M callers (planning and the
fold's joins), a local day's 23 edge hours ~30 ms more: bench/README.md, session 9. Both
are kept over all queues (queue NULL) and for each queue alone (a manager's usual choice:
one queue's year took 0.6-1.9 s folded at 10M); several chosen queues are still folded,
since whether a device was paused depends on all of them.

A day's rows (and its hours') depend on the member_changes rows that hold in it, on the
talks that overlap it and on the devices' names (a talk belongs to the devices named as its
agent). So whoever changes those recomputes the hours from the first it touched
(`refresh(con, since)`): the stays' writer (rollups.refresh: the store's batches, backfill),
the presence fold (member_changes.catch_up: the writer's member rows, the queue_log presence
import, the order_members rewrite, which rebuilds). A rename (member_heads' newest names
changed) and a first refresh rebuild everything. The hours before the previous one (UTC) are
kept, and the days all of whose hours are; `refresh` adds the hours the clock has passed
since. `check` at open rebuilds when the row counts it was folded from disagree with the
tables (rows written by hand, a file from before the table). A queue_log import recomputes
once, at its end: its chunks note the days they leave behind (`defer`, in
agent_days_pending) and the end recomputes from the earliest (`settle`); a load that stopped
before is settled at the next open, even if the collector's writes have made the row counts
agree since.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime, timedelta

import duckdb

log = logging.getLogger(__name__)

TABLES = ("agent_hours", "agent_days", "agent_days_state", "agent_days_pending")
DAY_US, HOUR_US = 86_400_000_000, 3_600_000_000
# The hours held are those before the one before the current hour: a stay is written when it
# ends, dated from when it entered, and one that entered in a held hour has that hour
# recomputed (its talk); with the current hour alone live, every batch in the first minutes
# of an hour would fold the hour before again. Up to two hours are folded at a range's end.
LIVE_HOURS = 1
# agent_time's rows, whose columns agent_days must have (as rollups.reshaped checks its
# tables against their macros).
_SHAPE = """
DESCRIBE SELECT * FROM agent_time(
    to_timestamp(0), to_timestamp(0), 'infinity'::TIMESTAMPTZ, 'infinity'::TIMESTAMPTZ,
    NULL, to_timestamp(0), 'infinity'::TIMESTAMPTZ)"""


def refresh(
    con: duckdb.DuckDBPyConnection,
    since: datetime | None = None,
    until: datetime | None = None,
    everything: bool = False,
) -> None:
    """Bring agent_hours and agent_days up to date inside the caller's transaction: recompute
    the hours from the one `since` falls in (the first a write touched: None when it touched
    none) up to those held, or, for stays entered up to `until` (which change talk only: no
    later than they can still talk, `reach_s`), up to that hour; the hours the clock has
    passed since the last refresh; or (`everything`, a rename, no state yet) every hour."""
    state = con.execute("SELECT upto_hour, names_key, reach_s FROM agent_days_state").fetchall()
    key, held = _scalar(con, _NAMES_KEY), _scalar(con, _NOW_HOUR) - LIVE_HOURS
    started = time.monotonic()
    # A rename, or the clock set back past the held hours: everything again.
    if everything or not state or state[0][1] != key or int(state[0][0]) > held:
        _recompute(con, None, held, held)
        con.execute("DELETE FROM agent_days_pending")  # every day is recomputed
        con.execute("DELETE FROM agent_days_state")
        con.execute(_STATE, {"upto": held, "key": key, "reach": _reach(con, None, held)})
        log.info("agent_days rebuilt in %.1f s", time.monotonic() - started)
        return
    kept, reach = int(state[0][0]), float(state[0][2])
    spans: list[tuple[int, int]] = []
    if since is not None:
        first = _hour(since)
        last = kept
        if until is not None:
            # The stays' own reach too: they are not in reach_s yet.
            reach = max(reach, _reach(con, first, _hour(until) + 1))
            last = min(kept, _hour(until + timedelta(seconds=reach)) + 1)
        if first < last:
            spans.append((first, last))
    if kept < held:
        spans.append((kept, held))
    if len(spans) == 2 and spans[0][1] >= spans[1][0]:
        spans = [(min(spans[0][0], spans[1][0]), held)]
    for lo, hi in spans:
        _recompute(con, lo, hi, max(kept, held))
        reach = max(reach, _reach(con, lo, hi))
    if spans or since is not None:
        con.execute("DELETE FROM agent_days_state")
        con.execute(_STATE, {"upto": max(kept, held), "key": key, "reach": reach})


def _hour(t: datetime) -> int:
    return int(t.timestamp() * 1e6) // HOUR_US


def _recompute(con: duckdb.DuckDBPyConnection, lo: int | None, hi: int, held: int) -> None:
    """The hours [lo, hi) (lo None: every hour before hi) from scratch, then the days they
    touch summed again from all their hours, those whose every hour is held (before
    `held`)."""
    con.execute(_DELETE_HOURS, {"lo": lo, "hi": hi})
    con.execute(_INSERT_HOURS, {"lo": lo, "upto": hi})
    days = {"lo": None if lo is None else lo // 24, "hi": min(-(-hi // 24), held // 24)}
    con.execute(_DELETE_DAYS, days)
    con.execute(_INSERT_DAYS, days)


def _reach(con: duckdb.DuckDBPyConnection, lo: int | None, hi: int) -> float:
    """reach_s of the stays entered in the hours [lo, hi)."""
    return _float(con, _REACH, {"lo": lo, "upto": hi})


def rebuild(con: duckdb.DuckDBPyConnection) -> None:
    """Recompute agent_days from scratch, inside the caller's transaction."""
    refresh(con, everything=True)


def defer(con: duckdb.DuckDBPyConnection, since: datetime) -> None:
    """Note, inside the caller's transaction, that rows from `since` on were written without
    recomputing agent_days: a queue_log import recomputes once, at its end (`settle`), since
    each recompute runs from its first day up to today, and the import's presence is only
    right once its rows are put in time order (presence.order_members)."""
    day = int(since.timestamp() * 1e6) // DAY_US
    con.execute("INSERT INTO agent_days_pending VALUES ($day)", {"day": day})


def settle(con: duckdb.DuckDBPyConnection) -> None:
    """Recompute from the earliest day `defer` noted (if any), inside the caller's
    transaction."""
    first = con.execute("SELECT min(since_day) FROM agent_days_pending").fetchone()
    if first is not None and first[0] is not None:
        refresh(con, datetime.fromtimestamp(int(first[0]) * DAY_US // 1_000_000, UTC))
        con.execute("DELETE FROM agent_days_pending")


def stale(con: duckdb.DuckDBPyConnection) -> bool:
    """True when agent_days was not folded from the member_states and queue_calls rows there
    are now (or never)."""
    row = con.execute(_COUNTS).fetchone()
    assert row is not None
    return row[0] is None or row[0] != row[2] or row[1] != row[3]


def check(con: duckdb.DuckDBPyConnection, force: bool = False) -> bool:
    """At open: rebuild when stale (or `force`), else add the days passed since and those an
    import left behind (`defer`); True when it rebuilt."""
    rebuilt = force or stale(con)
    if rebuilt:
        log.info("agent_days out of date with member_states and queue_calls: rebuilding")
    con.execute("BEGIN TRANSACTION")
    try:
        refresh(con, everything=rebuilt)
        settle(con)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return rebuilt


def drop_reshaped(con: duckdb.DuckDBPyConnection) -> bool:
    """Drop agent_hours and agent_days when their columns are another version's, or when
    days are held without their hours (a file from before agent_hours): derived data, the
    schema applied again makes them anew and `check` rebuilds them; True when it did."""
    shape = [c[0] for c in con.execute(_SHAPE).fetchall()]
    hours, days = _columns(con, "agent_hours"), _columns(con, "agent_days")
    day_shape = [_DAY_OF.get(c, c) for c in shape]
    state = _columns(con, "agent_days_state")
    same = (not hours or hours == shape) and (not days or days == day_shape)
    same = same and (not state or state[0] == "upto_hour")
    if same and not (hours and days and _scalar(con, _DAYS_WITHOUT_HOURS)):
        return False
    log.info("agent_days and agent_hours are another version's: made again")
    con.execute("DROP TABLE IF EXISTS agent_hours")
    con.execute("DROP TABLE IF EXISTS agent_days")
    con.execute("DROP TABLE IF EXISTS agent_days_state")
    return True


def drop_old_state(con: duckdb.DuckDBPyConnection) -> None:
    """Before the schema is applied: drop agent_days_state when it is a version's from before
    agent_hours (its upto_day; the schema's macros read upto_hour, and a table already there
    keeps its columns). Then `drop_reshaped` finds days without their hours and `check`
    rebuilds them."""
    state = _columns(con, "agent_days_state")
    if state and "upto_hour" not in state:
        con.execute("DROP TABLE agent_days_state")


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    return [
        r[0]
        for r in con.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_name = $table AND table_schema = 'main' ORDER BY ordinal_position",
            {"table": table},
        ).fetchall()
    ]


def _scalar(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    row = con.execute(sql).fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def _float(
    con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, object] | None = None
) -> float:
    row = con.execute(sql, params).fetchone()
    return float(row[0]) if row and row[0] is not None else 0.0


_DAY_OF = {"hour": "day"}  # agent_days' columns: agent_hours' with the day for the hour
_DAYS_WITHOUT_HOURS = "SELECT EXISTS (FROM agent_days) AND NOT EXISTS (FROM agent_hours)"
# The current UTC hour by the database's clock (the query's now()).
_NOW_HOUR = "SELECT epoch_us(now()) // 3600000000"
# The devices' names as agent_summary names them over all queues, and in each queue.
_NAMES_KEY = """
SELECT coalesce(hash(list((pbx, interface, agent) ORDER BY pbx, interface),
                     (SELECT list((pbx, queue, interface, member_name)
                                  ORDER BY pbx, queue, interface)
                      FROM member_heads)), 0)
FROM (SELECT pbx, interface, coalesce(arg_max(member_name, name_seq), interface) AS agent
      FROM member_heads GROUP BY pbx, interface)"""
_DELETE_HOURS = "DELETE FROM agent_hours WHERE ($lo IS NULL OR hour >= $lo) AND hour < $hi"
_DELETE_DAYS = "DELETE FROM agent_days WHERE ($lo IS NULL OR day >= $lo) AND day < $hi"
# In hour order (zone maps: a range skips the other hours). The talks read are those entered
# since the first day less how long a stay entered before it may talk (talk_reach()).
_INSERT_HOURS = """
INSERT INTO agent_hours
SELECT * FROM (
    FROM agent_time(
        to_timestamp($lo * 3600), to_timestamp($upto * 3600),
        'infinity'::TIMESTAMPTZ, 'infinity'::TIMESTAMPTZ,  -- (no second range)
        NULL, to_timestamp($lo * 3600 - talk_reach() - 1), 'infinity'::TIMESTAMPTZ)
    UNION ALL
    FROM agent_time(
        to_timestamp($lo * 3600), to_timestamp($upto * 3600),
        'infinity'::TIMESTAMPTZ, 'infinity'::TIMESTAMPTZ,
        NULL, to_timestamp($lo * 3600 - talk_reach() - 1), 'infinity'::TIMESTAMPTZ,
        by_queue := true))
ORDER BY hour, pbx, interface, queue NULLS FIRST, reason"""
_INSERT_DAYS = """
INSERT INTO agent_days
SELECT pbx, interface, queue, hour // 24 AS day, reason, sum(logged_in_s), sum(pause_s),
       sum(talk_s)
FROM agent_hours
WHERE ($lo IS NULL OR hour >= $lo * 24) AND hour < $hi * 24
GROUP BY pbx, interface, queue, hour // 24, reason
ORDER BY day, pbx, interface, queue NULLS FIRST, reason"""
_REACH = """
SELECT coalesce(max(epoch_us(answered_at) - epoch_us(entered_at)) / 1e6 + max(talk_s), 0)
FROM queue_calls
WHERE outcome = 'answered' AND answered_at IS NOT NULL
  AND ($lo IS NULL OR entered_at >= to_timestamp($lo * 3600))
  AND entered_at < to_timestamp($upto * 3600)"""
_STATE = """
INSERT INTO agent_days_state
SELECT $upto, $key, (SELECT count(*) FROM member_states), (SELECT count(*) FROM queue_calls),
       $reach"""
_COUNTS = """
SELECT (SELECT max(states_n) FROM agent_days_state), (SELECT max(calls_n) FROM agent_days_state),
       (SELECT count(*) FROM member_states), (SELECT count(*) FROM queue_calls)"""
