-- title: Calls by weekday and hour
-- definition: The stays that entered in the range in the chosen queues, by weekday and hour
--   of their entry in tz (weekday 1 = Monday ... 7 = Sunday; hour 0-23 of the wall clock).
--   offered, answered and answered_within_sl count stays (answered with wait_s <= sl_s, each
--   queue's own threshold unless sl_s is given, see queue_summary);
--   sl_answered_pct and sl_inclusive_pct are queue_summary's (over answered, and over
--   offered less the short abandons when exclude_short). All 168 cells are returned, empty
--   ones with zeros and NULL rates.
-- params: start, end (timestamps, optional: entered_at in [start, end)), queues (list of queue
--   names, optional: all), sl_s (seconds, optional: one threshold for every
--   queue; default: each queue's own, see queue_targets), short_abandon_s (seconds, default
--   5), exclude_short (boolean, default false), tz (IANA zone, default UTC)
WITH p AS (
    SELECT CAST($queues AS VARCHAR[]) AS queues,
           coalesce(CAST($exclude_short AS BOOLEAN), false) AS exclude_short,
           coalesce(CAST($tz AS VARCHAR), 'UTC') AS tz
),
days(weekday, day) AS (
    VALUES (1, 'Mon'), (2, 'Tue'), (3, 'Wed'), (4, 'Thu'), (5, 'Fri'), (6, 'Sat'), (7, 'Sun')
),
cells AS (
    SELECT d.weekday, d.day, h.range AS hour
    FROM days AS d
    CROSS JOIN range(24) AS h
),
quarters AS (
    -- The range's stays summed per UTC quarter-hour (stay_quarters_in, storage/schema.sql);
    -- each quarter lies inside one local hour.
    SELECT isodow(timezone(p.tz, q.bucket)) AS weekday,
           hour(timezone(p.tz, q.bucket)) AS hour,
           q.outcome, q.stays, q.within_sl, q.short AND p.exclude_short AS left_out
    FROM stay_quarters_in($start, $end, CAST($sl_s AS DOUBLE),
                          coalesce(CAST($short_abandon_s AS DOUBLE), 5)) AS q, p
    WHERE p.queues IS NULL OR list_contains(p.queues, q.queue)
),
counted AS (
    -- Quarters are counted per cell first; the grid then joins 168 small rows.
    SELECT weekday, hour,
           sum(stays) AS offered,
           sum(stays) FILTER (WHERE outcome = 'answered') AS answered,
           sum(within_sl) FILTER (WHERE outcome = 'answered') AS answered_within_sl,
           sum(stays) FILTER (WHERE left_out) AS left_out
    FROM quarters
    GROUP BY weekday, hour
),
filled AS (
    SELECT x.weekday, x.day, x.hour,
           whole(n.offered) AS offered,
           whole(n.answered) AS answered,
           whole(n.answered_within_sl) AS answered_within_sl,
           whole(n.left_out) AS left_out
    FROM cells AS x
    LEFT JOIN counted AS n ON n.weekday = x.weekday AND n.hour = x.hour
)
SELECT weekday, day, hour, offered, answered, answered_within_sl,
       100.0 * answered_within_sl / nullif(answered, 0) AS sl_answered_pct,
       100.0 * answered_within_sl / nullif(offered - left_out, 0) AS sl_inclusive_pct
FROM filled
ORDER BY weekday, hour
