-- title: Queues now
-- definition: One row per queue (by name, across PBXs) for the realtime page. Now: waiting =
--   callers in the queue (as live_waiting), longest_wait_s = the oldest one's wait at query
--   time; agents_available / _ringing / _on_call / _paused / _unavailable count the queue's
--   members by their state in live_members (agents_staffed = available + ringing + on call:
--   logged in and not paused). Today (stays that entered since `start` and have ended; a caller
--   still waiting or talking is counted when the stay ends, as queue_summary counts it):
--   offered, answered, abandoned, answered_within_sl, sl_answered_pct (answered within sl_s /
--   answered), asa_s, with queue_summary's definitions: each stay is judged by its own queue's
--   threshold (queue_thresholds: [[queue]] settings, else the queue's servicelevel, else 20 s)
--   unless sl_s sets one for every queue. sl_s, sl_target_pct = the queue's threshold and
--   target as shown and given to Erlang C (the strictest of its PBXs' when they differ: the
--   lowest threshold, the highest target; 20 s and 80 % for a queue without any). Last hour (stays that entered in the
--   `window_s` seconds before now, default 3600): offered_window and aht_window_s (mean talk
--   of those answered), the Erlang C inputs. Interval (stays that entered since
--   `interval_start`): answered_interval and answered_within_sl_interval, for the service level
--   projected to the interval's end. A queue is listed when it has a member, a caller waiting
--   or a stay today.
-- params: start (timestamp: the start of today), interval_start (timestamp, optional: start of
--   the current interval), window_s (seconds, default 3600), queues (list of queue names,
--   optional: all), sl_s (seconds, optional: one threshold for every queue)
WITH p AS (
    SELECT CAST($queues AS VARCHAR[]) AS queues,
           now() - to_seconds(coalesce(CAST($window_s AS DOUBLE), 3600)) AS window_start,
           coalesce(CAST($interval_start AS TIMESTAMPTZ), now()) AS interval_start
),
waiting AS (
    SELECT queue, count(*) AS waiting,
           max(date_diff('millisecond', entered_at, now()) / 1000.0) AS longest_wait_s
    FROM waiting_callers
    WHERE rowid IN (SELECT max(rowid) FROM waiting_callers GROUP BY pbx, queue, call_id)
      AND present
    GROUP BY queue
),
members AS (
    SELECT queue,
           count(*) FILTER (WHERE NOT paused AND status = 1 AND NOT in_call) AS agents_available,
           count(*) FILTER (WHERE NOT paused AND status IN (6, 7)) AS agents_ringing,
           count(*) FILTER (WHERE NOT paused AND status NOT IN (6, 7)
                            AND (in_call OR status IN (2, 3, 8))) AS agents_on_call,
           count(*) FILTER (WHERE paused) AS agents_paused,
           count(*) FILTER (WHERE NOT paused AND NOT in_call AND status IN (4, 5))
               AS agents_unavailable
    FROM member_states
    WHERE rowid IN (SELECT max(rowid) FROM member_states
                    -- queue_log's rows are history (storage/presence.py): now is what AMI says
                    WHERE source IS DISTINCT FROM 'queue_log'
                    GROUP BY pbx, queue, interface)
      AND present
    GROUP BY queue
),
targets AS (
    SELECT queue, min(sl_threshold_s) AS sl_s, max(sl_target_pct) AS sl_target_pct
    FROM queue_thresholds
    GROUP BY queue
),
stays AS (
    SELECT c.*,
           coalesce(CAST($sl_s AS DOUBLE), t.sl_threshold_s, g.sl_threshold_s, 20) AS sl_s
    FROM queue_calls AS c
    -- The queue's own threshold (queue_thresholds, storage/schema.sql) unless sl_s is given.
    LEFT JOIN queue_thresholds AS t ON t.pbx = c.pbx AND t.queue = c.queue
    LEFT JOIN queue_thresholds AS g ON g.pbx IS NULL AND g.queue = c.queue
    -- Bound with the parameter itself so DuckDB skips older row groups (zone maps).
    WHERE c.entered_at >= CAST($start AS TIMESTAMPTZ)
),
today AS (
    SELECT c.queue,
           count(*) AS offered,
           count(*) FILTER (WHERE c.outcome = 'answered') AS answered,
           count(*) FILTER (WHERE c.outcome = 'abandoned') AS abandoned,
           count(*) FILTER (WHERE c.outcome = 'answered' AND c.wait_s <= c.sl_s)
               AS answered_within_sl,
           avg(c.wait_s) FILTER (WHERE c.outcome = 'answered') AS asa_s,
           count(*) FILTER (WHERE c.entered_at >= p.window_start) AS offered_window,
           avg(c.talk_s) FILTER (WHERE c.outcome = 'answered' AND c.entered_at >= p.window_start)
               AS aht_window_s,
           count(*) FILTER (WHERE c.outcome = 'answered' AND c.entered_at >= p.interval_start)
               AS answered_interval,
           count(*) FILTER (WHERE c.outcome = 'answered' AND c.entered_at >= p.interval_start
                            AND c.wait_s <= c.sl_s) AS answered_within_sl_interval
    FROM stays AS c, p
    GROUP BY c.queue
),
names AS (
    SELECT queue FROM waiting UNION SELECT queue FROM members UNION SELECT queue FROM today
)
SELECT n.queue,
       coalesce(w.waiting, 0) AS waiting,
       w.longest_wait_s,
       coalesce(m.agents_available, 0) AS agents_available,
       coalesce(m.agents_ringing, 0) AS agents_ringing,
       coalesce(m.agents_on_call, 0) AS agents_on_call,
       coalesce(m.agents_paused, 0) AS agents_paused,
       coalesce(m.agents_unavailable, 0) AS agents_unavailable,
       coalesce(m.agents_available + m.agents_ringing + m.agents_on_call, 0) AS agents_staffed,
       coalesce(t.offered, 0) AS offered,
       coalesce(t.answered, 0) AS answered,
       coalesce(t.abandoned, 0) AS abandoned,
       coalesce(t.answered_within_sl, 0) AS answered_within_sl,
       100.0 * t.answered_within_sl / nullif(t.answered, 0) AS sl_answered_pct,
       t.asa_s,
       coalesce(t.offered_window, 0) AS offered_window,
       t.aht_window_s,
       coalesce(t.answered_interval, 0) AS answered_interval,
       coalesce(t.answered_within_sl_interval, 0) AS answered_within_sl_interval,
       coalesce(CAST($sl_s AS DOUBLE), g.sl_s, 20) AS sl_s,
       coalesce(g.sl_target_pct, 80) AS sl_target_pct
FROM names AS n
CROSS JOIN p
LEFT JOIN waiting AS w ON w.queue = n.queue
LEFT JOIN members AS m ON m.queue = n.queue
LEFT JOIN today AS t ON t.queue = n.queue
LEFT JOIN targets AS g ON g.queue = n.queue
WHERE p.queues IS NULL OR list_contains(p.queues, n.queue)
ORDER BY n.queue
