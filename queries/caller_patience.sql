-- title: Caller patience
-- definition: Per queue, how long callers are willing to wait, from the answered and abandoned
--   stays that entered in the range (other outcomes and unknown waits are left out). Each stay's
--   wait ends at second s = ceil(wait_s). One row per queue at t_s = 0 and at every second some
--   wait ended. waiting = stays still waiting after t_s seconds (wait_s > t_s), waiting_pct =
--   waiting / stays. patience_pct is the Kaplan-Meier estimate of the share of callers who
--   would still be waiting after t_s seconds had nobody answered: an abandon is a caller giving
--   up, an answer only shows the caller would have waited at least that long (censored), so
--   patience_pct = 100 x the product, over the seconds u <= t_s, of (1 - abandoned_at(u) /
--   at_risk(u)), where abandoned_at(u) = abandons with s = u and at_risk(u) = stays with s >= u.
-- params: start, end (timestamps, optional: entered_at in [start, end)), queues (list of queue
--   names, optional: all)
WITH p AS (
    SELECT CAST($queues AS VARCHAR[]) AS queues
),
ends AS (
    -- Whole-second waits from the per-day histogram (stay_waits_in, storage/schema.sql):
    -- its s is ceil(wait_s), and it counts the abandoned of the unanswered stays apart.
    SELECT w.queue, CAST(w.wait_whole_s AS BIGINT) AS s,
           CASE WHEN w.answered THEN w.stays ELSE w.abandoned END AS ended,
           CASE WHEN w.answered THEN 0 ELSE w.abandoned END AS gave_up
    FROM stay_waits_in($start, $end) AS w, p
    WHERE w.wait_whole_s IS NOT NULL AND (p.queues IS NULL OR list_contains(p.queues, w.queue))
),
per_second AS (
    -- Seconds at which waits ended, and second 0 for every queue (the curve's start).
    SELECT queue, s AS t_s, sum(ended) AS ended, sum(gave_up) AS abandoned_at
    FROM ends
    GROUP BY queue, s
    HAVING sum(ended) > 0
    UNION ALL
    SELECT DISTINCT queue, 0, 0, 0 FROM ends WHERE ended > 0
),
steps AS (
    SELECT queue, t_s, sum(ended) AS ended, sum(abandoned_at) AS abandoned_at
    FROM per_second
    GROUP BY queue, t_s
),
counted AS (
    SELECT queue, t_s, ended, abandoned_at,
           sum(ended) OVER (PARTITION BY queue) AS stays,
           -- Stays whose wait ends at t_s or later: still waiting just before t_s.
           sum(ended) OVER (PARTITION BY queue ORDER BY t_s DESC) AS at_risk
    FROM steps
)
SELECT queue,
       t_s,
       CAST(stays AS BIGINT) AS stays,
       CAST(at_risk - ended AS BIGINT) AS waiting,
       100.0 * (at_risk - ended) / stays AS waiting_pct,
       CAST(at_risk AS BIGINT) AS at_risk,
       CAST(abandoned_at AS BIGINT) AS abandoned_at,
       -- The running product as exp(sum(ln)); a factor of 0 (everyone at risk gave up) ends
       -- the curve at 0, which ln cannot carry.
       CASE WHEN bool_or(abandoned_at = at_risk) OVER running THEN 0.0
            ELSE 100.0 * exp(sum(ln(1 - abandoned_at / at_risk)) OVER running) END AS patience_pct
FROM counted
WINDOW running AS (PARTITION BY queue ORDER BY t_s ROWS UNBOUNDED PRECEDING)
ORDER BY queue, t_s
