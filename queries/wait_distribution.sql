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
    SELECT CAST($queues AS VARCHAR[]) AS queues
),
bands(band, from_s, to_s) AS (
    VALUES ('0-10', 0, 10), ('10-20', 10, 20), ('20-30', 20, 30), ('30-45', 30, 45),
           ('45-60', 45, 60), ('60-90', 60, 90), ('90-120', 90, 120), ('120+', 120, NULL)
),
per_band AS (
    -- The whole-second wait histogram (stay_waits_in, storage/schema.sql) folded into bands:
    -- for whole-second edges a < wait_s <= b exactly when a < ceil(wait_s) <= b. It holds
    -- every stay, those of unknown wait under a NULL wait and band.
    SELECT w.queue,
           CASE WHEN w.wait_whole_s <= 10 THEN 0 WHEN w.wait_whole_s <= 20 THEN 10
                WHEN w.wait_whole_s <= 30 THEN 20 WHEN w.wait_whole_s <= 45 THEN 30
                WHEN w.wait_whole_s <= 60 THEN 45 WHEN w.wait_whole_s <= 90 THEN 60
                WHEN w.wait_whole_s <= 120 THEN 90 WHEN w.wait_whole_s > 120 THEN 120
           END AS from_s,
           sum(w.stays) FILTER (WHERE w.answered) AS answered,
           sum(w.stays) FILTER (WHERE NOT w.answered) AS lost
    FROM stay_waits_in($start, $end) AS w, p
    WHERE p.queues IS NULL OR list_contains(p.queues, w.queue)
    GROUP BY ALL
),
queue_list AS (
    -- Every queue with stays in the range, and its answered stays (an unknown wait too).
    SELECT queue, whole(sum(answered)) AS answered_all FROM per_band GROUP BY queue
),
counted AS (
    SELECT q.queue, b.band, b.from_s, b.to_s, q.answered_all,
           whole(n.answered) AS answered,
           whole(n.lost) AS lost
    FROM queue_list AS q
    CROSS JOIN bands AS b
    LEFT JOIN per_band AS n ON n.queue = q.queue AND n.from_s = b.from_s
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
