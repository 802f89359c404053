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
    SELECT CAST($start AS TIMESTAMPTZ) AS t0,
           CAST($end AS TIMESTAMPTZ) AS t1,
           CAST($queues AS VARCHAR[]) AS queues,
           coalesce(CAST($short_abandon_s AS DOUBLE), 5) AS short_s
),
reasons(reason, rank) AS (
    VALUES ('abandoned', 1), ('short_abandon', 2), ('timeout', 3), ('exitempty', 4),
           ('exitwithkey', 5), ('unknown', 6)
),
stays AS (
    SELECT c.queue, c.wait_s,
           CASE WHEN c.outcome = 'abandoned' AND coalesce(c.wait_s < p.short_s, false)
                THEN 'short_abandon' ELSE c.outcome END AS reason
    FROM queue_calls AS c, p
    WHERE (p.t0 IS NULL OR c.entered_at >= p.t0)
      AND (p.t1 IS NULL OR c.entered_at < p.t1)
      AND (p.queues IS NULL OR list_contains(p.queues, c.queue))
),
per_queue AS (
    SELECT queue, count(*) AS offered, count(*) FILTER (WHERE reason <> 'answered') AS unanswered
    FROM stays
    GROUP BY queue
)
SELECT q.queue, r.reason,
       count(s.reason) AS calls,
       avg(s.wait_s) AS wait_avg_s,
       100.0 * count(s.reason) / nullif(q.unanswered, 0) AS unanswered_pct,
       100.0 * count(s.reason) / nullif(q.offered, 0) AS offered_pct
FROM per_queue AS q
CROSS JOIN reasons AS r
LEFT JOIN stays AS s ON s.queue = q.queue AND s.reason = r.reason
GROUP BY q.queue, r.reason, r.rank, q.unanswered, q.offered
ORDER BY q.queue, r.rank
