-- title: Agents now
-- definition: The agent board: one row per agent (a member interface on a PBX, across its
--   queues). queues = the queues it is a member of now. state as live_members words it, judged
--   per device: on call, ringing, available and unavailable come from the device (the same in
--   every queue); paused when it is paused in every queue it is a member of (a pause in some
--   queues only leaves it taking calls from the others, as agent_summary counts pause time),
--   with the reason of its newest pause. since / in_state_s = when the newest change of any of
--   its memberships was seen, and the seconds from then to query time. call_queue, call_caller
--   = the call it talks on now: the newest answered ring attempt of this interface (written at
--   AgentConnect) in the last 12 hours whose stay has not ended (no queue_calls row yet); the
--   caller's number and name come from the caller's queue join. calls_today, talk_today_s =
--   answered stays with this interface that entered since `start`, and their talk.
-- params: start (timestamp: the start of today), queues (list of queue names, optional: all)
WITH p AS (SELECT CAST($queues AS VARCHAR[]) AS queues),
m AS (
    SELECT ms.* FROM member_states AS ms, p
    WHERE ms.rowid IN (SELECT max(rowid) FROM member_states
                    -- queue_log's rows are history (storage/presence.py): now is what AMI says
                    WHERE source IS DISTINCT FROM 'queue_log'
                    GROUP BY pbx, queue, interface)
      AND ms.present AND (p.queues IS NULL OR list_contains(p.queues, ms.queue))
),
per_agent AS (
    SELECT pbx, interface,
           any_value(member_name) AS member_name,
           list(queue ORDER BY queue) AS queues,
           bool_and(paused) AS paused,
           arg_max(paused_reason, since) FILTER (WHERE paused) AS paused_reason,
           arg_max(status, since) AS status,
           bool_or(in_call) AS in_call,
           max(since) AS since
    FROM m
    GROUP BY pbx, interface
),
talking AS (
    SELECT r.pbx, r.interface,
           arg_max(r.queue, r.started_at) AS call_queue,
           arg_max(r.call_id, r.started_at) AS call_id
    FROM ring_attempts AS r
    WHERE r.result = 'answered' AND r.started_at >= now() - INTERVAL 12 HOUR
      AND NOT EXISTS (
          SELECT 1 FROM queue_calls AS c
          WHERE c.pbx = r.pbx AND c.queue = r.queue AND c.call_id = r.call_id
            AND c.entered_at >= now() - INTERVAL 36 HOUR
      )
    GROUP BY r.pbx, r.interface
),
callers AS (
    SELECT pbx, call_id, any_value(caller_num) AS caller_num, any_value(caller_name) AS caller_name
    FROM waiting_callers
    WHERE seen_at >= now() - INTERVAL 36 HOUR
    GROUP BY pbx, call_id
),
today AS (
    SELECT pbx, interface, count(*) AS calls_today, coalesce(sum(talk_s), 0) AS talk_today_s
    FROM queue_calls
    WHERE entered_at >= CAST($start AS TIMESTAMPTZ) AND outcome = 'answered'
    GROUP BY pbx, interface
)
SELECT a.pbx,
       coalesce(ag.display_name, a.member_name, a.interface) AS agent,
       a.interface, a.queues,
       CASE WHEN a.paused THEN 'paused'
            WHEN a.status IN (6, 7) THEN 'ringing'
            WHEN a.in_call OR a.status IN (2, 3, 8) THEN 'on call'
            WHEN a.status = 1 THEN 'available'
            WHEN a.status IN (4, 5) THEN 'unavailable'
            ELSE 'unknown' END AS state,
       CASE WHEN a.paused THEN a.paused_reason END AS paused_reason,
       a.since,
       date_diff('millisecond', a.since, now()) / 1000.0 AS in_state_s,
       t.call_queue,
       CASE WHEN t.call_id IS NOT NULL THEN coalesce(c.caller_num, '') END AS call_caller,
       c.caller_name AS call_caller_name,
       coalesce(d.calls_today, 0) AS calls_today,
       coalesce(d.talk_today_s, 0) AS talk_today_s
FROM per_agent AS a
LEFT JOIN agents AS ag ON ag.interface = a.interface AND (ag.pbx IS NULL OR ag.pbx = a.pbx)
LEFT JOIN talking AS t ON t.pbx = a.pbx AND t.interface = a.interface
LEFT JOIN callers AS c ON c.pbx = t.pbx AND c.call_id = t.call_id
LEFT JOIN today AS d ON d.pbx = a.pbx AND d.interface = a.interface
ORDER BY agent, a.pbx
