-- title: Agents staffed per interval
-- definition: Per queue (by name, across PBXs) and interval, the agents actually there, from
--   the member_states changelog read as agent_summary reads it: each row's state holds from
--   its since (never before a row written earlier for the same member) until the next row of
--   the same PBX, queue and interface, the last one until now (read from member_changes, the
--   writer-kept rows that change a member's presence, with their began and ended). agents_logged_in = the members'
--   time present in the queue during the interval / the interval's length (the average number
--   of agents logged in, paused or not); agents_staffed the same for time present and not
--   paused (the agents who could take its calls). Intervals are cut in UTC from start's
--   interval to end (bucket_start is UTC wall-clock time, as queue_intervals gives with tz
--   UTC); every interval of the range is returned for every queue with a member state, empty
--   ones with 0.
-- params: start, end (timestamps, optional: default when the first state began, and now), queues (list
--   of queue names, optional: all), bucket (15 minutes, 30 minutes, 1 hour, 1 day, 1 week or
--   1 month; default 1 hour)
WITH p AS (
    SELECT coalesce(CAST($start AS TIMESTAMPTZ), (SELECT min(began) FROM member_changes)) AS t0,
           coalesce(CAST($end AS TIMESTAMPTZ), now()) AS t1,
           CAST($queues AS VARCHAR[]) AS queues,
           now() AS now_at,
           -- One of queries.CHOICES["bucket"] (checked before the query runs), read as an
           -- INTERVAL: '1 month' stays a calendar month, '1 week' is 7 days.
           CAST(coalesce(CAST($bucket AS VARCHAR), '1 hour') AS INTERVAL) AS width
),
spans AS (
    -- The chosen queues' presence changes that hold some time in [t0, t1), present, clipped
    -- to the range (member_changes, storage/schema.sql: stored in order of their end, so
    -- the bounds, compared with the parameters themselves, skip the row groups before t0).
    SELECT c.queue, c.present AND NOT c.paused AS staffed,
           greatest(c.began, p.t0) AS lo,
           -- 'infinity': the row still holds, until now.
           least(CASE WHEN c.ended = 'infinity' THEN p.now_at ELSE c.ended END, p.t1) AS hi
    FROM member_changes AS c, p
    WHERE c.present
      AND (p.queues IS NULL OR list_contains(p.queues, c.queue))
      AND ($end IS NULL OR c.began < CAST($end AS TIMESTAMPTZ))
      AND ($start IS NULL OR c.ended > CAST($start AS TIMESTAMPTZ))
),
naive AS (
    -- Interval starts in UTC wall-clock time (time_bucket: weeks start on Monday, months on
    -- the 1st), from start's interval up to end.
    SELECT unnest(generate_series(time_bucket(p.width, timezone('UTC', p.t0)),
                                  timezone('UTC', p.t1) - INTERVAL 1 MICROSECOND,
                                  p.width)) AS start_utc
    FROM p
),
buckets AS (
    SELECT n.start_utc, timezone('UTC', n.start_utc) AS b0,
           timezone('UTC', n.start_utc + p.width) AS b1
    FROM naive AS n, p
),
queue_list AS (
    -- Every chosen queue with a member state (member_heads: one row per member).
    SELECT DISTINCT h.queue
    FROM member_heads AS h, p
    WHERE p.queues IS NULL OR list_contains(p.queues, h.queue)
),
span_buckets AS (
    -- Each span listed per interval it touches (the same time_bucket alignment as naive),
    -- so that meeting the intervals is a hash join, not a range join over every span.
    SELECT s.queue, s.staffed, s.lo, s.hi,
           unnest(generate_series(time_bucket(p.width, timezone('UTC', s.lo)),
                                  timezone('UTC', s.hi) - INTERVAL 1 MICROSECOND,
                                  p.width)) AS start_utc
    FROM spans AS s, p
    WHERE s.hi > s.lo
),
shares AS (
    SELECT s.queue, s.start_utc, s.staffed,
           -- Microseconds apart as epoch differences: subtracting TIMESTAMPTZ goes through the
           -- calendar (ICU).
           (epoch_us(least(s.hi, b.b1)) - epoch_us(greatest(s.lo, b.b0))) / 1e6 AS secs
    FROM span_buckets AS s
    JOIN buckets AS b USING (start_utc)
)
SELECT q.queue,
       b.start_utc AS bucket_start,
       coalesce(sum(o.secs) FILTER (WHERE o.secs > 0), 0)
           / epoch(b.b1 - b.b0) AS agents_logged_in,
       coalesce(sum(o.secs) FILTER (WHERE o.secs > 0 AND o.staffed), 0)
           / epoch(b.b1 - b.b0) AS agents_staffed
FROM queue_list AS q
CROSS JOIN buckets AS b
LEFT JOIN shares AS o ON o.queue = q.queue AND o.start_utc = b.start_utc
GROUP BY q.queue, b.start_utc, b.b0, b.b1
ORDER BY q.queue, bucket_start
