-- title: Queue summary
-- definition: One row per queue (by name, across PBXs) over the stays (one caller in one
--   queue, see `calls`) that entered in the range. Stable interface: other tools rely on the
--   first nine columns. offered = stays; answered / abandoned / timeout / exitempty /
--   exitwithkey / unknown count stays by outcome. A stay is "within the service level" when
--   answered after wait_s <= sl_s (inclusive, as Asterisk and Wazo count it); an unknown wait is
--   not within it. sl_s is the stay's queue's threshold (queue_targets: [[queue]] settings, else
--   the queue's servicelevel, else 20 s) unless the sl_s parameter sets one for every queue;
--   sl_threshold_s is the threshold the queue's stays were judged by (NULL when its PBXs
--   differ). sl_answered_pct = answered within sl_s / answered (QueueMetrics' SLA);
--   sl_inclusive_pct = answered within sl_s / offered, i.e. over answered and unanswered calls
--   (QueueMetrics' "Inclusive SLA"); asa_s = mean wait of answered stays; abandon_rate_pct =
--   abandoned / offered. A short abandon is an abandoned stay with wait_s < short_abandon_s
--   (strict); with exclude_short they leave the numerator and denominator of abandon_rate_pct
--   and the denominator of sl_inclusive_pct, and nothing else. sl_asterisk_perf_pct and
--   sl_asterisk_perf2_pct are Asterisk 16's QueueParams ServicelevelPerf = completed within SL /
--   completed and ServicelevelPerf2 = (completed + "abandoned" within SL) / (completed +
--   "abandoned"), where Asterisk's "abandoned" is abandoned + timeout + exitempty, and "within
--   SL" is judged on Asterisk's whole-second clock (whole epoch second of the answer or hang-up
--   minus that of entering, which is wait_s itself for rows from queue_log); they ignore
--   exclude_short. Waits of lost stays cover every unanswered outcome; the wait percentiles are
--   taken over the waits rounded up to the whole second (as Asterisk's holdtime and queue_log
--   count them; for queue_log's stays nothing changes) and interpolate linearly (numpy's
--   default); averages and maxima use the exact waits. abandon_position_avg is the mean position of abandoned stays
--   when they hung up (QueueMetrics' "position at disconnection"; stays without it, e.g. from
--   before it was recorded, are left out), abandon_entry_position_avg the one at entry.
--   agent_dumps counts the stays in which a member answered and hung up during the
--   announcement (queue_log's AGENTDUMP, a ring attempt 'dumped'): Asterisk 16 keeps the
--   caller waiting, so these stays also count under how they ended. aht_s = talk_avg_s until wrap-up is recorded. A
--   rate whose denominator is 0 is NULL.
-- params: start, end (timestamps, optional: entered_at in [start, end)), queues (list of queue
--   names, optional: all), sl_s (seconds, optional: one threshold for every
--   queue; default: each queue's own, see queue_targets), short_abandon_s (seconds, default
--   5), exclude_short (boolean, default false)
WITH p AS (
    SELECT CAST($queues AS VARCHAR[]) AS queues,
           coalesce(CAST($exclude_short AS BOOLEAN), false) AS exclude_short
),
quarters AS (
    -- The range's stays summed per quarter-hour (stay_quarters_in, storage/schema.sql): whole
    -- quarters from the rollup, partial ones and other thresholds from the stays; then per
    -- queue, outcome and shortness, so that per_queue's conditional sums pick from a few dozen
    -- rows (each is evaluated over every row it is given: over a month's quarters at 10M
    -- callers they cost 30 ms, bench/README.md).
    SELECT q.queue, q.outcome, q.short,
           sum(q.stays) AS stays, sum(q.waits) AS waits, sum(q.wait_sum_s) AS wait_sum_s,
           max(q.wait_max_s) AS wait_max_s, sum(q.talks) AS talks,
           sum(q.talk_sum_s) AS talk_sum_s,
           sum(q.talk_sum_s) FILTER (WHERE q.talks > 0) AS talked_sum_s,
           sum(q.transferred) AS transferred, sum(q.within_sl) AS within_sl,
           sum(q.within_sl_whole_s) AS within_sl_whole_s, sum(q.positions) AS positions,
           sum(q.position_sum) AS position_sum, sum(q.left_positions) AS left_positions,
           sum(q.left_position_sum) AS left_position_sum, min(q.sl_min_s) AS sl_min_s,
           max(q.sl_max_s) AS sl_max_s, sum(q.dumped) AS dumped,
           any_value(p.exclude_short) AS exclude_short
    FROM stay_quarters_in($start, $end, CAST($sl_s AS DOUBLE),
                          coalesce(CAST($short_abandon_s AS DOUBLE), 5)) AS q, p
    WHERE p.queues IS NULL OR list_contains(p.queues, q.queue)
    GROUP BY q.queue, q.outcome, q.short
),
per_queue AS (
    -- sum(CASE ...), not sum(...) FILTER (WHERE ...): in DuckDB 2.0 these 28 FILTERed
    -- aggregates took 6-7 ms over a few dozen rows, the CASE form under 1 ms (profiled; a
    -- day at 10M callers 5 ms faster in all, bench/README.md).
    SELECT queue,
           sum(stays) AS offered,
           sum(CASE WHEN outcome = 'answered' THEN stays END) AS answered,
           sum(CASE WHEN outcome = 'abandoned' THEN stays END) AS abandoned,
           sum(CASE WHEN outcome = 'timeout' THEN stays END) AS timeout,
           sum(CASE WHEN outcome = 'exitempty' THEN stays END) AS exitempty,
           sum(CASE WHEN outcome = 'exitwithkey' THEN stays END) AS exitwithkey,
           sum(CASE WHEN outcome = 'unknown' THEN stays END) AS unknown,
           sum(CASE WHEN short THEN stays END) AS short_abandons,
           sum(CASE WHEN short AND exclude_short THEN stays END) AS left_out,
           sum(CASE WHEN outcome = 'answered' THEN transferred END) AS transferred,
           sum(CASE WHEN outcome = 'answered' THEN within_sl END) AS answered_within_sl,
           sum(CASE WHEN outcome = 'answered' THEN within_sl_whole_s END)
               AS asterisk_completed_within_sl,
           -- Asterisk's record_abandoned() runs for ABANDON, EXITWITHTIMEOUT and EXITEMPTY.
           sum(CASE WHEN outcome IN ('abandoned', 'timeout', 'exitempty') THEN stays END)
               AS asterisk_abandoned,
           sum(CASE WHEN outcome IN ('abandoned', 'timeout', 'exitempty') THEN within_sl_whole_s END)
               AS asterisk_abandoned_within_sl,
           sum(CASE WHEN outcome = 'answered' THEN wait_sum_s END)
               / sum(CASE WHEN outcome = 'answered' THEN waits END) AS asa_s,
           max(CASE WHEN outcome = 'answered' THEN wait_max_s END) AS wait_answered_max_s,
           sum(CASE WHEN outcome <> 'answered' THEN wait_sum_s END)
               / sum(CASE WHEN outcome <> 'answered' THEN waits END) AS wait_lost_avg_s,
           max(CASE WHEN outcome <> 'answered' THEN wait_max_s END) AS wait_lost_max_s,
           sum(CASE WHEN outcome = 'abandoned' THEN wait_sum_s END)
               / sum(CASE WHEN outcome = 'abandoned' THEN waits END) AS abandon_wait_avg_s,
           sum(CASE WHEN outcome = 'abandoned' THEN left_position_sum END)
               / sum(CASE WHEN outcome = 'abandoned' THEN left_positions END)
               AS abandon_position_avg,
           sum(CASE WHEN outcome = 'abandoned' THEN position_sum END)
               / sum(CASE WHEN outcome = 'abandoned' THEN positions END)
               AS abandon_entry_position_avg,
           sum(CASE WHEN outcome = 'answered' THEN talked_sum_s END) AS talk_total_s,
           sum(CASE WHEN outcome = 'answered' THEN talk_sum_s END)
               / sum(CASE WHEN outcome = 'answered' THEN talks END) AS talk_avg_s,
           min(sl_min_s) AS sl_min_s,
           max(sl_max_s) AS sl_max_s,
           sum(dumped) AS agent_dumps
    FROM quarters
    GROUP BY queue
),
waits AS (
    -- The whole-second wait histogram of the range (stay_waits_in, storage/schema.sql).
    SELECT w.queue, w.answered, w.wait_whole_s, sum(w.stays) AS n
    FROM stay_waits_in($start, $end) AS w, p
    WHERE w.wait_whole_s IS NOT NULL AND (p.queues IS NULL OR list_contains(p.queues, w.queue))
    GROUP BY ALL
),
ranked AS (
    SELECT *,
           sum(n) OVER (PARTITION BY queue, answered ORDER BY wait_whole_s) AS upto,
           sum(n) OVER (PARTITION BY queue, answered) - 1 AS last_rank
    FROM waits
),
ranks AS (
    -- quantile_cont's rule on a histogram: the value at 0-based rank r is the smallest wait
    -- whose running count exceeds r; q interpolates between ranks floor(h) and floor(h) + 1,
    -- h = (n - 1) * q.
    SELECT queue, answered,
           min(wait_whole_s) FILTER (WHERE upto > floor(last_rank * 0.5)) AS lo50,
           min(wait_whole_s) FILTER (WHERE upto > floor(last_rank * 0.5) + 1) AS hi50,
           any_value(last_rank * 0.5 - floor(last_rank * 0.5)) AS f50,
           min(wait_whole_s) FILTER (WHERE upto > floor(last_rank * 0.9)) AS lo90,
           min(wait_whole_s) FILTER (WHERE upto > floor(last_rank * 0.9) + 1) AS hi90,
           any_value(last_rank * 0.9 - floor(last_rank * 0.9)) AS f90
    FROM ranked
    GROUP BY queue, answered
),
percentiles AS (
    SELECT queue,
           any_value(lo50 + f50 * (coalesce(hi50, lo50) - lo50)) FILTER (WHERE answered)
               AS wait_answered_p50_s,
           any_value(lo90 + f90 * (coalesce(hi90, lo90) - lo90)) FILTER (WHERE answered)
               AS wait_answered_p90_s,
           any_value(lo50 + f50 * (coalesce(hi50, lo50) - lo50)) FILTER (WHERE NOT answered)
               AS wait_lost_p50_s,
           any_value(lo90 + f90 * (coalesce(hi90, lo90) - lo90)) FILTER (WHERE NOT answered)
               AS wait_lost_p90_s
    FROM ranks
    GROUP BY queue
)
SELECT q.queue,
       whole(q.offered) AS offered, whole(q.answered) AS answered,
       whole(q.abandoned) AS abandoned, whole(q.timeout) AS timeout,
       100.0 * q.answered_within_sl / nullif(q.answered, 0) AS sl_answered_pct,
       100.0 * q.answered_within_sl / nullif(q.offered - whole(q.left_out), 0)
           AS sl_inclusive_pct,
       q.asa_s,
       100.0 * (whole(q.abandoned) - whole(q.left_out)) / nullif(q.offered - whole(q.left_out), 0)
           AS abandon_rate_pct,
       whole(q.exitempty) AS exitempty, whole(q.exitwithkey) AS exitwithkey,
       whole(q.unknown) AS unknown, whole(q.short_abandons) AS short_abandons,
       whole(q.transferred) AS transferred, whole(q.answered_within_sl) AS answered_within_sl,
       100.0 * q.asterisk_completed_within_sl / nullif(q.answered, 0) AS sl_asterisk_perf_pct,
       100.0 * (whole(q.asterisk_completed_within_sl) + whole(q.asterisk_abandoned_within_sl))
           / nullif(whole(q.answered) + whole(q.asterisk_abandoned), 0) AS sl_asterisk_perf2_pct,
       w.wait_answered_p50_s, w.wait_answered_p90_s, q.wait_answered_max_s,
       q.wait_lost_avg_s, w.wait_lost_p50_s, w.wait_lost_p90_s, q.wait_lost_max_s,
       q.abandon_wait_avg_s, q.abandon_position_avg,
       q.talk_total_s, q.talk_avg_s, q.talk_avg_s AS aht_s,
       -- NULL when the queue's stays were judged by different thresholds (one per PBX).
       CASE WHEN q.sl_min_s = q.sl_max_s THEN q.sl_min_s END AS sl_threshold_s,
       q.abandon_entry_position_avg,
       whole(q.agent_dumps) AS agent_dumps
FROM per_queue AS q
LEFT JOIN percentiles AS w USING (queue)
ORDER BY q.queue
