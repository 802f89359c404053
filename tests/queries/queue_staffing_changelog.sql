-- queue_staffing as it was before member_changes (the fold over every member_states row): the
-- reference tests/storage/test_member_changes.py compares the query with.
-- title: Agents staffed per interval
-- definition: Per queue (by name, across PBXs) and interval, the agents actually there, from
--   the member_states changelog read as agent_summary reads it: each row's state holds from
--   its since (never before a row written earlier for the same member) until the next row of
--   the same PBX, queue and interface, the last one until now. agents_logged_in = the members'
--   time present in the queue during the interval / the interval's length (the average number
--   of agents logged in, paused or not); agents_staffed the same for time present and not
--   paused (the agents who could take its calls). Intervals are cut in UTC from start's
--   interval to end (bucket_start is UTC wall-clock time, as queue_intervals gives with tz
--   UTC); every interval of the range is returned for every queue with a member state, empty
--   ones with 0.
-- params: start, end (timestamps, optional: default the first state, and now), queues (list
--   of queue names, optional: all), bucket (15 minutes, 30 minutes, 1 hour, 1 day, 1 week or
--   1 month; default 1 hour)
WITH p AS (
    SELECT coalesce(CAST($start AS TIMESTAMPTZ), (SELECT min(since) FROM member_states)) AS t0,
           coalesce(CAST($end AS TIMESTAMPTZ), now()) AS t1,
           CAST($queues AS VARCHAR[]) AS queues,
           now() AS now_at,
           -- One of queries.CHOICES["bucket"] (checked before the query runs), read as an
           -- INTERVAL: '1 month' stays a calendar month, '1 week' is 7 days.
           CAST(coalesce(CAST($bucket AS VARCHAR), '1 hour') AS INTERVAL) AS width
),
changes AS (
    SELECT m.pbx, m.queue, m.interface, m.present, m.paused, m.rowid AS seq,
           max(m.since) OVER (PARTITION BY m.pbx, m.queue, m.interface ORDER BY m.rowid
                              ROWS UNBOUNDED PRECEDING) AS held_from
    FROM member_states AS m, p
    WHERE p.queues IS NULL OR list_contains(p.queues, m.queue)
),
spans AS (
    SELECT c.queue, c.present, c.paused, c.held_from AS lo,
           coalesce(lead(c.held_from) OVER (PARTITION BY c.pbx, c.queue, c.interface
                                            ORDER BY c.seq), p.now_at) AS hi
    FROM changes AS c, p
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
    SELECT DISTINCT queue FROM changes
),
shares AS (
    SELECT s.queue, b.b0, s.present AND NOT s.paused AS staffed,
           epoch(least(s.hi, b.b1, p.t1) - greatest(s.lo, b.b0, p.t0)) AS secs
    FROM spans AS s
    JOIN buckets AS b ON s.lo < b.b1 AND s.hi > b.b0
    CROSS JOIN p
    WHERE s.present
)
SELECT q.queue,
       b.start_utc AS bucket_start,
       coalesce(sum(o.secs) FILTER (WHERE o.secs > 0), 0)
           / epoch(b.b1 - b.b0) AS agents_logged_in,
       coalesce(sum(o.secs) FILTER (WHERE o.secs > 0 AND o.staffed), 0)
           / epoch(b.b1 - b.b0) AS agents_staffed
FROM queue_list AS q
CROSS JOIN buckets AS b
LEFT JOIN shares AS o ON o.queue = q.queue AND o.b0 = b.b0
GROUP BY q.queue, b.start_utc, b.b0, b.b1
ORDER BY q.queue, bucket_start
