-- title: Totals across queues
-- definition: One row over the stays that entered in the range in the chosen queues, counting
--   each caller once: stays of one PBX with the same linkedid (else call_id) are one caller,
--   as a caller transferred from one queue into another keeps it. offered = callers; stays =
--   stays; multi_stay_callers = callers with more than one stay (in one queue or several). A
--   caller is answered when any stay was; an unanswered caller counts under the outcome of
--   its last stay. The caller's wait is the sum of wait_s of its stays up to its first answer
--   (all of them when never answered): time spent in queues, not the time between them. Then,
--   as in queue_summary: answered within the service level when that wait <= sl_s;
--   sl_answered_pct over answered, sl_inclusive_pct over offered; asa_s = mean wait of
--   answered callers; abandon_rate_pct = abandoned / offered; a short abandon is an abandoned
--   caller with wait < short_abandon_s, which exclude_short removes from abandon_rate_pct and
--   the denominator of sl_inclusive_pct. With no stays the row holds zeros and NULL rates.
-- params: start, end (timestamps, optional: entered_at in [start, end)), queues (list of queue
--   names, optional: all), sl_s (seconds, default 20), short_abandon_s (seconds, default 5),
--   exclude_short (boolean, default false)
WITH p AS (
    SELECT CAST($start AS TIMESTAMPTZ) AS t0,
           CAST($end AS TIMESTAMPTZ) AS t1,
           CAST($queues AS VARCHAR[]) AS queues,
           coalesce(CAST($sl_s AS DOUBLE), 20) AS sl_s,
           coalesce(CAST($short_abandon_s AS DOUBLE), 5) AS short_s,
           coalesce(CAST($exclude_short AS BOOLEAN), false) AS exclude_short
),
stays AS (
    SELECT c.pbx, coalesce(c.linkedid, c.call_id) AS caller, c.entered_at, c.ended_at,
           c.outcome, c.wait_s,
           min(c.entered_at) FILTER (WHERE c.outcome = 'answered')
               OVER (PARTITION BY c.pbx, coalesce(c.linkedid, c.call_id)) AS first_answer_at
    FROM queue_calls AS c, p
    WHERE (p.t0 IS NULL OR c.entered_at >= p.t0)
      AND (p.t1 IS NULL OR c.entered_at < p.t1)
      AND (p.queues IS NULL OR list_contains(p.queues, c.queue))
),
callers AS (
    SELECT pbx, caller,
           count(*) AS stays,
           any_value(first_answer_at) IS NOT NULL AS answered,
           arg_max(outcome, (entered_at, ended_at)) AS last_outcome,
           sum(wait_s) FILTER (WHERE first_answer_at IS NULL OR entered_at <= first_answer_at)
               AS wait_s
    FROM stays
    GROUP BY pbx, caller
),
flagged AS (
    SELECT c.*, p.exclude_short,
           c.answered AND coalesce(c.wait_s <= p.sl_s, false) AS within_sl,
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
       multi_stay_callers
FROM counted
