-- title: Callers waiting now
-- definition: Callers in a queue right now, oldest first: they joined (QueueCallerJoin, or the
--   QueueStatus snapshot at login) and have not left. wait_s is measured at query time.
-- params: (none)
WITH newest AS (
    -- waiting_callers is append-only: a join row, then a leave row (present = false).
    SELECT * FROM waiting_callers
    QUALIFY row_number() OVER (PARTITION BY pbx, queue, call_id ORDER BY rowid DESC) = 1
)
SELECT pbx, queue, call_id, caller_num, caller_name, position, entered_at,
       date_diff('millisecond', entered_at, now()) / 1000.0 AS wait_s
FROM newest
WHERE present
ORDER BY entered_at
