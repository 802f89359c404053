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
--   talk is the time in the range during which the agent talked on an answered stay of the
--   chosen queues ([answered_at, answered_at + talk_s), whenever it entered) and was seen
--   logged in, so talk taken while no presence was known never inflates it. The presence
--   columns are NULL for an agent of whom no state is known in the range; a rate whose
--   denominator is 0 is NULL. agents keeps the rows of the named agents only (it narrows the
--   table, not what each row counts).
-- params: start, end (timestamps, optional: [start, end)), queues (list of queue names,
--   optional: all), agents (list of agent names, optional: all)
-- disabled_optimizers: statistics_propagation

-- Planned without DuckDB's statistics propagation: 3-5 ms less on every range at 10M
-- callers (dozens of small operators, a few hundred rows each); the other queries' year
-- scans are 2-5 ms slower without it (bench/README.md, session 11).
WITH p AS (
    SELECT CAST($start AS TIMESTAMPTZ) AS t0,
           CAST($end AS TIMESTAMPTZ) AS t1,
           CAST($queues AS VARCHAR[]) AS queues,
           now() AS now_at
),
counts AS (
    -- Whole UTC days from the rollup, the range's partial edges from the rows
    -- (agent_counts_in, storage/schema.sql).
    SELECT c.agent,
           whole(sum(c.answered)) AS answered,
           coalesce(sum(c.talk_sum_s), 0) AS talk_total_s,
           sum(c.talk_sum_s) / nullif(sum(c.talks), 0) AS talk_avg_s,
           whole(sum(c.attempts)) AS ring_attempts,
           whole(sum(c.noanswer)) AS ring_noanswer
    FROM agent_counts_in($start, $end) AS c, p
    WHERE p.queues IS NULL OR list_contains(p.queues, c.queue)
    GROUP BY c.agent
),
reach AS (
    SELECT greatest(talk_reach(), 0) + 1 AS reach,
           coalesce(CAST($end AS TIMESTAMPTZ), now()) AS hi
),
memberships AS (
    -- Per device with a chosen membership (member_heads, kept with member_changes): its
    -- name, its chosen memberships' newest; and which of its kept rows equal its presence
    -- over the chosen queues (row_queue): all queues' (NULL) when all are chosen or every
    -- membership it has is; its queue's when one is chosen (or one of its several); none
    -- (mixed) when two or more of its several memberships are chosen, not all.
    SELECT h.pbx, h.interface,
           coalesce(arg_max(h.member_name, h.name_seq) FILTER (in_chosen($queues, h.queue)),
                    h.interface) AS agent,
           CASE WHEN CAST($queues AS VARCHAR[]) IS NULL THEN NULL
                WHEN count(*) FILTER (in_chosen($queues, h.queue)) = 1
                THEN any_value(h.queue) FILTER (in_chosen($queues, h.queue)) END AS row_queue,
           count(*) FILTER (in_chosen($queues, h.queue)) NOT IN (1, count(*)) AS mixed
    FROM member_heads AS h
    GROUP BY h.pbx, h.interface
    HAVING count(*) FILTER (in_chosen($queues, h.queue)) > 0
),
several AS (
    -- Two or more chosen queues read kept rows (memberships' row_queue) when no device is
    -- mixed and no device's kept rows count talk its fold over the chosen queues would not
    -- (a stay of an unchosen queue for a device of all queues' rows, of another chosen
    -- queue for a device of one queue's rows, answered under its name while the range can
    -- still see it); otherwise the range is folded.
    SELECT len(list_distinct(CAST($queues AS VARCHAR[]))) >= 2
           AND NOT EXISTS (SELECT 1 FROM memberships WHERE mixed)
           AND NOT EXISTS (
               -- From agent_counts (answered stays per agent, queue and UTC day): every
               -- day the range's talk can reach, so a conflict is never missed.
               SELECT 1
               FROM agent_counts AS c JOIN memberships AS m ON c.agent = m.agent, reach AS r
               WHERE len(list_distinct(CAST($queues AS VARCHAR[]))) >= 2
                 AND c.answered > 0 AND c.bucket < r.hi
                 AND c.bucket >= coalesce(CAST($start AS TIMESTAMPTZ)
                                          - to_seconds(CAST(ceil(r.reach) AS BIGINT) + 86400),
                                          '-infinity'::TIMESTAMPTZ)
                 AND CASE WHEN m.row_queue IS NULL THEN NOT in_chosen($queues, c.queue)
                          ELSE c.queue <> m.row_queue AND in_chosen($queues, c.queue) END)
           AS ok
),
cut AS (
    -- Over all queues, one (q), or several (qs) as `several` allows: the range's whole UTC
    -- days [a, b) that agent_days holds (days since 1970-01-01; it holds those before
    -- upto_hour // 24) are read from it; the whole hours around them, [l_lo, l_hi) before
    -- and [t_lo, t_hi) after, from agent_hours when it keeps them (hours since 1970-01-01,
    -- from hours_from to upto_hour); what is left, [start, c1) and [c2, end) (less than an
    -- hour at each end of a recent range; or the whole range, when nothing is held or
    -- several chosen queues cannot be read), is folded from member_changes by agent_time
    -- (storage/schema.sql, which computes both tables' rows).
    -- A range not read is [never, never): NULL bounds would keep its table's scan from
    -- skipping every row group (all of agent_hours read, ~8 ms at 10M callers).
    SELECT q, qs, reach, hi,
           CASE WHEN days THEN a ELSE never END AS a, CASE WHEN days THEN b ELSE never END AS b,
           CASE WHEN lead THEN hs ELSE never END AS l_lo,
           CASE WHEN lead THEN (CASE WHEN days THEN a * 24 ELSE he END) ELSE never END AS l_hi,
           CASE WHEN trail THEN b * 24 ELSE never END AS t_lo,
           CASE WHEN trail THEN he ELSE never END AS t_hi,
           CASE WHEN lead THEN to_timestamp(hs * 3600)
                WHEN days THEN to_timestamp(a * 86400) ELSE hi END AS c1,
           CASE WHEN trail OR (lead AND NOT days) THEN to_timestamp(he * 3600)
                WHEN days THEN to_timestamp(b * 86400) ELSE hi END AS c2
    FROM (SELECT *, one AND a < b AS days,
                 -- whole hours kept at the start: before the days, or the whole range
                 one AND hs >= w AND hs < CASE WHEN a < b THEN a * 24 + 1 ELSE he END AS lead,
                 one AND a < b AND b * 24 >= w AS trail
          FROM (SELECT CAST($queues AS VARCHAR[]) IS NULL
                           OR len(list_distinct(CAST($queues AS VARCHAR[]))) = 1 OR v.ok AS one,
                       CASE WHEN len(list_distinct(CAST($queues AS VARCHAR[]))) = 1
                            THEN CAST($queues AS VARCHAR[])[1] END AS q,
                       CASE WHEN v.ok THEN CAST($queues AS VARCHAR[]) END AS qs,
                       r.reach, r.hi,
                       coalesce((epoch_us(CAST($start AS TIMESTAMPTZ)) + 86400000000 - 1)
                                // 86400000000, 0) AS a,
                       least(epoch_us(coalesce(CAST($end AS TIMESTAMPTZ), now()))
                             // 86400000000, s.upto_hour // 24) AS b,
                       coalesce((epoch_us(CAST($start AS TIMESTAMPTZ)) + 3600000000 - 1)
                                // 3600000000, 0) AS hs,
                       least(epoch_us(coalesce(CAST($end AS TIMESTAMPTZ), now()))
                             // 3600000000, s.upto_hour) AS he,
                       s.hours_from AS w, 9223372036854775807 AS never
                FROM (SELECT max(upto_hour) AS upto_hour, max(hours_from) AS hours_from
                      FROM agent_days_state) AS s, reach AS r, several AS v))
),
device_time AS (
    -- Per device (and day or hour, and pause reason) its logged-in, paused and observed
    -- talk time.
    SELECT d.pbx, d.interface, d.queue, false AS folded, d.reason, d.logged_in_s, d.pause_s,
           d.talk_s
    FROM agent_days AS d
    WHERE d.day >= (SELECT a FROM cut) AND d.day < (SELECT b FROM cut)
      AND (d.queue IS NOT DISTINCT FROM (SELECT q FROM cut)
           OR list_contains((SELECT qs FROM cut), d.queue))
    UNION ALL
    -- The hours before the days and after them: two scans of one range each, which DuckDB
    -- narrows to their row groups; one scan of the two ranges OR-ed read all of agent_hours
    -- (685k rows at 10M callers, 2.8 ms).
    SELECT h.pbx, h.interface, h.queue, false, h.reason, h.logged_in_s, h.pause_s, h.talk_s
    FROM agent_hours AS h
    WHERE h.hour >= (SELECT l_lo FROM cut) AND h.hour < (SELECT l_hi FROM cut)
      AND (h.queue IS NOT DISTINCT FROM (SELECT q FROM cut)
           OR list_contains((SELECT qs FROM cut), h.queue))
    UNION ALL
    SELECT h.pbx, h.interface, h.queue, false, h.reason, h.logged_in_s, h.pause_s, h.talk_s
    FROM agent_hours AS h
    WHERE h.hour >= (SELECT t_lo FROM cut) AND h.hour < (SELECT t_hi FROM cut)
      AND (h.queue IS NOT DISTINCT FROM (SELECT q FROM cut)
           OR list_contains((SELECT qs FROM cut), h.queue))
    UNION ALL
    -- The edges: [start, c1) and [c2, end). A talk overlaps an edge only when its stay
    -- entered less than talk_reach() before it.
    SELECT pbx, interface, NULL, true, reason, logged_in_s, pause_s, talk_s
    FROM agent_time(
        $start, (SELECT c1 FROM cut), (SELECT c2 FROM cut), $end, $queues,
        (SELECT to_timestamp(epoch(CAST($start AS TIMESTAMPTZ)) - reach) FROM cut),
        (SELECT to_timestamp(epoch(c2) - reach) FROM cut))
),
named AS (
    -- Summed per device and reason first (a year: ~1k rows, not every device-day), then
    -- named, each device's kept rows those of its row_queue (or of the one chosen queue).
    SELECT m.agent, d.pbx, d.interface, d.reason, sum(d.logged_in_s) AS logged_in_s,
           sum(d.pause_s) AS pause_s, sum(d.talk_s) AS talk_s
    FROM (SELECT pbx, interface, queue, folded, reason, sum(logged_in_s) AS logged_in_s,
                 sum(pause_s) AS pause_s, sum(talk_s) AS talk_s
          FROM device_time
          GROUP BY pbx, interface, queue, folded, reason) AS d
    JOIN memberships AS m USING (pbx, interface)
    WHERE d.folded OR d.queue IS NOT DISTINCT FROM m.row_queue
    GROUP BY m.agent, d.pbx, d.interface, d.reason
),
presence AS (
    SELECT agent, sum(logged_in_s) AS logged_in_s, sum(pause_s) AS pause_s,
           sum(talk_s) AS talk_s
    FROM named
    GROUP BY agent
),
pause_reasons AS (
    SELECT agent, map_from_entries(list((reason, secs) ORDER BY reason)) AS pause_by_reason_s
    FROM (
        SELECT agent, reason, sum(pause_s) AS secs
        FROM named
        WHERE reason IS NOT NULL
        GROUP BY agent, reason
    )
    GROUP BY agent
),
everyone AS (
    SELECT agent FROM counts
    UNION
    SELECT agent FROM presence
)
SELECT e.agent,
       coalesce(c.answered, 0) AS answered,
       coalesce(c.talk_total_s, 0) AS talk_total_s,
       c.talk_avg_s,
       c.talk_avg_s AS aht_s,
       coalesce(c.ring_attempts, 0) AS ring_attempts,
       coalesce(c.ring_noanswer, 0) AS ring_noanswer,
       pr.logged_in_s,
       pr.pause_s,
       pr.logged_in_s - pr.pause_s AS unpaused_s,
       100.0 * pr.talk_s / nullif(pr.logged_in_s - pr.pause_s, 0)
           AS occupancy_pct,
       CASE WHEN pr.agent IS NOT NULL
            THEN coalesce(pa.pause_by_reason_s, MAP {}) END AS pause_by_reason_s
FROM everyone AS e
LEFT JOIN counts AS c USING (agent)
LEFT JOIN presence AS pr USING (agent)
LEFT JOIN pause_reasons AS pa USING (agent)
WHERE CAST($agents AS VARCHAR[]) IS NULL OR list_contains(CAST($agents AS VARCHAR[]), e.agent)
ORDER BY e.agent
