-- title: Callers waiting now
-- definition: Callers in a queue right now, oldest first: they joined (QueueCallerJoin, or the
--   QueueStatus snapshot at login) and have not left. wait_s is measured at query time.
-- params: (none)
WITH newest AS (
    -- waiting_callers is append-only: a join row, then a leave row (present = false). The
    -- newest rowid per caller comes from a hash aggregate; a window would sort every column.
    SELECT * FROM waiting_callers
    WHERE rowid IN (SELECT max(rowid) FROM waiting_callers GROUP BY pbx, queue, call_id)
)
SELECT pbx, queue, call_id, caller_num, caller_name, position, entered_at,
       date_diff('millisecond', entered_at, now()) / 1000.0 AS wait_s
FROM newest
WHERE present
ORDER BY entered_at
