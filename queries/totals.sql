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
--   NULL rates. (Read as: every stay as a caller from the rollups, then the callers with
--   several stays, kept apart in caller_stays, put right one by one. The writer files a stay
--   there when its caller has another within a day: a caller's stays are one call, minutes
--   apart; two stays of one linkedid days apart would count as two callers.)
-- params: start, end (timestamps, optional: entered_at in [start, end)), queues (list of queue
--   names, optional: all), sl_s (seconds, optional: one threshold for every
--   queue; default: each queue's own, see queue_targets), short_abandon_s (seconds, default
--   5), exclude_short (boolean, default false)
WITH p AS (
    SELECT CAST($queues AS VARCHAR[]) AS queues,
           coalesce(CAST($short_abandon_s AS DOUBLE), 5) AS short_s,
           coalesce(CAST($exclude_short AS BOOLEAN), false) AS exclude_short
),
-- Every caller counted as if each of its stays were a caller: the stay-level sums of the
-- range, from the rollups (stay_quarters_in, storage/schema.sql). Right for every caller with
-- one stay; the callers with several are then taken out and counted as callers (below).
per_stay AS (
    SELECT sum(q.stays) AS offered,
           sum(q.stays) FILTER (WHERE q.outcome = 'answered') AS answered,
           sum(q.stays) FILTER (WHERE q.outcome = 'abandoned') AS abandoned,
           sum(q.stays) FILTER (WHERE q.outcome = 'timeout') AS timeout,
           sum(q.stays) FILTER (WHERE q.outcome = 'exitempty') AS exitempty,
           sum(q.stays) FILTER (WHERE q.outcome = 'exitwithkey') AS exitwithkey,
           sum(q.stays) FILTER (WHERE q.outcome = 'unknown') AS unknown,
           sum(q.stays) FILTER (WHERE q.short) AS short_abandons,
           sum(q.within_sl) FILTER (WHERE q.outcome = 'answered') AS answered_within_sl,
           sum(q.wait_sum_s) FILTER (WHERE q.outcome = 'answered') AS answered_wait_sum_s,
           sum(q.waits) FILTER (WHERE q.outcome = 'answered') AS answered_waits,
           sum(q.talk_sum_s) FILTER (WHERE q.outcome = 'answered' AND q.talks > 0)
               AS talk_total_s,
           sum(q.talks) FILTER (WHERE q.outcome = 'answered') AS talks
    FROM stay_quarters_in($start, $end, CAST($sl_s AS DOUBLE),
                          coalesce(CAST($short_abandon_s AS DOUBLE), 5)) AS q, p
    WHERE p.queues IS NULL OR list_contains(p.queues, q.queue)
),
stays AS (
    -- The range's stays of callers with several stays (caller_stays, storage/schema.sql).
    SELECT c.pbx, c.caller, c.entered_at, c.ended_at, c.outcome, c.wait_s,
           coalesce(CAST($sl_s AS DOUBLE), t.sl_threshold_s, g.sl_threshold_s, 20) AS sl_s
    FROM caller_stays AS c
    CROSS JOIN p
    -- The queue's own threshold (queue_thresholds, storage/schema.sql) unless sl_s is given.
    LEFT JOIN queue_thresholds AS t ON t.pbx = c.pbx AND t.queue = c.queue
    LEFT JOIN queue_thresholds AS g ON g.pbx IS NULL AND g.queue = c.queue
    WHERE c.entered_at >= range_lo($start) AND c.entered_at < range_hi($end)
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
    -- its first answer.
    SELECT b.pbx, b.caller, sum(s.wait_s) AS wait_s
    FROM by_caller AS b
    JOIN stays AS s ON s.pbx = b.pbx AND s.caller = b.caller
    WHERE b.stays > 1 AND s.entered_at <= b.first_answer_at
    GROUP BY b.pbx, b.caller
),
callers AS (
    -- The callers with several stays in the range (one stay in it: per_stay has it right).
    SELECT b.pbx, b.caller, b.last_outcome, b.sl_s,
           b.first_answer_at IS NOT NULL AS answered,
           CASE WHEN b.first_answer_at IS NOT NULL THEN u.wait_s ELSE b.wait_all_s END
               AS wait_s
    FROM by_caller AS b
    LEFT JOIN until_answer AS u ON u.pbx = b.pbx AND u.caller = b.caller
    WHERE b.stays > 1
),
as_callers AS (
    -- Those callers counted as callers.
    SELECT count(*) AS offered,
           count(*) FILTER (WHERE answered) AS answered,
           count(*) FILTER (WHERE NOT answered AND last_outcome = 'abandoned') AS abandoned,
           count(*) FILTER (WHERE NOT answered AND last_outcome = 'timeout') AS timeout,
           count(*) FILTER (WHERE NOT answered AND last_outcome = 'exitempty') AS exitempty,
           count(*) FILTER (WHERE NOT answered AND last_outcome = 'exitwithkey') AS exitwithkey,
           count(*) FILTER (WHERE NOT answered AND last_outcome = 'unknown') AS unknown,
           count(*) FILTER (WHERE NOT answered AND last_outcome = 'abandoned'
                            AND wait_s < p.short_s) AS short_abandons,
           count(*) FILTER (WHERE answered AND wait_s <= sl_s) AS answered_within_sl,
           coalesce(sum(wait_s) FILTER (WHERE answered), 0) AS answered_wait_sum_s,
           count(wait_s) FILTER (WHERE answered) AS answered_waits
    FROM callers, p
),
as_stays AS (
    -- The same callers' stays as per_stay counted them: each stay a caller.
    SELECT count(*) AS offered,
           count(*) FILTER (WHERE s.outcome = 'answered') AS answered,
           count(*) FILTER (WHERE s.outcome = 'abandoned') AS abandoned,
           count(*) FILTER (WHERE s.outcome = 'timeout') AS timeout,
           count(*) FILTER (WHERE s.outcome = 'exitempty') AS exitempty,
           count(*) FILTER (WHERE s.outcome = 'exitwithkey') AS exitwithkey,
           count(*) FILTER (WHERE s.outcome = 'unknown') AS unknown,
           count(*) FILTER (WHERE s.outcome = 'abandoned' AND s.wait_s < p.short_s)
               AS short_abandons,
           count(*) FILTER (WHERE s.outcome = 'answered' AND s.wait_s <= s.sl_s)
               AS answered_within_sl,
           coalesce(sum(s.wait_s) FILTER (WHERE s.outcome = 'answered'), 0)
               AS answered_wait_sum_s,
           count(s.wait_s) FILTER (WHERE s.outcome = 'answered') AS answered_waits
    FROM stays AS s
    CROSS JOIN p
    SEMI JOIN callers AS c ON c.pbx = s.pbx AND c.caller = s.caller
),
counted AS (
    -- per_stay, with the several-stay callers' stays swapped for the callers.
    SELECT whole(s.offered) - m.offered + c.offered AS offered,
           whole(s.answered) - m.answered + c.answered AS answered,
           whole(s.abandoned) - m.abandoned + c.abandoned AS abandoned,
           whole(s.timeout) - m.timeout + c.timeout AS timeout,
           whole(s.exitempty) - m.exitempty + c.exitempty AS exitempty,
           whole(s.exitwithkey) - m.exitwithkey + c.exitwithkey AS exitwithkey,
           whole(s.unknown) - m.unknown + c.unknown AS unknown,
           whole(s.short_abandons) - m.short_abandons + c.short_abandons AS short_abandons,
           whole(s.answered_within_sl) - m.answered_within_sl + c.answered_within_sl
               AS answered_within_sl,
           (coalesce(s.answered_wait_sum_s, 0) - m.answered_wait_sum_s + c.answered_wait_sum_s)
               / nullif(whole(s.answered_waits) - m.answered_waits + c.answered_waits, 0)
               AS asa_s,
           whole(s.offered) AS stays,
           c.offered AS multi_stay_callers,
           s.talk_total_s,
           s.talk_total_s / nullif(s.talks, 0) AS aht_s,
           p.exclude_short
    FROM per_stay AS s, as_stays AS m, as_callers AS c, p
),
left_out AS (
    -- exclude_short leaves out the short abandons, whichever way they were counted.
    SELECT *, CASE WHEN exclude_short THEN short_abandons ELSE 0 END AS left_out
    FROM counted
)
SELECT offered, answered, abandoned, timeout,
       100.0 * answered_within_sl / nullif(answered, 0) AS sl_answered_pct,
       100.0 * answered_within_sl / nullif(offered - left_out, 0) AS sl_inclusive_pct,
       asa_s,
       100.0 * (abandoned - left_out) / nullif(offered - left_out, 0) AS abandon_rate_pct,
       exitempty, exitwithkey, unknown, short_abandons, answered_within_sl, stays,
       multi_stay_callers, talk_total_s, aht_s
FROM left_out
