"""A synthetic year of call-centre history, generated in DuckDB into Callboard's real schema.

`generate(con, calls, seed)` applies storage/schema.sql and fills queue_calls, ring_attempts,
member_states, waiting_callers and agents with one year (`START` to `END`, fixed so that two runs
with the same seed give the same rows) of 5 queues and 200 agents. Everything is SQL over
`range()`: a Python loop would take hours at 10M calls.

Randomness is `u(i, k)`, a hash of the row number, a stream number and the seed mapped to (0, 1).
DuckDB's `random()` with `setseed` repeats only on one thread; the hash repeats on any number.

The shape, as a supervisor would recognise it:
- arrivals: `calls` callers spread over the hours of the year by an intraday profile (peaks at
  10:00 and 14:00 local, quiet nights), a weekly one (Monday busiest, Sunday quiet) and a
  season (busier in winter); uniform within the hour;
- queues: support 40 %, sales 25 %, billing 15 %, tech 12 %, vip 8 %; agents 81-90 and 186-190
  are members of two queues; agents work 8.5-hour shifts by a weekly roster (a few at night and
  at weekends); a call that comes when nobody of its queue is rostered exits empty;
- outcomes: about 85 % answered (fewer at peak), with exponential waits whose mean grows with
  the load; abandons with short patience (mean 30 s, so ~15 % are short abandons); timeouts at
  the queue's timeout; a few exits with a key, empty exits and `unknown` gap stays;
- talk: lognormal, median 240 s; 4.5 % of answered calls are transferred into a second queue
  (a second stay of the same caller channel, as `totals` expects);
- rings: a few no-answers (15 s each) before the answer, or until the caller leaves;
- member_states: per agent and day a login, pauses (Break, Lunch, Training, and some without a
  reason) and a logout, plus every ringing / in use / not in use change of each call, in every
  queue the agent is a member of, as QueueMemberStatus writes them (paused state carried);
- waiting_callers: a join and a leave row per stay;
- queue_params: each queue's QueueParams once a day (`SERVICELEVEL_S`: the per-queue
  service-level thresholds the KPI queries apply).

Rows go in as the writer would append them: each table ordered by when the row was complete.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb

from storage import rollups
from storage.store import refresh_thresholds

REPO = Path(__file__).resolve().parents[1]
END = datetime(2026, 11, 6, tzinfo=UTC)  # a Friday 00:00 UTC: the last day is a Thursday
START = END - timedelta(days=365)
PBX = "pbx1"
QUEUES = ("billing", "sales", "support", "tech", "vip")
# Each queue's queues.conf servicelevel (its QueueParams ServiceLevel): the SL threshold the KPI
# queries judge it by, as no [[queue]] settings are given.
SERVICELEVEL_S = {"billing": 20, "sales": 30, "support": 20, "tech": 60, "vip": 10}

# queue, share of callers, mean answered wait at full load (s), timeout (s), first and last
# agent, where transfers go. Agents 81-90 are in support and sales, 186-190 in tech and vip.
_QUEUE_ROWS = """
    ('support', 0.40, 25.0, 300.0, 1, 90, 'tech'),
    ('sales', 0.25, 15.0, 180.0, 81, 130, 'billing'),
    ('billing', 0.15, 20.0, 240.0, 131, 160, 'support'),
    ('tech', 0.12, 35.0, 300.0, 161, 190, 'support'),
    ('vip', 0.08, 6.0, 120.0, 186, 200, 'sales')
"""

_SETUP = [
    """CREATE OR REPLACE TEMP MACRO u(i, k) AS
           ((hash(i, k, getvariable('seed')) >> 11) + 0.5) / 9007199254740992.0""",
    "CREATE OR REPLACE TEMP TABLE qp(queue, share, wait_mean, timeout_s, lo, hi, transfer_to) "
    "AS VALUES" + _QUEUE_ROWS,
    # Calls per hour of day (UTC; the centre's local zone is Europe/Paris) and per ISO weekday.
    """CREATE OR REPLACE TEMP TABLE profile AS SELECT
           [0.05, 0.03, 0.02, 0.02, 0.03, 0.10, 0.35, 0.75, 1.00, 0.95, 0.80, 0.70,
            0.85, 1.00, 0.90, 0.80, 0.65, 0.45, 0.30, 0.20, 0.15, 0.10, 0.08, 0.06] AS by_hour,
           [1.15, 1.05, 1.00, 1.00, 0.95, 0.35, 0.15] AS by_weekday""",
    # Members: each agent in its queue(s), 1-90 support, 81-130 sales, ...
    """CREATE OR REPLACE TEMP TABLE membership AS
       SELECT a.range::INTEGER AS agent, q.queue
       FROM range(1, 201) AS a JOIN qp AS q ON a.range BETWEEN q.lo AND q.hi""",
    # Shifts: 8.5 h from a start hour by agent; every 25th agent works nights; weekends by rota.
    """CREATE OR REPLACE TEMP TABLE shifts AS
       SELECT a.range::INTEGER AS agent, d.range::INTEGER AS weekday,
              CASE WHEN a.range % 25 = 0 THEN 21
                   ELSE [5, 6, 7, 7, 8, 8, 11, 13][a.range % 8 + 1] END AS start_h
       FROM range(1, 201) AS a, range(1, 8) AS d
       WHERE d.range <= 5 OR (d.range = 6 AND a.range % 3 = 0)
          OR (d.range = 7 AND a.range % 6 = 0)""",
    # Who takes calls of a queue at a weekday and hour (the first 8 hours of each shift).
    """CREATE OR REPLACE TEMP TABLE roster AS
       SELECT m.queue, (s.weekday - 1 + (s.start_h + h.range) // 24) % 7 + 1 AS weekday,
              (s.start_h + h.range) % 24 AS hour, list(s.agent ORDER BY s.agent) AS agents
       FROM shifts AS s JOIN membership AS m USING (agent), range(8) AS h
       GROUP BY ALL""",
]

_SLOTS = """
CREATE OR REPLACE TEMP TABLE slots AS
WITH hours AS (
    SELECT $start::TIMESTAMPTZ + h.range * INTERVAL 1 HOUR AS t,
           p.by_hour[hour(t) + 1] * p.by_weekday[isodow(t)]
               * (1 + 0.15 * cos(2 * pi() * (dayofyear(t) - 15) / 365.0)) AS w
    FROM range(365 * 24) AS h, profile AS p
),
cumulated AS (
    SELECT t, w, sum(w) OVER (ORDER BY t) / sum(w) OVER () AS hi_share, w / sum(w) OVER () AS share
    FROM hours
)
SELECT t, w / max(w) OVER () AS load,
       (round((hi_share) * $calls) - round((hi_share - share) * $calls))::BIGINT AS n
FROM cumulated
"""

# Primary stays: `n` callers per hour, uniform within it; id is unique across the year.
_PRIMARY_SEEDS = """
CREATE OR REPLACE TEMP VIEW seeds AS
SELECT id, entered_at, queue, call_id, call_id AS linkedid, caller_num
FROM (
    SELECT id, entered_at,
           CASE WHEN u(id, 1) < 0.40 THEN 'support' WHEN u(id, 1) < 0.65 THEN 'sales'
                WHEN u(id, 1) < 0.80 THEN 'billing' WHEN u(id, 1) < 0.92 THEN 'tech'
                ELSE 'vip' END AS queue,
           printf('%d.%d', epoch(entered_at)::BIGINT, id) AS call_id,
           '06' || lpad(floor(u(id, 11) * 2000000)::BIGINT::VARCHAR, 8, '0') AS caller_num
    FROM (
        SELECT id, t + to_microseconds((u(id, 0) * 3600e6)::BIGINT) AS entered_at
        FROM (SELECT t, epoch(t)::BIGINT * 100000 + unnest(range(n)) AS id FROM slots)
    )
)
"""

# Second stays of transferred callers: same channel, the queue's transfer target.
_TRANSFER_SEEDS = """
CREATE OR REPLACE TEMP VIEW seeds AS
SELECT l.id + 50000 AS id, l.ended_at + INTERVAL 2 SECOND AS entered_at, q.transfer_to AS queue,
       l.call_id, l.linkedid, l.caller_num
FROM legs AS l JOIN qp AS q USING (queue)
WHERE l.ended_by = 'transfer'
"""

# One stay per seed: outcome, wait, agent, talk and rings drawn with the hour's load.
_LEGS = """
CREATE OR REPLACE TEMP TABLE legs AS
WITH x AS (
    SELECT s.*, coalesce(l.load, 0.5) AS load, r.agents, q.wait_mean, q.timeout_s,
           CASE WHEN r.agents IS NULL THEN 'exitempty'
                WHEN u(s.id, 2) < 0.93 - 0.12 * coalesce(l.load, 0.5) THEN 'answered'
                WHEN u(s.id, 3) < 0.70 THEN 'abandoned'
                WHEN u(s.id, 3) < 0.86 THEN 'timeout'
                WHEN u(s.id, 3) < 0.93 THEN 'exitwithkey'
                WHEN u(s.id, 3) < 0.97 THEN 'exitempty'
                ELSE 'unknown' END AS outcome
    FROM seeds AS s
    JOIN qp AS q USING (queue)
    LEFT JOIN slots AS l ON l.t = date_trunc('hour', s.entered_at)
    LEFT JOIN roster AS r
      ON r.queue = s.queue AND r.weekday = isodow(s.entered_at) AND r.hour = hour(s.entered_at)
),
y AS (
    SELECT *,
           round(CASE outcome
               WHEN 'answered' THEN -wait_mean * (0.3 + load) * ln(u(id, 4))
               WHEN 'abandoned' THEN -30 * (0.5 + load) * ln(u(id, 4))
               WHEN 'timeout' THEN timeout_s + 1.5 * u(id, 4)
               WHEN 'exitwithkey' THEN 3 + 57 * u(id, 4)
               WHEN 'exitempty' THEN u(id, 4)
           END, 3) AS wait_s,
           CASE WHEN outcome = 'answered'
                THEN agents[1 + floor(u(id, 7) * len(agents))::INTEGER] END AS agent_no
    FROM x
),
z AS (
    SELECT *,
           CASE WHEN outcome = 'answered'
                THEN least(floor(-0.5 * ln(u(id, 10))), floor(wait_s / 20), 4)
                WHEN outcome IN ('abandoned', 'timeout', 'exitwithkey')
                THEN least(floor(wait_s / 20), 8)
                ELSE 0 END::INTEGER AS noanswers,
           CASE WHEN outcome = 'answered'
                THEN round(exp(ln(240) + 0.55 * sqrt(-2 * ln(u(id, 5))) * cos(2 * pi() * u(id, 6))),
                           3) END AS talk_s
    FROM y
)
SELECT id, queue, call_id, linkedid, caller_num, entered_at,
       CASE WHEN outcome <> 'unknown'
            THEN 1 + floor(-ln(u(id, 9)) * (0.5 + 3 * load))::INTEGER END AS position,
       outcome, wait_s,
       CASE WHEN outcome = 'answered' THEN entered_at + to_microseconds((wait_s * 1e6)::BIGINT)
            END AS answered_at,
       agent_no, talk_s,
       CASE WHEN outcome <> 'answered' THEN NULL
            WHEN u(id, 8) < 0.045 THEN 'transfer' WHEN u(id, 8) < 0.5 THEN 'agent'
            ELSE 'caller' END AS ended_by,
       entered_at + to_microseconds(((wait_s + coalesce(talk_s, 0)) * 1e6)::BIGINT) AS ended_at,
       noanswers,
       -- Who was rung: `noanswers` random rostered agents, then the answering one, or one
       -- more that was ringing when the caller left.
       list_transform(range(noanswers + CASE WHEN outcome IN ('abandoned', 'timeout',
                                                               'exitwithkey') THEN 1 ELSE 0 END),
                      lambda j: agents[1 + floor(u(id, 30 + j) * len(agents))::INTEGER])
           || CASE WHEN outcome = 'answered' THEN [agent_no] ELSE [] END AS rung
FROM z
"""

_CALL_ROWS = """
INSERT INTO queue_calls
SELECT $pbx, queue, call_id, linkedid, caller_num, NULL, entered_at, position, outcome, wait_s,
       answered_at, CASE WHEN agent_no IS NOT NULL THEN printf('Agent %03d', agent_no) END,
       CASE WHEN agent_no IS NOT NULL THEN printf('PJSIP/%d', 1000 + agent_no) END,
       talk_s, ended_by, ended_at, len(rung), 'ami', outcome = 'unknown',
       -- position when a lost caller left: one place up per 30 s waited
       CASE WHEN outcome NOT IN ('answered', 'unknown')
            THEN greatest(1, position - floor(wait_s / 30)::INTEGER) END
FROM legs
ORDER BY coalesce(ended_at, entered_at)
"""

_RINGS = """
CREATE OR REPLACE TEMP TABLE rings AS
SELECT queue, call_id, agent_no, outcome, ended_at, j,
       CASE WHEN j < noanswers THEN entered_at + to_microseconds((0.5e6 + 20e6 * j)::BIGINT)
            WHEN outcome = 'answered'
            THEN answered_at - to_microseconds((ring_last * 1e6)::BIGINT)
            ELSE entered_at + to_microseconds((0.5e6 + 20e6 * j)::BIGINT) END AS started_at,
       CASE WHEN j < noanswers THEN 15.0 WHEN outcome = 'answered' THEN ring_last
            ELSE round(greatest(wait_s - 0.5 - 20 * j, 0), 3) END AS ring_s,
       CASE WHEN j < noanswers THEN 'noanswer' WHEN outcome = 'answered' THEN 'answered'
            ELSE 'canceled' END AS result,
       rung[j + 1] AS rung_no
FROM (
    SELECT *, unnest(range(len(rung))) AS j,
           round(least(wait_s - 20 * noanswers, 2 + 8 * u(id, 12)), 3) AS ring_last
    FROM legs
)
"""

_RING_ROWS = """
INSERT INTO ring_attempts
SELECT $pbx, queue, call_id, printf('Agent %03d', rung_no), printf('PJSIP/%d', 1000 + rung_no),
       started_at, ring_s, result, 'ami'
FROM rings
ORDER BY started_at + to_microseconds((ring_s * 1e6)::BIGINT)
"""

# Logins, pauses and logouts: one row each per agent, day and queue it is a member of.
_PRESENCE = """
CREATE OR REPLACE TEMP TABLE presence AS
WITH days AS (
    SELECT $start::TIMESTAMPTZ + d.range * INTERVAL 1 DAY AS day, d.range AS d
    FROM range(365) AS d
),
worked AS (
    SELECT s.agent, d.d, d.day + s.start_h * INTERVAL 1 HOUR
               + to_microseconds((u(s.agent * 1000 + d.d, 40) * 600e6)::BIGINT) AS login_at
    FROM shifts AS s JOIN days AS d ON isodow(d.day) = s.weekday
),
pauses(reason, offset_min, spread_min, length_min, extra_min, share) AS (VALUES
    ('Training', 60, 20, 20, 25, 0.3), ('Break', 120, 20, 10, 10, 1.0),
    ('Lunch', 240, 30, 30, 30, 1.0), ('Break', 390, 20, 10, 10, 1.0),
    (NULL, 435, 10, 5, 10, 0.2)
),
paused AS (
    SELECT w.agent, p.reason,
           w.login_at + to_microseconds(((p.offset_min + p.spread_min
               * u(w.agent * 1000 + w.d, 41 + p.offset_min)) * 60e6)::BIGINT) AS from_t,
           (p.length_min + p.extra_min * u(w.agent * 1000 + w.d, 42 + p.offset_min)) AS minutes
    FROM worked AS w, pauses AS p
    WHERE u(w.agent * 1000 + w.d, 43 + p.offset_min) < p.share
),
changes AS (
    SELECT agent, login_at AS since, true AS present, false AS paused, NULL AS reason
    FROM worked
    UNION ALL
    SELECT agent, login_at + INTERVAL 510 MINUTE, false, false, NULL FROM worked
    UNION ALL
    SELECT agent, from_t, true, true, reason FROM paused
    UNION ALL
    SELECT agent, from_t + to_microseconds((minutes * 60e6)::BIGINT), true, false, NULL
    FROM paused
)
SELECT c.*, m.queue FROM changes AS c JOIN membership AS m USING (agent)
WHERE c.since < $end  -- the history's "now": night shifts are still logged in
"""

# Device changes of each ring, in every queue of the rung agent, with the member's paused and
# present state at that moment carried (QueueMemberStatus repeats them).
_STATUS = """
CREATE OR REPLACE TEMP TABLE status AS
WITH events AS (
    SELECT rung_no AS agent, started_at AS since, 6 AS status, false AS in_call FROM rings
    UNION ALL
    SELECT rung_no, started_at + to_microseconds((ring_s * 1e6)::BIGINT),
           CASE WHEN result = 'answered' THEN 2 ELSE 1 END, result = 'answered'
    FROM rings
    UNION ALL
    SELECT rung_no, ended_at, 1, false FROM rings WHERE result = 'answered'
),
member_events AS (
    SELECT e.*, m.queue FROM events AS e JOIN membership AS m USING (agent)
)
SELECT e.agent, e.queue, e.since, e.status, e.in_call,
       coalesce(p.present, false) AS present, coalesce(p.paused, false) AS paused, p.reason
FROM member_events AS e
ASOF LEFT JOIN presence AS p
  ON p.agent = e.agent AND p.queue = e.queue AND e.since >= p.since
WHERE e.since < $end
"""

_MEMBER_ROWS = """
INSERT INTO member_states
SELECT $pbx, queue, printf('PJSIP/%d', 1000 + agent), printf('Agent %03d', agent), status,
       paused, CASE WHEN paused THEN reason END, in_call, 0, since, present, 0, false,
       'dynamic', 'ami'
FROM (
    SELECT agent, queue, since, 1 AS status, false AS in_call, present, paused, reason
    FROM presence
    UNION ALL
    SELECT agent, queue, since, status, in_call, present, paused, reason FROM status
)
ORDER BY since
"""

_WAITING_ROWS = """
INSERT INTO waiting_callers
SELECT $pbx, queue, call_id, caller_num, NULL, position, entered_at, present, seen_at
FROM (
    SELECT queue, call_id, caller_num, position, entered_at, true AS present,
           entered_at AS seen_at
    FROM legs
    UNION ALL
    SELECT queue, call_id, caller_num, position, entered_at, false,
           entered_at + to_microseconds((coalesce(wait_s, 60) * 1e6)::BIGINT)
    FROM legs
)
WHERE seen_at < $end  -- callers still waiting at the history's "now" have no leave row
ORDER BY seen_at
"""

_AGENT_ROWS = """
INSERT INTO agents
SELECT $pbx, printf('PJSIP/%d', 1000 + a.range),
       ['Alex', 'Sam', 'Charlie', 'Robin', 'Jo', 'Max'][a.range % 6 + 1] || ' '
           || ['Martin', 'Bernard', 'Dubois', 'Thomas', 'Robert', 'Petit'][a.range % 6 + 1]
           || ' ' || a.range,
       printf('agent%03d', a.range)
FROM range(1, 201) AS a
"""

# QueueParams as the collector writes them (at each login and when a queue's settings change):
# one row per queue and day, as if the service reconnected daily.
_PARAMS_ROWS = """
INSERT INTO queue_params
SELECT $pbx, q.queue, t.range, q.sl, 0, 'rrmemory', 0, 20, 240, 0, 0, 80.0, 85.0, 0
FROM (SELECT unnest(CAST($names AS VARCHAR[])) AS queue,
             unnest(CAST($levels AS INTEGER[])) AS sl) AS q
CROSS JOIN range($start, $end, INTERVAL 1 DAY) AS t
ORDER BY t.range, q.queue
"""

Say = Callable[[str], None]


def generate(con: duckdb.DuckDBPyConnection, calls: int, seed: int, say: Say) -> dict[str, int]:
    """Fill the schema on `con` with a year of `calls` callers; return each table's row count."""
    con.execute((REPO / "storage" / "schema.sql").read_text())
    con.execute("SET VARIABLE seed = ?", [seed])
    for sql in _SETUP:
        con.execute(sql)
    steps: list[tuple[str, str, dict[str, object]]] = [
        ("arrival profile", _SLOTS, {"start": START, "calls": calls}),
        ("primary stays", _PRIMARY_SEEDS, {}),
        ("", _LEGS, {}),
        ("queue_calls (primary)", _CALL_ROWS, {"pbx": PBX}),
        ("ring attempts", "CREATE OR REPLACE TEMP TABLE legs1 AS SELECT * FROM legs", {}),
        ("", _RINGS, {}),
        ("", "CREATE OR REPLACE TEMP TABLE rings1 AS SELECT * FROM rings", {}),
        ("transferred stays", _TRANSFER_SEEDS, {}),
        ("", _LEGS, {}),
        ("", _CALL_ROWS, {"pbx": PBX}),
        ("", _RINGS, {}),
        ("", "INSERT INTO legs1 SELECT * FROM legs", {}),
        ("", "INSERT INTO rings1 SELECT * FROM rings", {}),
        ("", "CREATE OR REPLACE TEMP TABLE legs AS SELECT * FROM legs1", {}),
        ("", "CREATE OR REPLACE TEMP TABLE rings AS SELECT * FROM rings1", {}),
        ("ring_attempts", _RING_ROWS, {"pbx": PBX}),
        ("presence (logins, pauses)", _PRESENCE, {"start": START, "end": END}),
        ("member status changes", _STATUS, {"end": END}),
        ("member_states", _MEMBER_ROWS, {"pbx": PBX}),
        ("waiting_callers", _WAITING_ROWS, {"pbx": PBX, "end": END}),
        ("agents", _AGENT_ROWS, {"pbx": PBX}),
        (
            "queue_params",
            _PARAMS_ROWS,
            {
                "pbx": PBX,
                "start": START,
                "end": END,
                "names": list(SERVICELEVEL_S),
                "levels": list(SERVICELEVEL_S.values()),
            },
        ),
    ]
    began = time.perf_counter()
    for label, sql, params in steps:
        if label:
            say(f"  {time.perf_counter() - began:6.1f}s  {label}")
        con.execute(sql, params or None)
    refresh_thresholds(con)  # as the store does when it writes queue_params
    # The rollups of the stays written above, as the store keeps them. Forced: the threshold
    # refresh just rebuilt the stays' rollups, so no count tells that caller_stays is empty.
    rollups.check(con, force=True)
    for temp in ("legs", "legs1", "rings", "rings1", "status", "presence"):
        con.execute("DROP TABLE IF EXISTS " + temp)
    con.execute("CHECKPOINT")
    say(f"  {time.perf_counter() - began:6.1f}s  done")
    tables = ("queue_calls", "ring_attempts", "member_states", "waiting_callers", "agents",
              "queue_params")  # fmt: skip
    return {t: _count(con, t) for t in tables}


def _count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    row = con.execute("SELECT count(*) FROM " + table).fetchone()  # noqa: S608 (fixed names)
    return int(row[0]) if row else 0
