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
cut AS (
    -- Intervals of a fixed length (all but a month) are numbered k in epoch microseconds from
    -- time_bucket's origin, Monday 2000-01-03 UTC: interval k is [o + k w, o + (k + 1) w).
    -- A month goes through the calendar (w_us NULL).
    SELECT *,
           CASE WHEN datepart('month', width) = 0
                THEN CAST(epoch(width) * 1000000 AS BIGINT) END AS w_us,
           epoch_us(TIMESTAMPTZ '2000-01-03 00:00:00+00') AS o_us
    FROM p
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
queue_list AS (
    -- Every chosen queue with a member state (member_heads: one row per member).
    SELECT DISTINCT h.queue
    FROM member_heads AS h, p
    WHERE p.queues IS NULL OR list_contains(p.queues, h.queue)
),
-- Months: each span listed per month it touches, so that meeting the months is a hash join,
-- not a range join over every span.
naive AS (
    -- Month starts in UTC wall-clock time (time_bucket: on the 1st), from start's month up to
    -- end.
    SELECT unnest(generate_series(time_bucket(c.width, timezone('UTC', c.t0)),
                                  timezone('UTC', c.t1) - INTERVAL 1 MICROSECOND,
                                  c.width)) AS start_utc
    FROM cut AS c
    WHERE c.w_us IS NULL
),
buckets AS (
    SELECT n.start_utc, timezone('UTC', n.start_utc) AS b0,
           timezone('UTC', n.start_utc + p.width) AS b1
    FROM naive AS n, p
),
span_buckets AS (
    SELECT s.queue, s.staffed, s.lo, s.hi,
           unnest(generate_series(time_bucket(c.width, timezone('UTC', s.lo)),
                                  timezone('UTC', s.hi) - INTERVAL 1 MICROSECOND,
                                  c.width)) AS start_utc
    FROM spans AS s, cut AS c
    WHERE s.hi > s.lo AND c.w_us IS NULL
),
shares AS (
    SELECT s.queue, s.start_utc, s.staffed,
           -- Microseconds apart as epoch differences: subtracting TIMESTAMPTZ goes through the
           -- calendar (ICU).
           (epoch_us(least(s.hi, b.b1)) - epoch_us(greatest(s.lo, b.b0))) / 1e6 AS secs
    FROM span_buckets AS s
    JOIN buckets AS b USING (start_utc)
),
monthly AS (
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
),
-- Fixed lengths, without listing a span per interval (a year's spans by the hour are 4M rows,
-- 0.8 s at 10M callers, bench/README.md): the time present up to a boundary B, summed over
-- spans, is G(B) = B * N(B) - S(B), N(B) the spans begun before B less those ended before it,
-- S(B) their begins less their ends; an interval's time is G at its end less G at its start.
-- Each span is two events, counted at the first boundary after it (j); N and S are running
-- sums over j, in integer epoch microseconds (exact).
events AS (
    SELECT s.queue, s.staffed, epoch_us(s.lo) AS t, 1 AS n
    FROM spans AS s, cut AS c
    WHERE s.hi > s.lo AND c.w_us IS NOT NULL
    UNION ALL
    SELECT s.queue, s.staffed, epoch_us(s.hi), -1
    FROM spans AS s, cut AS c
    WHERE s.hi > s.lo AND c.w_us IS NOT NULL
),
per_j AS (
    SELECT e.queue, floor_div(e.t - c.o_us, c.w_us) + 1 AS j,
           sum(e.n) AS n, sum(e.n * e.t) AS s,
           sum(CASE WHEN e.staffed THEN e.n ELSE 0 END) AS staffed_n,
           sum(CASE WHEN e.staffed THEN e.n * e.t ELSE 0 END) AS staffed_s
    FROM events AS e, cut AS c
    GROUP BY ALL
),
grid AS (
    -- Every chosen queue and boundary of the range's intervals.
    SELECT q.queue, r.j
    FROM queue_list AS q,
         cut AS c,
         range(floor_div(epoch_us(c.t0) - c.o_us, c.w_us),
               floor_div(epoch_us(c.t1) - 1 - c.o_us, c.w_us) + 2) AS r(j)
    WHERE c.w_us IS NOT NULL
),
at_boundary AS (
    SELECT g.queue, g.j,
           (c.o_us + g.j * c.w_us) * sum(coalesce(e.n, 0)) OVER w - sum(coalesce(e.s, 0)) OVER w
               AS g_all,
           (c.o_us + g.j * c.w_us) * sum(coalesce(e.staffed_n, 0)) OVER w
               - sum(coalesce(e.staffed_s, 0)) OVER w AS g_staffed
    FROM grid AS g
    LEFT JOIN per_j AS e USING (queue, j), cut AS c
    WINDOW w AS (PARTITION BY g.queue ORDER BY g.j)
),
fixed AS (
    SELECT queue, j AS k,
           lead(g_all) OVER w - g_all AS us,
           lead(g_staffed) OVER w - g_staffed AS staffed_us
    FROM at_boundary
    WINDOW w AS (PARTITION BY queue ORDER BY j)
)
SELECT * FROM monthly
UNION ALL
SELECT f.queue, make_timestamp(c.o_us + f.k * c.w_us) AS bucket_start,
       f.us / c.w_us AS agents_logged_in,
       f.staffed_us / c.w_us AS agents_staffed
FROM fixed AS f, cut AS c
WHERE f.us IS NOT NULL
ORDER BY queue, bucket_start
