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
--   exclude_short. Waits of lost stays cover every unanswered outcome; percentiles interpolate
--   linearly (numpy's default). abandon_position_avg is the mean position of abandoned stays
--   when they hung up (QueueMetrics' "position at disconnection"; stays without it, e.g. from
--   before it was recorded, are left out), abandon_entry_position_avg the one at entry. aht_s = talk_avg_s until wrap-up is recorded. A
--   rate whose denominator is 0 is NULL.
-- params: start, end (timestamps, optional: entered_at in [start, end)), queues (list of queue
--   names, optional: all), sl_s (seconds, optional: one threshold for every
--   queue; default: each queue's own, see queue_targets), short_abandon_s (seconds, default
--   5), exclude_short (boolean, default false)
WITH p AS (
    SELECT CAST($queues AS VARCHAR[]) AS queues,
           coalesce(CAST($short_abandon_s AS DOUBLE), 5) AS short_s,
           coalesce(CAST($exclude_short AS BOOLEAN), false) AS exclude_short
),
stays AS (
    SELECT c.queue, c.entered_at, c.outcome, c.wait_s, c.talk_s, c.ended_by, c.position,
           c.left_position, p.exclude_short, p.short_s,
           coalesce(CAST($sl_s AS DOUBLE), t.sl_threshold_s, g.sl_threshold_s, 20) AS sl_s
    FROM queue_calls AS c
    CROSS JOIN p
    -- The queue's own threshold (queue_thresholds, storage/schema.sql) unless sl_s is given.
    LEFT JOIN queue_thresholds AS t ON t.pbx = c.pbx AND t.queue = c.queue
    LEFT JOIN queue_thresholds AS g ON g.pbx IS NULL AND g.queue = c.queue
    -- Bounds compared with the parameters themselves (constants once bound), not with p's
    -- columns, so that DuckDB skips the row groups outside the range (zone maps).
    WHERE ($start IS NULL OR c.entered_at >= CAST($start AS TIMESTAMPTZ))
      AND ($end IS NULL OR c.entered_at < CAST($end AS TIMESTAMPTZ))
      AND (p.queues IS NULL OR list_contains(p.queues, c.queue))
),
flagged AS (
    SELECT queue, outcome, wait_s, talk_s, ended_by, position, left_position, exclude_short,
           sl_s,
           outcome = 'answered' AS answered,
           coalesce(wait_s <= sl_s, false) AS within_sl,
           -- app_queue.c compares time(NULL) - qe->start, both whole seconds, with servicelevel.
           coalesce(floor(epoch(entered_at) + wait_s) - floor(epoch(entered_at)) <= sl_s, false)
               AS within_sl_whole_s,
           coalesce(outcome = 'abandoned' AND wait_s < short_s, false) AS short
    FROM stays
),
per_queue AS (
    SELECT queue,
           count(*) AS offered,
           count(*) FILTER (WHERE answered) AS answered,
           count(*) FILTER (WHERE outcome = 'abandoned') AS abandoned,
           count(*) FILTER (WHERE outcome = 'timeout') AS timeout,
           count(*) FILTER (WHERE outcome = 'exitempty') AS exitempty,
           count(*) FILTER (WHERE outcome = 'exitwithkey') AS exitwithkey,
           count(*) FILTER (WHERE outcome = 'unknown') AS unknown,
           count(*) FILTER (WHERE short) AS short_abandons,
           count(*) FILTER (WHERE short AND exclude_short) AS left_out,
           count(*) FILTER (WHERE answered AND ended_by = 'transfer') AS transferred,
           count(*) FILTER (WHERE answered AND within_sl) AS answered_within_sl,
           count(*) FILTER (WHERE answered AND within_sl_whole_s) AS asterisk_completed_within_sl,
           -- Asterisk's record_abandoned() runs for ABANDON, EXITWITHTIMEOUT and EXITEMPTY.
           count(*) FILTER (WHERE outcome IN ('abandoned', 'timeout', 'exitempty'))
               AS asterisk_abandoned,
           count(*) FILTER (WHERE outcome IN ('abandoned', 'timeout', 'exitempty')
                            AND within_sl_whole_s)
               AS asterisk_abandoned_within_sl,
           avg(wait_s) FILTER (WHERE answered) AS asa_s,
           quantile_cont(wait_s, 0.5) FILTER (WHERE answered) AS wait_answered_p50_s,
           quantile_cont(wait_s, 0.9) FILTER (WHERE answered) AS wait_answered_p90_s,
           max(wait_s) FILTER (WHERE answered) AS wait_answered_max_s,
           avg(wait_s) FILTER (WHERE NOT answered) AS wait_lost_avg_s,
           quantile_cont(wait_s, 0.5) FILTER (WHERE NOT answered) AS wait_lost_p50_s,
           quantile_cont(wait_s, 0.9) FILTER (WHERE NOT answered) AS wait_lost_p90_s,
           max(wait_s) FILTER (WHERE NOT answered) AS wait_lost_max_s,
           avg(wait_s) FILTER (WHERE outcome = 'abandoned') AS abandon_wait_avg_s,
           avg(left_position) FILTER (WHERE outcome = 'abandoned') AS abandon_position_avg,
           avg(position) FILTER (WHERE outcome = 'abandoned') AS abandon_entry_position_avg,
           sum(talk_s) FILTER (WHERE answered) AS talk_total_s,
           avg(talk_s) FILTER (WHERE answered) AS talk_avg_s,
           min(sl_s) AS sl_min_s,
           max(sl_s) AS sl_max_s
    FROM flagged
    GROUP BY queue
)
SELECT queue, offered, answered, abandoned, timeout,
       100.0 * answered_within_sl / nullif(answered, 0) AS sl_answered_pct,
       100.0 * answered_within_sl / nullif(offered - left_out, 0) AS sl_inclusive_pct,
       asa_s,
       100.0 * (abandoned - left_out) / nullif(offered - left_out, 0) AS abandon_rate_pct,
       exitempty, exitwithkey, unknown, short_abandons, transferred, answered_within_sl,
       100.0 * asterisk_completed_within_sl / nullif(answered, 0) AS sl_asterisk_perf_pct,
       100.0 * (asterisk_completed_within_sl + asterisk_abandoned_within_sl)
           / nullif(answered + asterisk_abandoned, 0) AS sl_asterisk_perf2_pct,
       wait_answered_p50_s, wait_answered_p90_s, wait_answered_max_s,
       wait_lost_avg_s, wait_lost_p50_s, wait_lost_p90_s, wait_lost_max_s,
       abandon_wait_avg_s, abandon_position_avg,
       talk_total_s, talk_avg_s, talk_avg_s AS aht_s,
       -- NULL when the queue's stays were judged by different thresholds (one per PBX).
       CASE WHEN sl_min_s = sl_max_s THEN sl_min_s END AS sl_threshold_s,
       abandon_entry_position_avg
FROM per_queue
ORDER BY queue
