-- title: Queue targets
-- definition: The service-level threshold and target each queue is judged by, with where each
--   comes from: one row per PBX and queue that has [[queue]] settings or a QueueParams row
--   (from QueueStatus, at every login and poll), plus one row with pbx NULL per [[queue]]
--   without pbx (the fallback for that queue name on every PBX). sl_threshold_s: [[queue]]
--   sl_threshold_s for this PBX, else for every PBX (source 'settings'), else the queue's
--   newest non-zero servicelevel (source 'asterisk'), else 20 s ('default'). sl_target_pct:
--   [[queue]] sl_target_pct ('settings'), else 80 % ('default'). servicelevel_s, sl_perf_pct,
--   sl_perf2_pct, params_at: the newest QueueParams (NULL without one). The KPI queries apply
--   the same rule (table queue_thresholds, kept by the store from the view
--   queue_thresholds_rule in storage/schema.sql).
-- params: queues (list of queue names, optional: all)
WITH p AS (
    SELECT CAST($queues AS VARCHAR[]) AS queues
),
newest AS (
    SELECT pbx, queue, max(seen_at) AS params_at,
           arg_max(servicelevel, seen_at) AS servicelevel_s,
           arg_max(sl_perf, seen_at) AS sl_perf_pct,
           arg_max(sl_perf2, seen_at) AS sl_perf2_pct
    FROM queue_params
    GROUP BY pbx, queue
)
SELECT t.pbx, t.queue, t.sl_threshold_s, t.sl_threshold_source, t.sl_target_pct,
       t.sl_target_source, n.servicelevel_s, n.sl_perf_pct, n.sl_perf2_pct, n.params_at
FROM queue_thresholds AS t
CROSS JOIN p
LEFT JOIN newest AS n ON n.pbx = t.pbx AND n.queue = t.queue
WHERE p.queues IS NULL OR list_contains(p.queues, t.queue)
ORDER BY t.queue, t.pbx NULLS FIRST
