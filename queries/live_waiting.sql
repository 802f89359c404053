-- title: Callers waiting now
-- definition: Callers in a queue right now, oldest first: they joined (QueueCallerJoin, or the
--   QueueStatus snapshot at login) and have not left. wait_s is measured at query time.
-- params: (none)
SELECT pbx, queue, call_id, caller_num, caller_name, position, entered_at,
       date_diff('millisecond', entered_at, now()) / 1000.0 AS wait_s
FROM (
    SELECT *, row_number() OVER (PARTITION BY pbx, queue, call_id ORDER BY seen_at DESC,
                                 present ASC) AS newest
    FROM waiting_callers
)
WHERE newest = 1 AND present
ORDER BY entered_at
