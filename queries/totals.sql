-- title: Totals across queues
-- definition: One row over the stays that entered in the range in the chosen queues, counting
--   each caller once: stays of one PBX with the same linkedid (else call_id) are one caller,
--   as a caller transferred from one queue into another keeps it. offered = callers; stays =
--   stays; multi_stay_callers = callers with more than one stay (in one queue or several). A
--   caller is answered when any stay was; an unanswered caller counts under the outcome of
--   its last stay. The caller's wait is the sum of wait_s of its stays up to its first answer
--   (all of them when never answered): time spent in queues, not the time between them. Then,
--   as in queue_summary: answered within the service level when that wait <= sl_s, the
--   threshold of the queue the caller entered first (unless sl_s is given);
--   sl_answered_pct over answered, sl_inclusive_pct over offered; asa_s = mean wait of
--   answered callers; abandon_rate_pct = abandoned / offered; a short abandon is an abandoned
--   caller with wait < short_abandon_s, which exclude_short removes from abandon_rate_pct and
--   the denominator of sl_inclusive_pct. talk_total_s and aht_s (= talk_avg_s until wrap-up
--   is recorded) are per answered stay, as in queue_summary: a transferred caller talks in
--   each queue; both NULL without an answered stay. With no stays the row holds zeros and
--   NULL rates.
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
    SELECT c.pbx, coalesce(c.linkedid, c.call_id) AS caller, c.entered_at, c.ended_at,
           c.outcome, c.wait_s, c.talk_s,
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
by_caller AS (
    SELECT pbx, caller,
           count(*) AS stays,
           min(entered_at) FILTER (WHERE outcome = 'answered') AS first_answer_at,
           arg_max(outcome, (entered_at, ended_at)) AS last_outcome,
           sum(wait_s) AS wait_all_s,
           -- A caller is judged by the threshold of the queue it entered first.
           arg_min(sl_s, (entered_at, ended_at)) AS sl_s
    FROM stays
    GROUP BY pbx, caller
),
until_answer AS (
    -- Only a caller with several stays and an answer counts part of its waits: those up to
    -- its first answer. Joining these few callers back costs less than a window partitioned
    -- by caller over every stay.
    SELECT b.pbx, b.caller, sum(s.wait_s) AS wait_s
    FROM by_caller AS b
    JOIN stays AS s ON s.pbx = b.pbx AND s.caller = b.caller
    WHERE b.stays > 1 AND s.entered_at <= b.first_answer_at
    GROUP BY b.pbx, b.caller
),
callers AS (
    SELECT b.pbx, b.caller, b.stays,
           b.first_answer_at IS NOT NULL AS answered,
           b.last_outcome, b.sl_s,
           CASE WHEN b.stays > 1 AND b.first_answer_at IS NOT NULL THEN u.wait_s
                ELSE b.wait_all_s END AS wait_s
    FROM by_caller AS b
    LEFT JOIN until_answer AS u ON u.pbx = b.pbx AND u.caller = b.caller
),
talk AS (
    SELECT sum(talk_s) FILTER (WHERE outcome = 'answered') AS talk_total_s,
           avg(talk_s) FILTER (WHERE outcome = 'answered') AS aht_s
    FROM stays
),
flagged AS (
    SELECT c.*, p.exclude_short,
           c.answered AND coalesce(c.wait_s <= c.sl_s, false) AS within_sl,
           NOT c.answered AND c.last_outcome = 'abandoned'
               AND coalesce(c.wait_s < p.short_s, false) AS short
    FROM callers AS c, p
),
counted AS (
    SELECT count(*) AS offered,
           count(*) FILTER (WHERE answered) AS answered,
           count(*) FILTER (WHERE NOT answered AND last_outcome = 'abandoned') AS abandoned,
           count(*) FILTER (WHERE NOT answered AND last_outcome = 'timeout') AS timeout,
           count(*) FILTER (WHERE NOT answered AND last_outcome = 'exitempty') AS exitempty,
           count(*) FILTER (WHERE NOT answered AND last_outcome = 'exitwithkey') AS exitwithkey,
           count(*) FILTER (WHERE NOT answered AND last_outcome = 'unknown') AS unknown,
           count(*) FILTER (WHERE short) AS short_abandons,
           count(*) FILTER (WHERE short AND exclude_short) AS left_out,
           count(*) FILTER (WHERE within_sl) AS answered_within_sl,
           avg(wait_s) FILTER (WHERE answered) AS asa_s,
           coalesce(sum(stays), 0) AS stays,
           count(*) FILTER (WHERE stays > 1) AS multi_stay_callers
    FROM flagged
)
SELECT offered, answered, abandoned, timeout,
       100.0 * answered_within_sl / nullif(answered, 0) AS sl_answered_pct,
       100.0 * answered_within_sl / nullif(offered - left_out, 0) AS sl_inclusive_pct,
       asa_s,
       100.0 * (abandoned - left_out) / nullif(offered - left_out, 0) AS abandon_rate_pct,
       exitempty, exitwithkey, unknown, short_abandons, answered_within_sl, stays,
       multi_stay_callers, t.talk_total_s, t.aht_s
FROM counted, talk AS t
