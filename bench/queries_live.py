"""The realtime page's live queries against 1, 3, 6 and 12 months of changelog.

live_members and live_waiting take the newest row per key of an append-only changelog, so their
cost follows the history, not the handful of rows they return. For each history size (the
first k months of member_states and waiting_callers, copied into schema `h<k>` and put first on
the search path) this times (a) the named query, (b) the same result hand-written over the
changelog (newest row = max(rowid) per key, a hash aggregate instead of a window sort),
(c) a current-state table holding only the newest row per key (what a writer-maintained
"now" table would give: the engine's limit for this page) and (d) pandas (`drop_duplicates`
on frames loaded once, load time apart).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial

import duckdb
import numpy as np
import pandas as pd

import queries
from bench.queries_history import START
from bench.queries_pandas import categories

MONTHS = (1, 3, 6, 12)
_MEMBER_KEY = ("pbx", "queue", "interface")
_WAITING_KEY = ("pbx", "queue", "call_id")

_MEMBERS_SELECT = """
SELECT m.pbx, m.queue,
       coalesce(a.display_name, m.member_name, m.interface) AS agent,
       m.interface,
       CASE WHEN m.paused THEN 'paused'
            WHEN m.status IN (6, 7) THEN 'ringing'
            WHEN m.in_call OR m.status IN (2, 3, 8) THEN 'on call'
            WHEN m.status = 1 THEN 'available'
            WHEN m.status IN (4, 5) THEN 'unavailable'
            ELSE 'unknown' END AS state,
       m.paused_reason, m.since, m.calls_taken, m.penalty, m.membership,
       a.username AS platform_user, m.member_name, m.status, m.paused, m.in_call
FROM newest AS m
LEFT JOIN agents AS a ON a.interface = m.interface AND (a.pbx IS NULL OR a.pbx = m.pbx)
WHERE m.present
ORDER BY m.pbx, m.queue, agent
"""
_WAITING_SELECT = """
SELECT pbx, queue, call_id, caller_num, caller_name, position, entered_at,
       date_diff('millisecond', entered_at, now()) / 1000.0 AS wait_s
FROM newest
WHERE present
ORDER BY entered_at
"""
_NEWEST_MEMBERS = """WITH newest AS (SELECT * FROM member_states WHERE rowid IN (
    SELECT max(rowid) FROM member_states GROUP BY pbx, queue, interface))"""
_NEWEST_WAITING = """WITH newest AS (SELECT * FROM waiting_callers WHERE rowid IN (
    SELECT max(rowid) FROM waiting_callers GROUP BY pbx, queue, call_id))"""
HAND = {
    "live_members": _NEWEST_MEMBERS + _MEMBERS_SELECT,
    "live_waiting": _NEWEST_WAITING + _WAITING_SELECT,
}
NOW_TABLE = {
    "live_members": "WITH newest AS (SELECT * FROM members_now)" + _MEMBERS_SELECT,  # noqa: S608 (fixed text)
    "live_waiting": "WITH newest AS (SELECT * FROM waiting_now)" + _WAITING_SELECT,  # noqa: S608 (fixed text)
}


def _copy(con: duckdb.DuckDBPyConnection, months: int) -> str:
    """Schema h<months>: the first `months` of both changelogs and their current-state tables."""
    schema = f"h{months}"
    cut = START + timedelta(days=round(months * 365 / 12))
    con.execute("CREATE SCHEMA IF NOT EXISTS " + schema)
    # Schema names come from MONTHS (integers), never from input.
    for sql in (
        "CREATE OR REPLACE TABLE {s}.member_states AS SELECT * FROM main.member_states "
        "WHERE since < $cut ORDER BY rowid",
        "CREATE OR REPLACE TABLE {s}.waiting_callers AS SELECT * FROM main.waiting_callers "
        "WHERE seen_at < $cut ORDER BY rowid",
    ):
        if months < 12:
            con.execute(sql.format(s=schema), {"cut": cut})
    source = schema if months < 12 else "main"
    for table, changelog, key in (
        ("members_now", "member_states", _MEMBER_KEY),
        ("waiting_now", "waiting_callers", _WAITING_KEY),
    ):
        keys = ", ".join(key)
        con.execute(
            f"CREATE OR REPLACE TABLE {schema}.{table} AS SELECT * FROM {source}.{changelog} "  # noqa: S608
            f"WHERE rowid IN (SELECT max(rowid) FROM {source}.{changelog} GROUP BY {keys})"
        )
    return schema


def _frames(con: duckdb.DuckDBPyConnection) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    # Text as ENUMs (pandas categoricals): tens of millions of Python strings would not fit.
    cats = categories(
        con,
        "member_states",
        ("pbx", "queue", "interface", "member_name", "paused_reason", "membership"),
    )
    members = con.execute(f"SELECT * REPLACE ({cats}) FROM member_states").df()  # noqa: S608 (fixed names)
    cats = categories(con, "waiting_callers", ("pbx", "queue"))
    waiting = con.execute(f"SELECT * REPLACE ({cats}) FROM waiting_callers").df()  # noqa: S608 (fixed names)
    agents = con.execute("SELECT * FROM agents").df()
    return members, waiting, agents


def pandas_members(members: pd.DataFrame, agents: pd.DataFrame) -> pd.DataFrame:
    """live_members.sql in pandas."""
    m = members.drop_duplicates(list(_MEMBER_KEY), keep="last")
    m = m[m["present"]].reset_index(drop=True)
    names = agents.drop_duplicates("interface").set_index("interface")
    a = names.reindex(m["interface"].astype(str)).reset_index(drop=True)
    other_pbx = a["pbx"].notna() & (a["pbx"] != m["pbx"].astype(str))
    a.loc[other_pbx, :] = None
    agent = a["display_name"].to_numpy()
    agent = np.where(pd.isna(agent), m["member_name"].astype(object), agent)
    agent = np.where(pd.isna(agent), m["interface"].astype(object), agent)
    state = np.select(
        [m["paused"], m["status"].isin([6, 7]), m["in_call"] | m["status"].isin([2, 3, 8]),
         m["status"] == 1, m["status"].isin([4, 5])],
        ["paused", "ringing", "on call", "available", "unavailable"], "unknown",
    )  # fmt: skip
    out = pd.DataFrame({
        "pbx": m["pbx"].astype(str), "queue": m["queue"].astype(str), "agent": agent,
        "interface": m["interface"].astype(str), "state": state,
        "paused_reason": m["paused_reason"].astype(object), "since": m["since"],
        "calls_taken": m["calls_taken"], "penalty": m["penalty"],
        "membership": m["membership"].astype(str), "platform_user": a["username"].to_numpy(),
        "member_name": m["member_name"].astype(object), "status": m["status"],
        "paused": m["paused"], "in_call": m["in_call"],
    })  # fmt: skip
    return out.sort_values(["pbx", "queue", "agent"], kind="stable").reset_index(drop=True)


def pandas_waiting(waiting: pd.DataFrame) -> pd.DataFrame:
    """live_waiting.sql in pandas."""
    w = waiting.drop_duplicates(list(_WAITING_KEY), keep="last")
    w = w[w["present"]]
    w = w[["pbx", "queue", "call_id", "caller_num", "caller_name", "position", "entered_at"]]
    now = pd.Timestamp.now(tz="UTC")
    w = w.assign(wait_s=(now - w["entered_at"]).dt.total_seconds().round(3),
                 pbx=w["pbx"].astype(str), queue=w["queue"].astype(str))  # fmt: skip
    return w.sort_values("entered_at", kind="stable").reset_index(drop=True)


def _df(con: duckdb.DuckDBPyConnection, sql: str) -> pd.DataFrame:
    return con.execute(sql).df()


def _median_ms(fn: Callable[[], pd.DataFrame], runs: int) -> tuple[float, pd.DataFrame]:
    frame = fn()  # warm-up, and the result to check
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        fn()
        times.append(time.perf_counter() - began)
    return statistics.median(times) * 1000, frame


Check = Callable[[pd.DataFrame, pd.DataFrame], str]


def run(
    con: duckdb.DuckDBPyConnection, runs: int, say: Callable[[str], None], check: Check
) -> None:
    """Time the live queries at each history size and print a Markdown table (stdout).

    `check(ours, other)` says why `other` differs from our result ("" when it does not).
    """
    print("| history | member_states rows | live_members ours ms | hand-written | current table "
          "| pandas | waiting_callers rows | live_waiting ours ms | hand-written | current table "
          "| pandas | pandas load s |")  # fmt: skip
    print("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
    for months in MONTHS:
        say(f"  live queries, {months} months of history")
        schema = _copy(con, months)
        con.execute("SET search_path = '" + schema + ",main'")
        try:
            counts = con.execute(
                "SELECT (SELECT count(*) FROM member_states), "
                "(SELECT count(*) FROM waiting_callers)"
            ).fetchone()
            began = time.perf_counter()
            members, waiting, agents = _frames(con)
            load_s = time.perf_counter() - began
            cells = []
            for name, pandas_fn in (
                ("live_members", partial(pandas_members, members, agents)),
                ("live_waiting", partial(pandas_waiting, waiting)),
            ):
                ours_ms, ours = _median_ms(partial(queries.run, name, con), runs)
                hand_ms, hand = _median_ms(partial(_df, con, HAND[name]), runs)
                now_ms, now = _median_ms(partial(_df, con, NOW_TABLE[name]), runs)
                pandas_ms, pand = _median_ms(pandas_fn, runs)
                for label, other in (("hand-written", hand), ("current", now), ("pandas", pand)):
                    why = check(ours, other)
                    if why:
                        say(f"    {name}: {label} differs: {why}")
                cells.append((ours_ms, hand_ms, now_ms, pandas_ms))
            del members, waiting
        finally:
            con.execute("SET search_path = 'main'")
        (m, w) = counts or (0, 0)
        lm, lw = cells
        print(f"| {months} months | {m:,} | {lm[0]:.1f} | {lm[1]:.1f} | {lm[2]:.1f} | "
              f"{lm[3]:.0f} | {w:,} | {lw[0]:.1f} | {lw[1]:.1f} | {lw[2]:.1f} | {lw[3]:.0f} "
              f"| {load_s:.1f} |")  # fmt: skip
    for months in MONTHS:
        con.execute(f"DROP SCHEMA IF EXISTS h{months} CASCADE")


def presence_only(
    con: duckdb.DuckDBPyConnection,
    ranges: dict[str, tuple[datetime, datetime]],
    runs: int,
    say: Callable[[str], None],
    check: Check,
) -> None:
    """agent_summary on the changelog as it is and on its presence changes only (a proposal).

    Most member_states rows are device changes (ringing, in use, not in use) that repeat the
    member's presence; agent_summary reads presence only. Schema `presence` holds the rows
    whose (present, paused, reason) differ from the member's previous row, which is what a
    tracker writing presence changes to their own table would give.
    """
    say("  agent_summary on presence changes only")
    con.execute("CREATE SCHEMA IF NOT EXISTS presence")
    con.execute("""
        CREATE OR REPLACE TABLE presence.member_states AS
        SELECT * EXCLUDE (seq, prev) FROM (
            SELECT *, rowid AS seq,
                   lag((present, paused, coalesce(paused_reason, ''))) OVER (
                       PARTITION BY pbx, queue, interface ORDER BY rowid) AS prev
            FROM main.member_states
        )
        WHERE prev IS DISTINCT FROM (present, paused, coalesce(paused_reason, ''))
        ORDER BY seq""")
    counts = con.execute(
        "SELECT (SELECT count(*) FROM main.member_states), "
        "(SELECT count(*) FROM presence.member_states)"
    ).fetchone()
    full, kept = counts or (0, 0)
    print(f"| range | agent_summary ms, {full:,} rows | on {kept:,} presence rows | same |")
    print("|---|--:|--:|---|")
    for label, (t0, t1) in ranges.items():
        run_all = partial(queries.run, "agent_summary", con, start=t0, end=t1)
        if label == "year":  # the full changelog's year takes minutes at 10M calls: once
            began = time.perf_counter()
            ours = run_all()
            ours_ms = (time.perf_counter() - began) * 1000
        else:
            ours_ms, ours = _median_ms(run_all, runs)
        con.execute("SET search_path = 'presence,main'")
        try:
            slim_ms, slim = _median_ms(run_all, runs)
        finally:
            con.execute("SET search_path = 'main'")
        why = check(ours, slim)
        print(f"| {label} | {ours_ms:.1f} | {slim_ms:.1f} | {why or 'yes'} |")
    con.execute("DROP SCHEMA presence CASCADE")
