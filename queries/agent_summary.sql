-- title: Agent summary
-- definition: One row per agent (queue member name) in the chosen queues. answered,
--   talk_total_s and talk_avg_s cover the answered stays that entered in the range; aht_s =
--   talk_avg_s until wrap-up is recorded. ring_attempts counts the times the agent was rung
--   (ring_attempts rows started in the range), ring_noanswer those it let ring out
--   (RINGNOANSWER). Presence comes from member_states, a changelog: each row's state holds
--   from its since (never before a row written earlier for the same member) until the next
--   row of the same PBX, queue and interface, the last one until now; clipped to the range.
--   Per device (PBX and interface), across queues so that nothing is counted twice: logged in
--   while a member of at least one queue (static members always are); paused while paused in
--   every queue it is a member of (a pause in some queues only leaves it taking calls from
--   the others). logged_in_s and pause_s measure those times, unpaused_s = logged_in_s -
--   pause_s, pause_by_reason_s splits pause_s by reason (the reason of the newest pause row;
--   '' for a pause without one). occupancy_pct = observed talk / unpaused_s (QueueMetrics'
--   convention as our brief states it: talk over logged-in time less pauses), where observed
--   talk is the part of those stays' talk that falls in the agent's observed logged-in time,
--   so talk taken while no presence was known never inflates it. The presence
--   columns are NULL for an agent of whom no state is known in the range; a rate whose
--   denominator is 0 is NULL. agents keeps the rows of the named agents only (it narrows the
--   table, not what each row counts).
-- params: start, end (timestamps, optional: [start, end)), queues (list of queue names,
--   optional: all), agents (list of agent names, optional: all)
WITH p AS (
    SELECT CAST($start AS TIMESTAMPTZ) AS t0,
           CAST($end AS TIMESTAMPTZ) AS t1,
           CAST($queues AS VARCHAR[]) AS queues,
           now() AS now_at
),
calls AS (
    SELECT c.agent,
           count(*) AS answered,
           coalesce(sum(c.talk_s), 0) AS talk_total_s,
           avg(c.talk_s) AS talk_avg_s
    FROM queue_calls AS c, p
    WHERE c.outcome = 'answered' AND c.agent IS NOT NULL
      -- Bounds compared with the parameters themselves (constants once bound), not with p's
      -- columns, so that DuckDB skips the row groups outside the range (zone maps).
      AND ($start IS NULL OR c.entered_at >= CAST($start AS TIMESTAMPTZ))
      AND ($end IS NULL OR c.entered_at < CAST($end AS TIMESTAMPTZ))
      AND (p.queues IS NULL OR list_contains(p.queues, c.queue))
    GROUP BY c.agent
),
rings AS (
    SELECT r.agent,
           count(*) AS ring_attempts,
           count(*) FILTER (WHERE r.result = 'noanswer') AS ring_noanswer
    FROM ring_attempts AS r, p
    WHERE r.agent IS NOT NULL
      AND ($start IS NULL OR r.started_at >= CAST($start AS TIMESTAMPTZ))
      AND ($end IS NULL OR r.started_at < CAST($end AS TIMESTAMPTZ))
      AND (p.queues IS NULL OR list_contains(p.queues, r.queue))
    GROUP BY r.agent
),
spans AS (
    -- The chosen queues' presence changes that hold some time in [t0, t1): member_changes,
    -- which the writer keeps (storage/member_changes.py; its rows, their began and ended are
    -- defined with the table in storage/schema.sql), so a range reads the changes in it and
    -- each member's one row holding at t0, not the changelog. Its rows are stored in order of
    -- their end, so that the bounds below skip the row groups of changes ended before t0.
    SELECT c.seq, c.pbx, c.queue, c.interface, c.present, c.paused, c.reason, c.began,
           c.ended
    FROM member_changes AS c, p
    WHERE (p.queues IS NULL OR list_contains(p.queues, c.queue))
      AND ($end IS NULL OR c.began < CAST($end AS TIMESTAMPTZ))
      AND ($start IS NULL OR c.ended > CAST($start AS TIMESTAMPTZ))
),
clipped AS (
    SELECT s.seq, s.pbx, s.queue, s.interface, s.present, s.paused, s.reason,
           greatest(s.began, coalesce(p.t0, s.began)) AS lo,
           -- 'infinity': the row still holds, until now.
           least(CASE WHEN s.ended = 'infinity' THEN p.now_at ELSE s.ended END,
                 coalesce(p.t1, p.now_at)) AS hi
    FROM spans AS s, p
),
live AS (
    SELECT * FROM clipped WHERE hi > lo
),
memberships AS (
    -- Most devices are a member of one chosen queue: their spans are their pieces as they
    -- are. Only the others are cut and matched below.
    SELECT pbx, interface, count(DISTINCT queue) > 1 AS shared
    FROM live
    GROUP BY pbx, interface
),
multi AS (
    SELECT l.* FROM live AS l JOIN memberships AS m USING (pbx, interface) WHERE m.shared
),
cuts AS (
    SELECT pbx, interface, lo AS cut FROM multi
    UNION
    SELECT pbx, interface, hi AS cut FROM multi
),
pieces AS (
    -- The device's timeline cut wherever any of its memberships changes state.
    SELECT pbx, interface, cut AS lo,
           lead(cut) OVER (PARTITION BY pbx, interface ORDER BY cut) AS hi
    FROM cuts
),
covered AS (
    -- Each piece against each of the device's memberships: the membership's latest interval
    -- begun by then (an ASOF join, linear where a range join would be quadratic) holds the
    -- piece when it lasts to the piece's end.
    SELECT g.pbx, g.interface, g.lo, g.hi, s.seq, s.present, s.paused, s.reason
    FROM pieces AS g
    JOIN (SELECT DISTINCT pbx, interface, queue FROM multi) AS m
      ON m.pbx = g.pbx AND m.interface = g.interface
    ASOF JOIN multi AS s
      ON s.pbx = m.pbx AND s.interface = m.interface AND s.queue = m.queue AND g.lo >= s.lo
    WHERE g.hi IS NOT NULL AND s.hi >= g.hi
),
device_time AS (
    SELECT pbx, interface, lo, hi,
           -- Microseconds apart as epoch differences: date_diff on TIMESTAMPTZ goes through
           -- the calendar (ICU), ~50x slower for the same integer.
           (epoch_us(hi) - epoch_us(lo)) / 1e6 AS secs,
           bool_or(present) AS logged_in,
           coalesce(bool_and(paused) FILTER (WHERE present), false) AS paused,
           arg_max(reason, seq) FILTER (WHERE present AND paused) AS reason
    FROM covered
    GROUP BY pbx, interface, lo, hi
    UNION ALL
    -- The same for a device of one membership: its spans, which never overlap.
    SELECT l.pbx, l.interface, l.lo, l.hi, (epoch_us(l.hi) - epoch_us(l.lo)) / 1e6,
           l.present, l.present AND l.paused,
           CASE WHEN l.present AND l.paused THEN l.reason END
    FROM live AS l
    JOIN memberships AS m USING (pbx, interface)
    WHERE NOT m.shared
),
names AS (
    -- A device is named by its chosen memberships' newest name (member_heads, kept with
    -- member_changes).
    SELECT h.pbx, h.interface, coalesce(arg_max(h.member_name, h.name_seq), h.interface) AS agent,
           row_number() OVER (ORDER BY h.pbx, h.interface) AS did
    FROM member_heads AS h, p
    WHERE p.queues IS NULL OR list_contains(p.queues, h.queue)
    GROUP BY h.pbx, h.interface
),
presence AS (
    SELECT n.agent,
           coalesce(sum(d.secs) FILTER (WHERE d.logged_in), 0) AS logged_in_s,
           coalesce(sum(d.secs) FILTER (WHERE d.logged_in AND d.paused), 0) AS pause_s
    FROM device_time AS d
    JOIN names AS n USING (pbx, interface)
    GROUP BY n.agent
),
logged AS (
    SELECT pbx, interface, epoch_us(lo) AS lo_us, epoch_us(hi) AS hi_us
    FROM device_time
    WHERE logged_in
),
runs AS (
    -- Each device's logged-in time as maximal runs (a login session, give or take): a run
    -- starts at a logged-in piece that no logged-in piece ends at and ends at the first
    -- such end after it. Hash joins and a small ASOF join, where merging pieces in order
    -- would sort them all.
    SELECT s.pbx, s.interface, s.lo_us, e.hi_us
    FROM (SELECT * FROM logged AS l
          WHERE NOT EXISTS (SELECT 1 FROM logged AS k
                            WHERE k.pbx = l.pbx AND k.interface = l.interface
                              AND k.hi_us = l.lo_us)) AS s
    ASOF JOIN (SELECT * FROM logged AS l
               WHERE NOT EXISTS (SELECT 1 FROM logged AS k
                                 WHERE k.pbx = l.pbx AND k.interface = l.interface
                                   AND k.lo_us = l.hi_us)) AS e
      ON e.pbx = s.pbx AND e.interface = s.interface AND e.hi_us > s.lo_us
),
run_days AS (
    -- Runs and talks (below) both listed per UTC day they touch (86400e6 microseconds),
    -- so that matching them is a hash join on the device and the day.
    SELECT n.did, r.lo_us, r.hi_us,
           unnest(range(r.lo_us // 86400000000, (r.hi_us - 1) // 86400000000 + 1)) AS day
    FROM runs AS r
    JOIN names AS n USING (pbx, interface)
),
talk_days AS (
    -- In epoch microseconds: integer arithmetic, where TIMESTAMPTZ plus an interval goes
    -- through the calendar.
    SELECT n.did, n.agent, t.lo_us, t.hi_us,
           unnest(range(t.lo_us // 86400000000, (t.hi_us - 1) // 86400000000 + 1)) AS day
    FROM (
        SELECT c.agent, epoch_us(c.answered_at) AS lo_us,
               epoch_us(c.answered_at) + CAST(c.talk_s * 1e6 AS BIGINT) AS hi_us
        FROM queue_calls AS c, p
        WHERE c.outcome = 'answered' AND c.answered_at IS NOT NULL AND c.talk_s > 0
          AND ($start IS NULL OR c.entered_at >= CAST($start AS TIMESTAMPTZ))
          AND ($end IS NULL OR c.entered_at < CAST($end AS TIMESTAMPTZ))
          AND (p.queues IS NULL OR list_contains(p.queues, c.queue))
    ) AS t
    JOIN names AS n USING (agent)
),
observed_talk AS (
    -- Occupancy's talk: the talk of the answered stays above that falls in time the agent was
    -- seen logged in (pieces are already clipped to the range and to now): each talk's
    -- overlap with its devices' runs, day by day so that nothing counts twice. Talk outside
    -- them (a static member before its first queue_log line, time before Callboard started
    -- or the queue_log begins) has no logged-in time to be set against, so it is left out
    -- rather than divided by a few seconds.
    SELECT t.agent,
           sum(greatest(least(t.hi_us, r.hi_us, (t.day + 1) * 86400000000)
                        - greatest(t.lo_us, r.lo_us, t.day * 86400000000), 0)) / 1e6 AS talk_s
    FROM talk_days AS t
    JOIN run_days AS r ON r.did = t.did AND r.day = t.day
    GROUP BY t.agent
),
pause_reasons AS (
    SELECT agent, map_from_entries(list((reason, secs) ORDER BY reason)) AS pause_by_reason_s
    FROM (
        SELECT n.agent, d.reason, sum(d.secs) AS secs
        FROM device_time AS d
        JOIN names AS n USING (pbx, interface)
        WHERE d.logged_in AND d.paused
        GROUP BY n.agent, d.reason
    )
    GROUP BY agent
),
everyone AS (
    SELECT agent FROM calls
    UNION
    SELECT agent FROM rings
    UNION
    SELECT agent FROM presence
)
SELECT e.agent,
       coalesce(c.answered, 0) AS answered,
       coalesce(c.talk_total_s, 0) AS talk_total_s,
       c.talk_avg_s,
       c.talk_avg_s AS aht_s,
       coalesce(r.ring_attempts, 0) AS ring_attempts,
       coalesce(r.ring_noanswer, 0) AS ring_noanswer,
       pr.logged_in_s,
       pr.pause_s,
       pr.logged_in_s - pr.pause_s AS unpaused_s,
       100.0 * coalesce(ot.talk_s, 0) / nullif(pr.logged_in_s - pr.pause_s, 0)
           AS occupancy_pct,
       CASE WHEN pr.agent IS NOT NULL
            THEN coalesce(pa.pause_by_reason_s, MAP {}) END AS pause_by_reason_s
FROM everyone AS e
LEFT JOIN calls AS c USING (agent)
LEFT JOIN rings AS r USING (agent)
LEFT JOIN presence AS pr USING (agent)
LEFT JOIN pause_reasons AS pa USING (agent)
LEFT JOIN observed_talk AS ot USING (agent)
WHERE CAST($agents AS VARCHAR[]) IS NULL OR list_contains(CAST($agents AS VARCHAR[]), e.agent)
ORDER BY e.agent
