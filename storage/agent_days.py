"""agent_days and agent_hours: agent_summary's presence per device and UTC day, and per UTC
hour for recent days, kept by the writer.

A year of agent_summary over all queues folded from member_changes cuts and matches every
piece of the year and joins every talk of the year against the logged-in runs (seconds at
10M calls, bench/README.md). Presence and observed talk are additive over time, so whole
days are kept in agent_days and whole hours of the last HOURS_KEPT_DAYS days (and today's)
in agent_hours (`agent_time`, storage/schema.sql, computes both: the same SQL as the query's
edges, in slots of a day or an hour). A range reads its whole days from agent_days, the
whole hours at its edges from agent_hours when they are recent (a local day is a whole
number of UTC hours in most zones), and folds from member_changes only what is left: less
than an hour at each end of a recent range, the partial day at an older start (a local day
at 10M callers: 56 ms folding its 24 edge hours, 42 reading them; bench/README.md, session
9). Both are kept over all queues (queue NULL) and for each queue alone (a manager's usual
choice: one queue's year took 0.6-1.9 s folded at 10M). Several chosen queues read, per
device, the rows that equal its presence over them (all queues' when every membership it has
is chosen, its one chosen queue's otherwise: agent_summary.sql `several`), and fold when a
device has two or more of its several memberships chosen: whether it was paused depends on
those together, which no sum of per-queue rows tells.

A day's rows (and its hours') depend on the member_changes rows that hold in it, on the
talks that overlap it and on the devices' names (a talk belongs to the devices named as its
agent). So whoever changes those recomputes the hours from the first it touched
(`refresh(con, since)`): the stays' writer (rollups.refresh: the store's batches, backfill),
the presence fold (member_changes.catch_up: the writer's member rows, the queue_log presence
import, the order_members rewrite, which rebuilds). A rename (member_heads' newest names
changed) and a first refresh rebuild everything. The hours before the previous one (UTC) are
held, and the days all of whose hours are; `refresh` adds the hours the clock has passed
since, and drops the hours older than HOURS_KEPT_DAYS days. `check` at open rebuilds when
the row counts it was folded from disagree with the tables (rows written by hand, a file
from before the table). A queue_log import recomputes once, at its end: its chunks note the
days they leave behind (`defer`, in agent_days_pending) and the end recomputes from the
earliest (`settle`); a load that stopped before is settled at the next open, even if the
collector's writes have made the row counts agree since.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime, timedelta

import duckdb

log = logging.getLogger(__name__)

TABLES = ("agent_hours", "agent_days", "agent_days_state", "agent_days_pending")
HOUR_US = 3_600_000_000
# The hours held are those before the one before the current hour: a stay is written when it
# ends, dated from when it entered, and one that entered in a held hour has that hour
# recomputed (its talk); with the current hour alone live, every batch in the first minutes
# of an hour would fold the hour before again. Up to two hours are folded at a range's end.
LIVE_HOURS = 1
# Hours are kept for this many days before today (and today's): a local day, week or month
# reads its edge hours there. An older range folds its partial first day (365 local days at
# 10M callers: ~50 ms, 30 local days ~43). Hours for all of history would cost ten times the
# rows of the days and of their fold (a queue_log import's recompute up to today: 2.3 s
# instead of 0.3 for 1M lines; bench/README.md, session 9).
HOURS_KEPT_DAYS = 62
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
        _recompute(con, None, held, held)  # every hour: older ones than the window go too
        con.execute("DELETE FROM agent_days_pending")  # every day is recomputed
        con.execute("DELETE FROM agent_days_state")
        reach = _reach(con, None, held)
        con.execute(_STATE, {"upto": held, "from": _hours_from(held), "key": key, "reach": reach})
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
    upto = max(kept, held)
    for lo, hi in spans:
        _recompute(con, lo, hi, upto)
        reach = max(reach, _reach(con, lo, hi))
    if _hours_from(upto) > _hours_from(kept):  # a day passed: the kept hours slide
        con.execute(_DELETE_HOURS, {"lo": None, "hi": _hours_from(upto)})
    if spans or since is not None:
        con.execute("DELETE FROM agent_days_state")
        con.execute(_STATE, {"upto": upto, "from": _hours_from(upto), "key": key, "reach": reach})


def _hour(t: datetime) -> int:
    return int(t.timestamp() * 1e6) // HOUR_US


def _hours_from(held: int) -> int:
    """The first hour kept in agent_hours when the hours before `held` are held: a midnight."""
    return (held // 24 - HOURS_KEPT_DAYS) * 24


def _recompute(con: duckdb.DuckDBPyConnection, lo: int | None, hi: int, held: int) -> None:
    """After the hours [lo, hi) changed (lo None: every hour before hi), with those before
    `held` held: the days they touch whose every hour is held, and those of the hours that
    agent_hours keeps, from scratch."""
    day_lo, day_hi = None if lo is None else lo // 24, min(-(-hi // 24), held // 24)
    if day_lo is None or day_lo < day_hi:
        days = {"lo": day_lo, "hi": day_hi}
        con.execute(_DELETE_DAYS, days)
        con.execute(_INSERT_DAYS, days | {"secs": 86400})
    con.execute(_DELETE_HOURS, {"lo": lo, "hi": hi})
    hour_lo = max(lo if lo is not None else 0, _hours_from(held))
    if hour_lo < hi:
        con.execute(_INSERT_HOURS, {"lo": hour_lo, "hi": hi, "secs": 3600})


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
    con.execute("INSERT INTO agent_days_pending VALUES ($day)", {"day": _hour(since) // 24})


def settle(con: duckdb.DuckDBPyConnection) -> None:
    """Recompute from the earliest day `defer` noted (if any), inside the caller's
    transaction."""
    first = con.execute("SELECT min(since_day) FROM agent_days_pending").fetchone()
    if first is not None and first[0] is not None:
        refresh(con, datetime.fromtimestamp(int(first[0]) * 86400, UTC))
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
    """Drop agent_days and agent_hours when their columns are another version's (derived
    data: the schema, applied again, makes them anew and `check` rebuilds them); True when
    it did."""
    shape = [c[0] for c in con.execute(_SHAPE).fetchall()]
    days, hours = _columns(con, "agent_days"), _columns(con, "agent_hours")
    if (not days or days == _named(shape, "day")) and (not hours or hours == _named(shape, "hour")):
        return False
    log.info("agent_days has the columns of another version: made again")
    con.execute("DROP TABLE IF EXISTS agent_hours")
    con.execute("DROP TABLE IF EXISTS agent_days")
    con.execute("DROP TABLE IF EXISTS agent_days_state")
    return True


def _named(shape: list[str], slot: str) -> list[str]:
    return [slot if c == "slot" else c for c in shape]


def drop_old_state(con: duckdb.DuckDBPyConnection) -> None:
    """Before the schema is applied: drop agent_days_state when it is another version's (the
    schema's macros read its columns, and a table already there keeps its own); `check`
    then rebuilds agent_days and agent_hours."""
    state = _columns(con, "agent_days_state")
    if state and state != _STATE_COLUMNS:
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


_STATE_COLUMNS = ["upto_hour", "hours_from", "names_key", "states_n", "calls_n", "reach_s"]
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
# Folded in slots of a day or an hour, in slot order (zone maps: a range skips the other
# slots). The talks read are those entered since the first slot less how long a stay
# entered before it may talk (talk_reach()).
_FOLD = """
SELECT * FROM (
    FROM agent_time(
        to_timestamp($lo * $secs), to_timestamp($hi * $secs),
        'infinity'::TIMESTAMPTZ, 'infinity'::TIMESTAMPTZ,  -- (no second range)
        NULL, to_timestamp($lo * $secs - talk_reach() - 1), 'infinity'::TIMESTAMPTZ,
        unit := CAST($secs AS BIGINT) * 1000000)
    UNION ALL
    FROM agent_time(
        to_timestamp($lo * $secs), to_timestamp($hi * $secs),
        'infinity'::TIMESTAMPTZ, 'infinity'::TIMESTAMPTZ,
        NULL, to_timestamp($lo * $secs - talk_reach() - 1), 'infinity'::TIMESTAMPTZ,
        by_queue := true, unit := CAST($secs AS BIGINT) * 1000000))
ORDER BY slot, pbx, interface, queue NULLS FIRST, reason"""
_INSERT_DAYS = "INSERT INTO agent_days " + _FOLD
_INSERT_HOURS = "INSERT INTO agent_hours " + _FOLD
_REACH = """
SELECT coalesce(max(epoch_us(answered_at) - epoch_us(entered_at)) / 1e6 + max(talk_s), 0)
FROM queue_calls
WHERE outcome = 'answered' AND answered_at IS NOT NULL
  AND ($lo IS NULL OR entered_at >= to_timestamp($lo * 3600))
  AND entered_at < to_timestamp($upto * 3600)"""
_STATE = """
INSERT INTO agent_days_state
SELECT $upto, $from, $key, (SELECT count(*) FROM member_states), (SELECT count(*) FROM queue_calls),
       $reach"""
_COUNTS = """
SELECT (SELECT max(states_n) FROM agent_days_state), (SELECT max(calls_n) FROM agent_days_state),
       (SELECT count(*) FROM member_states), (SELECT count(*) FROM queue_calls)"""
