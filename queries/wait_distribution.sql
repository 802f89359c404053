-- title: Wait distribution
-- definition: Per queue and wait band, the stays that entered in the range: answered ones by
--   their wait before the answer, lost ones (every unanswered outcome) by their wait before
--   leaving. Bands are 0-10, 10-20, 20-30, 30-45, 45-60, 60-90, 90-120 and 120+ seconds, each
--   holding waits above its lower edge up to and including its upper edge (0-10 holds 0
--   too): a 20 s wait is in 10-20, so answered_within at a band's upper edge T is the number
--   answered with wait_s <= T, the service level rule of queue_summary. answered_within is
--   that running count and answered_within_pct its share of all answered stays of the queue.
--   Stays with an unknown wait are in no band. Every queue with stays in the range gets all
--   eight bands.
-- params: start, end (timestamps, optional: entered_at in [start, end)), queues (list of queue
--   names, optional: all)
WITH p AS (
    SELECT CAST($start AS TIMESTAMPTZ) AS t0,
           CAST($end AS TIMESTAMPTZ) AS t1,
           CAST($queues AS VARCHAR[]) AS queues
),
bands(band, from_s, to_s) AS (
    VALUES ('0-10', 0, 10), ('10-20', 10, 20), ('20-30', 20, 30), ('30-45', 30, 45),
           ('45-60', 45, 60), ('60-90', 60, 90), ('90-120', 90, 120), ('120+', 120, NULL)
),
stays AS (
    SELECT c.queue, c.wait_s, c.outcome = 'answered' AS answered
    FROM queue_calls AS c, p
    WHERE (p.t0 IS NULL OR c.entered_at >= p.t0)
      AND (p.t1 IS NULL OR c.entered_at < p.t1)
      AND (p.queues IS NULL OR list_contains(p.queues, c.queue))
),
queue_list AS (
    SELECT queue, count(*) FILTER (WHERE answered) AS answered_all
    FROM stays
    GROUP BY queue
),
counted AS (
    SELECT q.queue, b.band, b.from_s, b.to_s, q.answered_all,
           count(s.wait_s) FILTER (WHERE s.answered) AS answered,
           count(s.wait_s) FILTER (WHERE NOT s.answered) AS lost
    FROM queue_list AS q
    CROSS JOIN bands AS b
    LEFT JOIN stays AS s
        ON s.queue = q.queue
       AND (b.from_s = 0 OR s.wait_s > b.from_s)
       AND (b.to_s IS NULL OR s.wait_s <= b.to_s)
    GROUP BY q.queue, b.band, b.from_s, b.to_s, q.answered_all
),
running AS (
    SELECT *,
           CAST(sum(answered) OVER (PARTITION BY queue ORDER BY from_s) AS BIGINT)
               AS answered_within
    FROM counted
)
SELECT queue, band, from_s, to_s, answered, lost, answered_within,
       100.0 * answered_within / nullif(answered_all, 0) AS answered_within_pct
FROM running
ORDER BY queue, from_s
