-- title: Queue members now
-- definition: Each member of each queue as last seen (QueueMemberStatus, pause, penalty and
--   add/remove events, and the QueueStatus snapshot taken at every login): device status,
--   paused and why, in a call, and since when that state holds. Members removed from a queue
--   are left out. `agent` is the display name from the [[agent]] settings, else the queue
--   member name, else the interface; `platform_user` is the omnichannel platform's username.
--   state folds the device state into the words a supervisor reads: paused (whatever the
--   device does), ringing (device 6, 7), on call (in a call, or device 2 in use, 3 busy,
--   8 on hold), available (device 1 not in use), unavailable (4 invalid, 5 unavailable),
--   else unknown.
-- params: (none)
WITH newest AS (
    -- member_states is append-only: the last row written per member is its state now. Its
    -- rowid comes from a hash aggregate over the key; a window would sort every column of
    -- the whole history (1.7 s for a year of 1M calls, bench/README.md).
    SELECT * FROM member_states
    WHERE rowid IN (SELECT max(rowid) FROM member_states
                    -- queue_log's rows are history (storage/presence.py): now is what AMI says
                    WHERE source IS DISTINCT FROM 'queue_log'
                    GROUP BY pbx, queue, interface)
)
SELECT m.pbx, m.queue,
       coalesce(a.display_name, m.member_name, m.interface) AS agent,
       m.interface,
       CASE WHEN m.paused THEN 'paused'
            WHEN m.status IN (6, 7) THEN 'ringing'
            WHEN m.in_call OR m.status IN (2, 3, 8) THEN 'on call'
            WHEN m.status = 1 THEN 'available'
            WHEN m.status IN (4, 5) THEN 'unavailable'
            ELSE 'unknown' END AS state,
       m.paused_reason, m.since, m.calls_taken, m.penalty, m.membership,
       a.username AS platform_user, m.member_name, m.status, m.paused, m.in_call
FROM newest AS m
LEFT JOIN agents AS a ON a.interface = m.interface AND (a.pbx IS NULL OR a.pbx = m.pbx)
WHERE m.present
ORDER BY m.pbx, m.queue, agent
