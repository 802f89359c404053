-- title: Unanswered calls by reason
-- definition: Per queue, the unanswered stays that entered in the range, by how they ended:
--   abandoned (the caller hung up after waiting at least short_abandon_s), short_abandon (the
--   caller hung up with wait_s < short_abandon_s), timeout (the queue's timeout), exitempty
--   (no usable member), exitwithkey (the caller pressed a key) and unknown (ended while
--   Callboard could not see the PBX). calls counts them, wait_avg_s is their mean wait before
--   leaving, unanswered_pct their share of the queue's unanswered stays and offered_pct
--   their share of all its stays (NULL when that total is 0). Every queue with stays in the
--   range gets all six reasons, in that order; the six add up to the queue's unanswered
--   stays.
-- params: start, end (timestamps, optional: entered_at in [start, end)), queues (list of queue
--   names, optional: all), short_abandon_s (seconds, default 5)
WITH p AS (
    SELECT CAST($queues AS VARCHAR[]) AS queues
),
reasons(reason, rank) AS (
    VALUES ('abandoned', 1), ('short_abandon', 2), ('timeout', 3), ('exitempty', 4),
           ('exitwithkey', 5), ('unknown', 6)
),
quarters AS (
    -- The range's stays summed per UTC quarter-hour (stay_outcomes_in, storage/schema.sql).
    SELECT q.queue, q.stays, q.waits, q.wait_sum_s,
           CASE WHEN q.short THEN 'short_abandon' ELSE q.outcome END AS reason
    FROM stay_outcomes_in($start, $end, coalesce(CAST($short_abandon_s AS DOUBLE), 5)) AS q, p
    WHERE p.queues IS NULL OR list_contains(p.queues, q.queue)
),
counted AS (
    -- Stays are counted per queue and reason first; the reasons grid then joins a few rows.
    SELECT queue, reason, whole(sum(stays)) AS calls, sum(wait_sum_s) / sum(waits) AS wait_avg_s
    FROM quarters
    GROUP BY queue, reason
),
per_queue AS (
    SELECT queue,
           CAST(sum(calls) AS BIGINT) AS offered,
           CAST(coalesce(sum(calls) FILTER (WHERE reason <> 'answered'), 0) AS BIGINT)
               AS unanswered
    FROM counted
    GROUP BY queue
)
SELECT q.queue, r.reason,
       coalesce(c.calls, 0) AS calls,
       c.wait_avg_s,
       100.0 * coalesce(c.calls, 0) / nullif(q.unanswered, 0) AS unanswered_pct,
       100.0 * coalesce(c.calls, 0) / nullif(q.offered, 0) AS offered_pct
FROM per_queue AS q
CROSS JOIN reasons AS r
LEFT JOIN counted AS c ON c.queue = q.queue AND c.reason = r.reason
ORDER BY q.queue, r.rank
