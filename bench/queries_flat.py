"""The page KPIs hand-written as minimal SQL over flat, pre-projected tables: the engine's limit.

`prepare(con)` builds `flat` (the columns of queue_calls the KPIs read, ordered by entered_at),
`flat_calls`, `flat_rings` and `flat_members`; `SQL[name]` is the same KPI as
`queries/<name>.sql` with the bench's fixed parameters written in (each queue's threshold from
`flat_sl`, short abandons under 5 s, exclude_short false, every queue) and only `$t0`, `$t1`,
`$tz`, `$width` bound. Each must return the named query's frame; bench/queries.py checks that
it does before timing it.
"""

from __future__ import annotations

import duckdb

# Whether a member answered a stay and hung up in the announcement (a 'dumped' ring attempt
# of the stay): pre-joined into the flat table (and pandas' frame), the baseline's privilege.
DUMPED = """EXISTS (SELECT 1 FROM ring_attempts AS r
    WHERE r.result = 'dumped' AND r.pbx = c.pbx AND r.queue = c.queue
      AND r.call_id = c.call_id AND r.started_at >= c.entered_at)"""
TABLES = {
    "flat": f"""
        CREATE OR REPLACE TABLE flat AS
        SELECT pbx, queue, coalesce(linkedid, call_id) AS caller, entered_at, ended_at, outcome,
               wait_s, talk_s, agent, ended_by, position, left_position, {DUMPED} AS dumped
        FROM queue_calls AS c ORDER BY entered_at""",  # noqa: S608 (fixed text)
    "flat_calls": """
        CREATE OR REPLACE TABLE flat_calls AS
        SELECT pbx, queue, call_id, entered_at, outcome, wait_s, agent, talk_s, ended_by, source,
               caller_num, caller_name, position, answered_at, ended_at, ring_attempts, gap
        FROM queue_calls ORDER BY entered_at""",
    "flat_rings": """
        CREATE OR REPLACE TABLE flat_rings AS
        SELECT agent, started_at, result FROM ring_attempts ORDER BY started_at""",
    # Each queue's service-level threshold (5 rows): the KPIs judge each queue by its own.
    "flat_sl": """
        CREATE OR REPLACE TABLE flat_sl AS
        SELECT queue, sl_threshold_s AS sl FROM queue_thresholds WHERE pbx IS NOT NULL""",
    # mid numbers the members and shared marks devices in several queues, as
    # agent_summary.sql's `members` does for the chosen queues (here: all).
    "flat_members": """
        CREATE OR REPLACE TABLE flat_members AS
        SELECT m.rowid AS seq, k.mid, k.shared, m.pbx, m.queue, m.interface, m.member_name,
               m.since, m.present, m.paused,
               CAST(m.present AS INTEGER) * 2 + CAST(m.paused AS INTEGER) AS state,
               coalesce(m.paused_reason, '') AS reason
        FROM member_states AS m
        JOIN (SELECT pbx, queue, interface,
                     row_number() OVER (ORDER BY pbx, queue, interface) AS mid,
                     count(*) OVER (PARTITION BY pbx, interface) > 1 AS shared
              FROM (SELECT DISTINCT pbx, queue, interface FROM member_states)) AS k
          USING (pbx, queue, interface)
        ORDER BY m.rowid""",
    # How long after entering a stay can still be talking (one row), so that occupancy's
    # talks overlapping a range are read from the stays entered shortly before it on.
    "flat_reach": """
        CREATE OR REPLACE TABLE flat_reach AS
        SELECT max(epoch(answered_at) - epoch(entered_at) + talk_s) + 1 AS reach_s
        FROM flat_calls WHERE outcome = 'answered'""",
}

SQL: dict[str, str] = {
    "queue_summary": """
        WITH s AS (
            SELECT queue, outcome, wait_s, talk_s, position, left_position, dumped,
                   outcome = 'answered' AS a,
                   wait_s <= t.sl AS sl, t.sl AS threshold,
                   floor(epoch(entered_at) + wait_s) - floor(epoch(entered_at)) <= t.sl
                       AS sl_whole,
                   outcome IN ('abandoned', 'timeout', 'exitempty') AS ast_ab,
                   ended_by
            FROM flat JOIN flat_sl AS t USING (queue)
            WHERE entered_at >= $t0 AND entered_at < $t1
        )
        SELECT queue, count(*) AS offered, count(*) FILTER (a) AS answered,
               count(*) FILTER (outcome = 'abandoned') AS abandoned,
               count(*) FILTER (outcome = 'timeout') AS timeout,
               100.0 * count(*) FILTER (a AND sl) / nullif(count(*) FILTER (a), 0)
                   AS sl_answered_pct,
               100.0 * count(*) FILTER (a AND sl) / count(*) AS sl_inclusive_pct,
               avg(wait_s) FILTER (a) AS asa_s,
               100.0 * count(*) FILTER (outcome = 'abandoned') / count(*) AS abandon_rate_pct,
               count(*) FILTER (outcome = 'exitempty') AS exitempty,
               count(*) FILTER (outcome = 'exitwithkey') AS exitwithkey,
               count(*) FILTER (outcome = 'unknown') AS unknown,
               count(*) FILTER (outcome = 'abandoned' AND wait_s < 5) AS short_abandons,
               count(*) FILTER (a AND ended_by = 'transfer') AS transferred,
               count(*) FILTER (a AND sl) AS answered_within_sl,
               100.0 * count(*) FILTER (a AND sl_whole) / nullif(count(*) FILTER (a), 0)
                   AS sl_asterisk_perf_pct,
               100.0 * count(*) FILTER ((a OR ast_ab) AND sl_whole)
                   / nullif(count(*) FILTER (a OR ast_ab), 0) AS sl_asterisk_perf2_pct,
               quantile_cont(ceil(wait_s), 0.5) FILTER (a) AS wait_answered_p50_s,
               quantile_cont(ceil(wait_s), 0.9) FILTER (a) AS wait_answered_p90_s,
               max(wait_s) FILTER (a) AS wait_answered_max_s,
               avg(wait_s) FILTER (NOT a) AS wait_lost_avg_s,
               quantile_cont(ceil(wait_s), 0.5) FILTER (NOT a) AS wait_lost_p50_s,
               quantile_cont(ceil(wait_s), 0.9) FILTER (NOT a) AS wait_lost_p90_s,
               max(wait_s) FILTER (NOT a) AS wait_lost_max_s,
               avg(wait_s) FILTER (outcome = 'abandoned') AS abandon_wait_avg_s,
               avg(left_position) FILTER (outcome = 'abandoned') AS abandon_position_avg,
               sum(talk_s) FILTER (a) AS talk_total_s, avg(talk_s) FILTER (a) AS talk_avg_s,
               avg(talk_s) FILTER (a) AS aht_s, any_value(threshold) AS sl_threshold_s,
               avg(position) FILTER (outcome = 'abandoned') AS abandon_entry_position_avg,
               count(*) FILTER (dumped) AS agent_dumps
        FROM s GROUP BY queue ORDER BY queue""",
    # One aggregate per caller; only callers with several stays and an answer need their
    # waits summed again up to the first answer (a join on a few percent of the stays).
    "totals": """
        WITH s AS (
            SELECT pbx, caller, entered_at, ended_at, outcome, wait_s, talk_s, t.sl
            FROM flat JOIN flat_sl AS t USING (queue)
            WHERE entered_at >= $t0 AND entered_at < $t1
        ),
        c AS (
            SELECT pbx, caller, count(*) AS stays,
                   min(entered_at) FILTER (outcome = 'answered') AS first_answer_at,
                   arg_max(outcome, (entered_at, ended_at)) AS last_outcome,
                   sum(wait_s) AS wait_all, arg_min(sl, (entered_at, ended_at)) AS sl
            FROM s GROUP BY pbx, caller
        ),
        multi AS (
            SELECT c.pbx, c.caller, sum(s.wait_s) AS wait_s
            FROM c JOIN s USING (pbx, caller)
            WHERE c.stays > 1 AND s.entered_at <= c.first_answer_at
            GROUP BY c.pbx, c.caller
        ),
        f AS (
            SELECT c.first_answer_at IS NOT NULL AS a, c.last_outcome AS lo, c.stays, c.sl,
                   CASE WHEN c.stays > 1 AND c.first_answer_at IS NOT NULL THEN m.wait_s
                        ELSE c.wait_all END AS w
            FROM c LEFT JOIN multi AS m USING (pbx, caller)
        )
        SELECT count(*) AS offered, count(*) FILTER (a) AS answered,
               count(*) FILTER (NOT a AND lo = 'abandoned') AS abandoned,
               count(*) FILTER (NOT a AND lo = 'timeout') AS timeout,
               100.0 * count(*) FILTER (a AND w <= sl) / nullif(count(*) FILTER (a), 0)
                   AS sl_answered_pct,
               100.0 * count(*) FILTER (a AND w <= sl) / nullif(count(*), 0) AS sl_inclusive_pct,
               avg(w) FILTER (a) AS asa_s,
               100.0 * count(*) FILTER (NOT a AND lo = 'abandoned') / nullif(count(*), 0)
                   AS abandon_rate_pct,
               count(*) FILTER (NOT a AND lo = 'exitempty') AS exitempty,
               count(*) FILTER (NOT a AND lo = 'exitwithkey') AS exitwithkey,
               count(*) FILTER (NOT a AND lo = 'unknown') AS unknown,
               count(*) FILTER (NOT a AND lo = 'abandoned' AND w < 5) AS short_abandons,
               count(*) FILTER (a AND w <= sl) AS answered_within_sl,
               coalesce(sum(stays), 0) AS stays, count(*) FILTER (stays > 1) AS multi_stay_callers,
               any_value(talk.talk_total_s) AS talk_total_s, any_value(talk.aht_s) AS aht_s
        FROM f, (SELECT sum(talk_s) FILTER (outcome = 'answered') AS talk_total_s,
                        avg(talk_s) FILTER (outcome = 'answered') AS aht_s FROM s) AS talk""",
    "queue_intervals": """
        SELECT queue, time_bucket($width, timezone($tz, entered_at)) AS bucket_start,
               count(*) AS offered, count(*) FILTER (outcome = 'answered') AS answered,
               count(*) FILTER (outcome = 'abandoned') AS abandoned,
               count(*) FILTER (outcome = 'timeout') AS timeout,
               100.0 * count(*) FILTER (outcome = 'answered' AND wait_s <= t.sl)
                   / nullif(count(*) FILTER (outcome = 'answered'), 0) AS sl_answered_pct,
               100.0 * count(*) FILTER (outcome = 'answered' AND wait_s <= t.sl) / count(*)
                   AS sl_inclusive_pct,
               avg(wait_s) FILTER (outcome = 'answered') AS asa_s,
               100.0 * count(*) FILTER (outcome = 'abandoned') / count(*) AS abandon_rate_pct,
               count(*) FILTER (outcome = 'abandoned' AND wait_s < 5) AS short_abandons,
               count(*) FILTER (outcome = 'answered' AND wait_s <= t.sl) AS answered_within_sl,
               avg(talk_s) FILTER (outcome = 'answered') AS talk_avg_s
        FROM flat JOIN flat_sl AS t USING (queue)
        WHERE entered_at >= $t0 AND entered_at < $t1
        GROUP BY ALL ORDER BY queue, bucket_start""",
    "wait_distribution": """
        WITH bands(band, from_s, to_s) AS (
            VALUES ('0-10', 0, 10), ('10-20', 10, 20), ('20-30', 20, 30), ('30-45', 30, 45),
                   ('45-60', 45, 60), ('60-90', 60, 90), ('90-120', 90, 120), ('120+', 120, NULL)
        ),
        s AS (
            SELECT queue, outcome = 'answered' AS a,
                   CASE WHEN wait_s <= 10 THEN 0 WHEN wait_s <= 20 THEN 10
                        WHEN wait_s <= 30 THEN 20 WHEN wait_s <= 45 THEN 30
                        WHEN wait_s <= 60 THEN 45 WHEN wait_s <= 90 THEN 60
                        WHEN wait_s <= 120 THEN 90 WHEN wait_s > 120 THEN 120 END AS from_s
            FROM flat WHERE entered_at >= $t0 AND entered_at < $t1
        ),
        q AS (SELECT queue, count(*) FILTER (a) AS answered_all FROM s GROUP BY queue),
        c AS (
            SELECT queue, from_s, count(*) FILTER (a) AS answered,
                   count(*) FILTER (NOT a) AS lost
            FROM s WHERE from_s IS NOT NULL GROUP BY ALL
        ),
        g AS (
            SELECT q.queue, b.band, b.from_s, b.to_s, q.answered_all,
                   coalesce(c.answered, 0) AS answered, coalesce(c.lost, 0) AS lost
            FROM q CROSS JOIN bands AS b
            LEFT JOIN c ON c.queue = q.queue AND c.from_s = b.from_s
        )
        SELECT queue, band, from_s, to_s, answered, lost,
               sum(answered) OVER (PARTITION BY queue ORDER BY from_s)::BIGINT AS answered_within,
               100.0 * sum(answered) OVER (PARTITION BY queue ORDER BY from_s)
                   / nullif(answered_all, 0) AS answered_within_pct
        FROM g ORDER BY queue, from_s""",
    "unanswered_by_reason": """
        WITH reasons(reason, rank) AS (
            VALUES ('abandoned', 1), ('short_abandon', 2), ('timeout', 3), ('exitempty', 4),
                   ('exitwithkey', 5), ('unknown', 6)
        ),
        s AS (
            SELECT queue, wait_s,
                   CASE WHEN outcome = 'abandoned' AND wait_s < 5 THEN 'short_abandon'
                        ELSE outcome END AS reason
            FROM flat WHERE entered_at >= $t0 AND entered_at < $t1
        ),
        c AS (SELECT queue, reason, count(*) AS calls, avg(wait_s) AS w FROM s GROUP BY ALL),
        q AS (
            SELECT queue, sum(calls) AS offered,
                   sum(calls) FILTER (reason <> 'answered') AS unanswered
            FROM c GROUP BY queue
        )
        SELECT q.queue, r.reason, coalesce(c.calls, 0) AS calls, c.w AS wait_avg_s,
               100.0 * coalesce(c.calls, 0) / nullif(q.unanswered, 0) AS unanswered_pct,
               100.0 * coalesce(c.calls, 0) / nullif(q.offered, 0) AS offered_pct
        FROM q CROSS JOIN reasons AS r
        LEFT JOIN c ON c.queue = q.queue AND c.reason = r.reason
        ORDER BY q.queue, r.rank""",
    "day_hour_matrix": """
        WITH days(weekday, day) AS (
            VALUES (1, 'Mon'), (2, 'Tue'), (3, 'Wed'), (4, 'Thu'), (5, 'Fri'), (6, 'Sat'),
                   (7, 'Sun')
        ),
        c AS (
            SELECT isodow(timezone($tz, entered_at)) AS weekday,
                   hour(timezone($tz, entered_at)) AS hour, count(*) AS offered,
                   count(*) FILTER (outcome = 'answered') AS answered,
                   count(*) FILTER (outcome = 'answered' AND wait_s <= t.sl) AS within
            FROM flat JOIN flat_sl AS t USING (queue)
            WHERE entered_at >= $t0 AND entered_at < $t1
            GROUP BY ALL
        )
        SELECT d.weekday, d.day, h.range AS hour, coalesce(c.offered, 0) AS offered,
               coalesce(c.answered, 0) AS answered, coalesce(c.within, 0) AS answered_within_sl,
               100.0 * c.within / nullif(c.answered, 0) AS sl_answered_pct,
               100.0 * c.within / nullif(c.offered, 0) AS sl_inclusive_pct
        FROM days AS d CROSS JOIN range(24) AS h
        LEFT JOIN c ON c.weekday = d.weekday AND c.hour = h.range
        ORDER BY d.weekday, hour""",
    "calls": """
        SELECT * FROM flat_calls WHERE entered_at >= $t0 AND entered_at < $t1
        ORDER BY entered_at, pbx, queue, call_id""",
    "agent_summary": """
        WITH calls AS (
            SELECT agent, count(*) AS answered, sum(talk_s) AS talk_total_s,
                   avg(talk_s) AS talk_avg_s
            FROM flat
            WHERE outcome = 'answered' AND agent IS NOT NULL
              AND entered_at >= $t0 AND entered_at < $t1
            GROUP BY agent
        ),
        rings AS (
            SELECT agent, count(*) AS ring_attempts,
                   count(*) FILTER (result = 'noanswer') AS ring_noanswer
            FROM flat_rings
            WHERE agent IS NOT NULL AND started_at >= $t0 AND started_at < $t1
            GROUP BY agent
        ),
        bounds AS (
            SELECT mid, pbx, queue, interface, min(seq) AS first_seq,
                   max(seq) FILTER (since <= $t0) AS held_seq,
                   min(seq) FILTER (since > $t0) AS after_seq,
                   min(seq) FILTER (since >= $t1) AS last_seq,
                   arg_max(member_name, seq) AS agent,
                   max(seq) FILTER (member_name IS NOT NULL) AS name_seq
            FROM flat_members GROUP BY ALL
        ),
        scanned AS (
            SELECT min(CASE WHEN held_seq < coalesce(after_seq, held_seq + 1) THEN held_seq
                            ELSE first_seq END) AS lo,
                   CASE WHEN bool_and(last_seq IS NOT NULL) THEN max(last_seq)
                        ELSE 9223372036854775807 END AS hi
            FROM bounds
        ),
        marked AS (
            SELECT seq, mid, since, present, paused, reason,
                   state IS DISTINCT FROM lag(state) OVER w
                       OR reason IS DISTINCT FROM lag(reason) OVER w
                       OR since > lead(since) OVER w OR (present AND paused AND shared)
                       AS needed
            FROM flat_members
            -- rowid = seq (copied in rowid order); a bound on seq, a column with
            -- statistics, shrinks the estimates until DuckDB plans the ASOF join below
            -- as a nested loop (quadratic); rowid has no statistics.
            WHERE rowid >= (SELECT lo FROM scanned) AND rowid <= (SELECT hi FROM scanned)
            WINDOW w AS (PARTITION BY mid ORDER BY seq)
        ),
        spans AS (
            SELECT * FROM (
                SELECT seq, pbx, queue, interface, present, paused, reason,
                       greatest(max(since) OVER w, $t0) AS lo,
                       least(CASE WHEN lead(since) OVER w IS NULL THEN now()
                                  ELSE greatest(max(since) OVER w, lead(since) OVER w) END,
                             $t1) AS hi
                FROM marked JOIN (SELECT DISTINCT mid, pbx, queue, interface FROM bounds)
                    USING (mid)
                WHERE needed
                WINDOW w AS (PARTITION BY mid ORDER BY seq
                             ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
            ) WHERE hi > lo
        ),
        cuts AS (
            SELECT pbx, interface, lo AS cut FROM spans UNION SELECT pbx, interface, hi FROM spans
        ),
        pieces AS (
            SELECT * FROM (
                SELECT pbx, interface, cut AS lo,
                       lead(cut) OVER (PARTITION BY pbx, interface ORDER BY cut) AS hi
                FROM cuts
            ) WHERE hi IS NOT NULL
        ),
        covered AS (
            SELECT g.pbx, g.interface, g.lo, g.hi, s.seq, s.present, s.paused, s.reason
            FROM pieces AS g
            JOIN (SELECT DISTINCT pbx, interface, queue FROM spans) AS m USING (pbx, interface)
            ASOF JOIN spans AS s
              ON s.pbx = m.pbx AND s.interface = m.interface AND s.queue = m.queue
             AND g.lo >= s.lo
            WHERE s.hi >= g.hi
        ),
        device_time AS (
            SELECT pbx, interface, epoch_us(lo) AS lo_us, epoch_us(hi) AS hi_us,
                   (epoch_us(hi) - epoch_us(lo)) / 1e6 AS secs, bool_or(present) AS logged_in,
                   coalesce(bool_and(paused) FILTER (present), false) AS paused,
                   arg_max(reason, seq) FILTER (present AND paused) AS reason
            FROM covered GROUP BY pbx, interface, lo, hi
        ),
        names AS (
            SELECT pbx, interface, coalesce(arg_max(agent, name_seq), interface) AS agent
            FROM bounds GROUP BY pbx, interface
        ),
        named AS (
            SELECT n.agent, d.* FROM device_time AS d JOIN names AS n USING (pbx, interface)
        ),
        logged AS (
            SELECT pbx, interface, lo_us, hi_us FROM device_time WHERE logged_in
        ),
        runs AS (
            SELECT s.pbx, s.interface, s.lo_us, e.hi_us
            FROM (SELECT * FROM logged AS l WHERE NOT EXISTS (
                      SELECT 1 FROM logged AS k WHERE k.pbx = l.pbx
                      AND k.interface = l.interface AND k.hi_us = l.lo_us)) AS s
            ASOF JOIN (SELECT * FROM logged AS l WHERE NOT EXISTS (
                      SELECT 1 FROM logged AS k WHERE k.pbx = l.pbx
                      AND k.interface = l.interface AND k.lo_us = l.hi_us)) AS e
              ON e.pbx = s.pbx AND e.interface = s.interface AND e.hi_us > s.lo_us
        ),
        run_days AS (
            SELECT pbx, interface, lo_us, hi_us,
                   unnest(range(lo_us // 86400000000, (hi_us - 1) // 86400000000 + 1)) AS day
            FROM runs
        ),
        talk_days AS (
            SELECT pbx, interface, agent, lo, hi,
                   unnest(range(lo // 86400000000, (hi - 1) // 86400000000 + 1)) AS day
            FROM (SELECT n.pbx, n.interface, n.agent, epoch_us(f.answered_at) AS lo,
                         epoch_us(f.answered_at) + CAST(f.talk_s * 1e6 AS BIGINT) AS hi
                  FROM flat_calls AS f JOIN names AS n USING (agent)
                  WHERE f.outcome = 'answered' AND f.answered_at IS NOT NULL AND f.talk_s > 0
                    -- Occupancy's talk is time-based: the talks overlapping the range.
                    AND f.entered_at < $t1
                    AND f.entered_at >= (SELECT to_timestamp(epoch(CAST($t0 AS TIMESTAMPTZ))
                                                             - reach_s) FROM flat_reach)
                    AND epoch_us(f.answered_at) + CAST(f.talk_s * 1e6 AS BIGINT)
                        > epoch_us(CAST($t0 AS TIMESTAMPTZ)))
        ),
        observed AS (
            SELECT t.agent,
                   sum(greatest(least(t.hi, r.hi_us, (t.day + 1) * 86400000000)
                                - greatest(t.lo, r.lo_us, t.day * 86400000000), 0)) / 1e6
                       AS talk_s
            FROM talk_days AS t
            JOIN run_days AS r USING (pbx, interface, day)
            GROUP BY t.agent
        ),
        presence AS (
            SELECT agent, coalesce(sum(secs) FILTER (logged_in), 0) AS logged_in_s,
                   coalesce(sum(secs) FILTER (logged_in AND paused), 0) AS pause_s
            FROM named GROUP BY agent
        ),
        reasons AS (
            SELECT agent, map_from_entries(list((reason, secs) ORDER BY reason)) AS by_reason
            FROM (SELECT agent, reason, sum(secs) AS secs FROM named
                  WHERE logged_in AND paused GROUP BY ALL)
            GROUP BY agent
        )
        SELECT agent, coalesce(c.answered, 0) AS answered,
               coalesce(c.talk_total_s, 0) AS talk_total_s, c.talk_avg_s,
               c.talk_avg_s AS aht_s, coalesce(r.ring_attempts, 0) AS ring_attempts,
               coalesce(r.ring_noanswer, 0) AS ring_noanswer, p.logged_in_s, p.pause_s,
               p.logged_in_s - p.pause_s AS unpaused_s,
               100.0 * coalesce(o.talk_s, 0) / nullif(p.logged_in_s - p.pause_s, 0)
                   AS occupancy_pct,
               CASE WHEN p.agent IS NOT NULL THEN coalesce(x.by_reason, MAP {}) END
                   AS pause_by_reason_s
        FROM calls AS c
        FULL JOIN rings AS r USING (agent)
        FULL JOIN presence AS p USING (agent)
        LEFT JOIN reasons AS x USING (agent)
        LEFT JOIN observed AS o USING (agent)
        ORDER BY agent""",
}


def prepare(con: duckdb.DuckDBPyConnection) -> None:
    """Create (or replace) the flat tables from the store's tables."""
    for sql in TABLES.values():
        con.execute(sql)
