-- title: Abandoned callers not called back
-- definition: Today's callers to call back: one row per caller number (per PBX) with an
--   abandoned stay (outcome abandoned: the caller hung up while waiting) that entered since
--   `start`, when no later stay of the same number, on the same PBX and in any queue, was
--   answered ("called back": the caller called again and got an agent). abandoned_at = the
--   newest such abandon's entry time, waited_s = its wait, abandons = this number's abandoned
--   stays today, queue = the newest abandon's queue. Callers without a number (anonymous,
--   withheld) cannot be matched and are left out. Not seen, so not counted as called back: an
--   agent calling the number out (outbound calls do not pass a queue), and a call on a PBX
--   Callboard does not watch.
-- params: start (timestamp: the start of today), queues (list of queue names, optional: all)
WITH p AS (SELECT CAST($queues AS VARCHAR[]) AS queues),
today AS (
    SELECT c.* FROM queue_calls AS c, p
    WHERE c.entered_at >= CAST($start AS TIMESTAMPTZ)
      AND nullif(trim(c.caller_num), '') IS NOT NULL
),
abandons AS (
    SELECT pbx, caller_num,
           max(entered_at) AS abandoned_at,
           arg_max(wait_s, entered_at) AS waited_s,
           arg_max(queue, entered_at) AS queue,
           any_value(caller_name) AS caller_name,
           count(*) AS abandons
    FROM today, p
    WHERE outcome = 'abandoned' AND (p.queues IS NULL OR list_contains(p.queues, queue))
    GROUP BY pbx, caller_num
)
SELECT a.pbx, a.caller_num, a.caller_name, a.queue, a.abandoned_at, a.waited_s, a.abandons
FROM abandons AS a
WHERE NOT EXISTS (
    SELECT 1 FROM today AS t
    WHERE t.pbx = a.pbx AND t.caller_num = a.caller_num AND t.outcome = 'answered'
      AND t.entered_at > a.abandoned_at
)
ORDER BY a.abandoned_at
