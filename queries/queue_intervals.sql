-- title: Queue figures per interval
-- definition: queue_summary's core figures per queue and per interval of the stays' entry
--   time, with the same definitions (service level: answered with wait_s <= sl_s, the
--   queue's own threshold unless sl_s is given, see queue_summary;
--   sl_answered_pct over answered, sl_inclusive_pct over offered, abandon_rate_pct = abandoned
--   / offered, exclude_short removing short abandons (wait_s < short_abandon_s) from the
--   latter two). bucket_start is the interval's start as wall-clock time in tz (a timestamp
--   without zone): intervals are cut on local time, so days, weeks (starting Monday) and
--   months follow tz, and on the night clocks go back one local hour holds two real hours.
--   (Read from UTC quarter-hours: exact in every zone whose offset is a multiple of 15 min.)
--   Intervals without stays are absent. A rate whose denominator is 0 is NULL.
-- params: start, end (timestamps, optional: entered_at in [start, end)), queues (list of queue
--   names, optional: all), sl_s (seconds, optional: one threshold for every
--   queue; default: each queue's own, see queue_targets), short_abandon_s (seconds, default
--   5), exclude_short (boolean, default false), bucket (15 minutes, 30 minutes, 1 hour, 1 day,
--   1 week or 1 month; default 1 hour), tz (IANA zone, default UTC)
WITH p AS (
    SELECT CAST($queues AS VARCHAR[]) AS queues,
           coalesce(CAST($exclude_short AS BOOLEAN), false) AS exclude_short,
           coalesce(CAST($tz AS VARCHAR), 'UTC') AS tz,
           -- One of queries.CHOICES["bucket"] (checked before the query runs), read as an
           -- INTERVAL: '1 month' stays a calendar month, '1 week' is 7 days.
           CAST(coalesce(CAST($bucket AS VARCHAR), '1 hour') AS INTERVAL) AS width
),
quarters AS (
    -- The range's stays summed per UTC quarter-hour (stay_quarters_in, storage/schema.sql);
    -- each quarter lies inside one local interval of 15 minutes or more.
    SELECT q.*, p.exclude_short,
           -- time_bucket aligns weeks on Monday 2000-01-03 and months on the 1st.
           time_bucket(p.width, timezone(p.tz, q.bucket)) AS bucket_start
    FROM stay_quarters_in($start, $end, CAST($sl_s AS DOUBLE),
                          coalesce(CAST($short_abandon_s AS DOUBLE), 5)) AS q, p
    WHERE p.queues IS NULL OR list_contains(p.queues, q.queue)
),
per_bucket AS (
    SELECT queue, bucket_start,
           whole(sum(stays)) AS offered,
           whole(sum(stays) FILTER (WHERE outcome = 'answered')) AS answered,
           whole(sum(stays) FILTER (WHERE outcome = 'abandoned')) AS abandoned,
           whole(sum(stays) FILTER (WHERE outcome = 'timeout')) AS timeout,
           whole(sum(stays) FILTER (WHERE short)) AS short_abandons,
           whole(sum(within_sl) FILTER (WHERE outcome = 'answered')) AS answered_within_sl,
           whole(sum(stays) FILTER (WHERE short AND exclude_short)) AS left_out,
           sum(wait_sum_s) FILTER (WHERE outcome = 'answered')
               / sum(waits) FILTER (WHERE outcome = 'answered') AS asa_s,
           sum(talk_sum_s) FILTER (WHERE outcome = 'answered')
               / sum(talks) FILTER (WHERE outcome = 'answered') AS talk_avg_s
    FROM quarters
    GROUP BY queue, bucket_start
)
SELECT queue, bucket_start, offered, answered, abandoned, timeout,
       100.0 * answered_within_sl / nullif(answered, 0) AS sl_answered_pct,
       100.0 * answered_within_sl / nullif(offered - left_out, 0) AS sl_inclusive_pct,
       asa_s,
       100.0 * (abandoned - left_out) / nullif(offered - left_out, 0) AS abandon_rate_pct,
       short_abandons, answered_within_sl, talk_avg_s
FROM per_bucket
ORDER BY queue, bucket_start
