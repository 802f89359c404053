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
--   several stays, kept apart in caller_stays, put right one by one: a caller whose stays
--   all entered in the range from the figures the writer stored for it (all queues chosen),
--   any other from its stays in the range and queues (caller_figures, the same definition).
--   The writer files a stay there when its caller has another within a day: a caller's stays
--   are one call, minutes apart; two stays of one linkedid days apart would count as two
--   callers.)
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
    -- Summed per outcome and shortness first, so that the conditional sums pick from a dozen
    -- rows (each is evaluated over every row it is given; CASE, not FILTER: see queue_summary).
    SELECT sum(stays) AS offered,
           sum(CASE WHEN outcome = 'answered' THEN stays END) AS answered,
           sum(CASE WHEN outcome = 'abandoned' THEN stays END) AS abandoned,
           sum(CASE WHEN outcome = 'timeout' THEN stays END) AS timeout,
           sum(CASE WHEN outcome = 'exitempty' THEN stays END) AS exitempty,
           sum(CASE WHEN outcome = 'exitwithkey' THEN stays END) AS exitwithkey,
           sum(CASE WHEN outcome = 'unknown' THEN stays END) AS unknown,
           sum(CASE WHEN short THEN stays END) AS short_abandons,
           sum(CASE WHEN outcome = 'answered' THEN within_sl END) AS answered_within_sl,
           sum(CASE WHEN outcome = 'answered' THEN wait_sum_s END) AS answered_wait_sum_s,
           sum(CASE WHEN outcome = 'answered' THEN waits END) AS answered_waits,
           sum(CASE WHEN outcome = 'answered' THEN talked_sum_s END) AS talk_total_s,
           sum(CASE WHEN outcome = 'answered' THEN talks END) AS talks
    FROM (
        SELECT q.outcome, q.short, sum(q.stays) AS stays, sum(q.within_sl) AS within_sl,
               sum(q.wait_sum_s) AS wait_sum_s, sum(q.waits) AS waits,
               sum(CASE WHEN q.talks > 0 THEN q.talk_sum_s END) AS talked_sum_s,
               sum(q.talks) AS talks
        FROM stay_quarters_in($start, $end, CAST($sl_s AS DOUBLE),
                              coalesce(CAST($short_abandon_s AS DOUBLE), 5)) AS q, p
        WHERE p.queues IS NULL OR list_contains(p.queues, q.queue)
        GROUP BY q.outcome, q.short
    )
),
several AS (
    -- The range's stays of the callers with several stays in it (caller_stays,
    -- storage/schema.sql), each with its caller's figures: as stored for a caller whose every
    -- stay is in the range (all queues chosen), else computed for its stays in the range and
    -- the chosen queues (caller_figures: the same definition the stored ones come from).
    SELECT c.pbx, c.queue, c.entered_at, c.outcome, c.wait_s, c.is_first, c.answered_at,
           c.last_outcome, c.caller_wait_s
    FROM caller_stays AS c
    WHERE CAST($queues AS VARCHAR[]) IS NULL
      AND c.entered_at >= range_lo($start) AND c.entered_at < range_hi($end)
      AND c.first_at >= range_lo($start) AND c.last_at < range_hi($end)
    UNION ALL
    SELECT f.pbx, f.queue, f.entered_at, f.outcome, f.wait_s, f.is_first, f.answered_at,
           f.last_outcome, f.caller_wait_s
    FROM caller_figures(range_lo($start), range_hi($end), CAST($queues AS VARCHAR[]),
                        CAST($queues AS VARCHAR[]) IS NULL) AS f
),
judged AS (
    SELECT s.*,
           s.answered_at IS NOT NULL AS answered,
           -- The stay's queue's threshold unless sl_s is given; a caller is judged by the
           -- threshold of the queue it entered first (its is_first stay's).
           coalesce(CAST($sl_s AS DOUBLE), t.sl_threshold_s, g.sl_threshold_s, 20) AS sl_s
    FROM several AS s
    LEFT JOIN queue_thresholds AS t ON t.pbx = s.pbx AND t.queue = s.queue
    LEFT JOIN queue_thresholds AS g ON g.pbx IS NULL AND g.queue = s.queue
),
swapped AS (
    -- Those callers counted as callers (one row each: its first stay), and their stays as
    -- per_stay counted them (each stay a caller), in one pass.
    SELECT count(CASE WHEN is_first THEN 1 END) AS c_offered,
           count(CASE WHEN is_first AND answered THEN 1 END) AS c_answered,
           count(CASE WHEN is_first AND NOT answered AND last_outcome = 'abandoned' THEN 1 END)
               AS c_abandoned,
           count(CASE WHEN is_first AND NOT answered AND last_outcome = 'timeout' THEN 1 END)
               AS c_timeout,
           count(CASE WHEN is_first AND NOT answered AND last_outcome = 'exitempty' THEN 1 END)
               AS c_exitempty,
           count(CASE WHEN is_first AND NOT answered AND last_outcome = 'exitwithkey' THEN 1 END)
               AS c_exitwithkey,
           count(CASE WHEN is_first AND NOT answered AND last_outcome = 'unknown' THEN 1 END)
               AS c_unknown,
           count(CASE WHEN is_first AND NOT answered AND last_outcome = 'abandoned'
                            AND caller_wait_s < p.short_s THEN 1 END) AS c_short_abandons,
           count(CASE WHEN is_first AND answered AND caller_wait_s <= sl_s THEN 1 END)
               AS c_answered_within_sl,
           coalesce(sum(CASE WHEN is_first AND answered THEN caller_wait_s END), 0)
               AS c_answered_wait_sum_s,
           count(CASE WHEN is_first AND answered THEN caller_wait_s END) AS c_answered_waits,
           count(*) AS s_offered,
           count(CASE WHEN outcome = 'answered' THEN 1 END) AS s_answered,
           count(CASE WHEN outcome = 'abandoned' THEN 1 END) AS s_abandoned,
           count(CASE WHEN outcome = 'timeout' THEN 1 END) AS s_timeout,
           count(CASE WHEN outcome = 'exitempty' THEN 1 END) AS s_exitempty,
           count(CASE WHEN outcome = 'exitwithkey' THEN 1 END) AS s_exitwithkey,
           count(CASE WHEN outcome = 'unknown' THEN 1 END) AS s_unknown,
           count(CASE WHEN outcome = 'abandoned' AND wait_s < p.short_s THEN 1 END)
               AS s_short_abandons,
           count(CASE WHEN outcome = 'answered' AND wait_s <= sl_s THEN 1 END)
               AS s_answered_within_sl,
           coalesce(sum(CASE WHEN outcome = 'answered' THEN wait_s END), 0)
               AS s_answered_wait_sum_s,
           count(CASE WHEN outcome = 'answered' THEN wait_s END) AS s_answered_waits
    FROM judged, p
),
counted AS (
    -- per_stay, with the several-stay callers' stays swapped for the callers.
    SELECT whole(s.offered) - m.s_offered + m.c_offered AS offered,
           whole(s.answered) - m.s_answered + m.c_answered AS answered,
           whole(s.abandoned) - m.s_abandoned + m.c_abandoned AS abandoned,
           whole(s.timeout) - m.s_timeout + m.c_timeout AS timeout,
           whole(s.exitempty) - m.s_exitempty + m.c_exitempty AS exitempty,
           whole(s.exitwithkey) - m.s_exitwithkey + m.c_exitwithkey AS exitwithkey,
           whole(s.unknown) - m.s_unknown + m.c_unknown AS unknown,
           whole(s.short_abandons) - m.s_short_abandons + m.c_short_abandons
               AS short_abandons,
           whole(s.answered_within_sl) - m.s_answered_within_sl + m.c_answered_within_sl
               AS answered_within_sl,
           (coalesce(s.answered_wait_sum_s, 0) - m.s_answered_wait_sum_s
            + m.c_answered_wait_sum_s)
               / nullif(whole(s.answered_waits) - m.s_answered_waits + m.c_answered_waits, 0)
               AS asa_s,
           whole(s.offered) AS stays,
           m.c_offered AS multi_stay_callers,
           s.talk_total_s,
           s.talk_total_s / nullif(s.talks, 0) AS aht_s,
           p.exclude_short
    FROM per_stay AS s, swapped AS m, p
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
