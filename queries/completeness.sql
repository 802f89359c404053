-- title: Completeness per interval (reconciliation with queue_log)
-- definition: Per PBX, queue and interval of entry (bucket_start: wall-clock time in tz, cut
--   as in queue_intervals), how complete the stays are and where they come from. stays = rows
--   of calls; ami = stays the collector saw to their end (source ami, outcome known); filled =
--   stays written from Asterisk's queue_log (source queue_log: missed by the collector, or
--   replacing one it could only close as unknown); unknown = stays whose end nobody recorded
--   (outcome unknown: the collector lost the PBX and queue_log did not fill it); gap = stays in
--   progress while the collector could not see the PBX (any source); queue_log = stays that
--   queue_log holds (import or follower), the collector's included, NULL-free: 0 where no
--   queue_log was read. completeness_pct = (stays - unknown) / stays; ami_pct = ami / stays.
--   Intervals where neither the store nor queue_log has a stay are absent.
-- params: start, end (timestamps, optional: entered_at in [start, end)), queues (list of queue
--   names, optional: all), bucket (15 minutes, 30 minutes, 1 hour, 1 day, 1 week or 1 month;
--   default 1 hour), tz (IANA zone, default UTC)
WITH p AS (
    SELECT CAST($queues AS VARCHAR[]) AS queues,
           coalesce(CAST($tz AS VARCHAR), 'UTC') AS tz,
           -- One of queries.CHOICES["bucket"] (checked before the query runs), read as an
           -- INTERVAL: '1 month' stays a calendar month, '1 week' is 7 days.
           CAST(coalesce(CAST($bucket AS VARCHAR), '1 hour') AS INTERVAL) AS width
),
stored AS (
    SELECT c.pbx, c.queue, time_bucket(p.width, timezone(p.tz, c.entered_at)) AS bucket_start,
           count(*) AS stays,
           count(*) FILTER (WHERE c.source = 'ami' AND c.outcome <> 'unknown') AS ami,
           count(*) FILTER (WHERE c.source = 'queue_log') AS filled,
           count(*) FILTER (WHERE c.outcome = 'unknown') AS unknown,
           count(*) FILTER (WHERE c.gap) AS gap
    FROM queue_calls AS c, p
    WHERE ($start IS NULL OR c.entered_at >= CAST($start AS TIMESTAMPTZ))
      AND ($end IS NULL OR c.entered_at < CAST($end AS TIMESTAMPTZ))
      AND (p.queues IS NULL OR list_contains(p.queues, c.queue))
    GROUP BY ALL
),
logged AS (
    SELECT s.pbx, s.queue, time_bucket(p.width, timezone(p.tz, s.entered_at)) AS bucket_start,
           count(*) AS queue_log
    FROM queue_log_stays AS s, p
    WHERE ($start IS NULL OR s.entered_at >= CAST($start AS TIMESTAMPTZ))
      AND ($end IS NULL OR s.entered_at < CAST($end AS TIMESTAMPTZ))
      AND (p.queues IS NULL OR list_contains(p.queues, s.queue))
    GROUP BY ALL
)
SELECT coalesce(s.pbx, l.pbx) AS pbx, coalesce(s.queue, l.queue) AS queue,
       coalesce(s.bucket_start, l.bucket_start) AS bucket_start,
       coalesce(s.stays, 0) AS stays, coalesce(s.ami, 0) AS ami,
       coalesce(s.filled, 0) AS filled, coalesce(s.unknown, 0) AS unknown,
       coalesce(s.gap, 0) AS gap, coalesce(l.queue_log, 0) AS queue_log,
       100.0 * (s.stays - s.unknown) / nullif(s.stays, 0) AS completeness_pct,
       100.0 * s.ami / nullif(s.stays, 0) AS ami_pct
FROM stored AS s
FULL OUTER JOIN logged AS l
    ON l.pbx = s.pbx AND l.queue = s.queue AND l.bucket_start = s.bucket_start
ORDER BY pbx, queue, bucket_start
