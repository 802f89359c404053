-- title: Queue members now
-- definition: Each member of each queue as last seen (QueueMemberStatus, pause events and the
--   QueueStatus snapshot taken at every login): device status, paused and why, in a call, and
--   since when that state holds. Members removed from a queue are left out.
--   state folds them into the words a supervisor reads: paused (whatever the device does),
--   ringing (device 6, 7), on call (in a call, or device 2 in use, 3 busy, 8 on hold),
--   available (device 1 not in use), unavailable (4 invalid, 5 unavailable), else unknown.
-- params: (none)
SELECT pbx, queue, member_name, interface,
       CASE WHEN paused THEN 'paused'
            WHEN status IN (6, 7) THEN 'ringing'
            WHEN in_call OR status IN (2, 3, 8) THEN 'on call'
            WHEN status = 1 THEN 'available'
            WHEN status IN (4, 5) THEN 'unavailable'
            ELSE 'unknown' END AS state,
       paused_reason, since, calls_taken, status, paused, in_call
FROM (
    SELECT *, row_number() OVER (PARTITION BY pbx, queue, interface ORDER BY since DESC,
                                 calls_taken DESC) AS newest
    FROM member_states
)
WHERE newest = 1 AND present
ORDER BY pbx, queue, member_name, interface
