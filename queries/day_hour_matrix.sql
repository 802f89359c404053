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
           coalesce(CAST($short_abandon_s AS DOUBLE), 5) AS short_s,
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
stays AS (
    SELECT isodow(timezone(p.tz, c.entered_at)) AS weekday,
           hour(timezone(p.tz, c.entered_at)) AS hour,
           c.outcome = 'answered' AS answered,
           c.outcome = 'answered'
               AND coalesce(c.wait_s <= coalesce(CAST($sl_s AS DOUBLE), t.sl_threshold_s,
                                                 g.sl_threshold_s, 20), false) AS within_sl,
           p.exclude_short AND c.outcome = 'abandoned' AND coalesce(c.wait_s < p.short_s, false)
               AS left_out
    FROM queue_calls AS c
    CROSS JOIN p
    -- The queue's own threshold (queue_thresholds, storage/schema.sql) unless sl_s is given.
    LEFT JOIN queue_thresholds AS t ON t.pbx = c.pbx AND t.queue = c.queue
    LEFT JOIN queue_thresholds AS g ON g.pbx IS NULL AND g.queue = c.queue
    -- Bounds compared with the parameters themselves (constants once bound), not with p's
    -- columns, so that DuckDB skips the row groups outside the range (zone maps).
    WHERE ($start IS NULL OR c.entered_at >= CAST($start AS TIMESTAMPTZ))
      AND ($end IS NULL OR c.entered_at < CAST($end AS TIMESTAMPTZ))
      AND (p.queues IS NULL OR list_contains(p.queues, c.queue))
),
counted AS (
    -- Stays are counted per cell first; the grid then joins 168 small rows, not every stay.
    SELECT weekday, hour,
           count(*) AS offered,
           count(*) FILTER (WHERE answered) AS answered,
           count(*) FILTER (WHERE within_sl) AS answered_within_sl,
           count(*) FILTER (WHERE left_out) AS left_out
    FROM stays
    GROUP BY weekday, hour
),
filled AS (
    SELECT x.weekday, x.day, x.hour,
           coalesce(n.offered, 0) AS offered,
           coalesce(n.answered, 0) AS answered,
           coalesce(n.answered_within_sl, 0) AS answered_within_sl,
           coalesce(n.left_out, 0) AS left_out
    FROM cells AS x
    LEFT JOIN counted AS n ON n.weekday = x.weekday AND n.hour = x.hour
)
SELECT weekday, day, hour, offered, answered, answered_within_sl,
       100.0 * answered_within_sl / nullif(answered, 0) AS sl_answered_pct,
       100.0 * answered_within_sl / nullif(offered - left_out, 0) AS sl_inclusive_pct
FROM filled
ORDER BY weekday, hour
