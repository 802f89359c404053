-- title: PBX connection sessions
-- definition: The AMI sessions of one PBX, newest first: when each began and ended, how it
--   ended and why (state connected while it is open, then closed; auth_failed and unreachable
--   for an attempt that never logged in, begun and ended at once). Collection has a gap
--   between one session's end and the next one's start; duration_s runs to now while open.
-- params: $pbx: the PBX's name; $limit: how many sessions, newest first
WITH newest AS (
    -- A session is written when it opens and again when it ends: the newest row holds.
    SELECT * FROM connection_sessions
    WHERE rowid IN (
        SELECT max(rowid) FROM connection_sessions WHERE pbx = $pbx GROUP BY session_id
    )
)
SELECT session_id, started_at, ended_at, state, detail,
       date_diff('millisecond', started_at, coalesce(ended_at, now())) / 1000.0 AS duration_s
FROM newest
ORDER BY started_at DESC, session_id DESC
LIMIT $limit
