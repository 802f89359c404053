-- title: Calls
-- definition: One row per caller entering a queue (a caller who passes through two queues has
--   two rows). outcome is how the stay ended, as queue_log names it: answered, abandoned
--   (the caller hung up while waiting), timeout (the queue's timeout), exitempty, exitwithkey,
--   unknown (ended while Callboard could not see the PBX). wait_s runs from entering the queue
--   to the answer, or to leaving for a lost call. talk_s runs from the answer to the hang-up.
--   Stable interface: other tools rely on these names and columns.
-- params: start (timestamp, optional: entered_at >= start), end (timestamp, optional: entered_at < end)
SELECT
    pbx,
    queue,
    call_id,
    entered_at,
    outcome,
    wait_s,
    agent,
    talk_s,
    ended_by,
    source,
    caller_num,
    caller_name,
    position,
    answered_at,
    ended_at,
    ring_attempts,
    gap
FROM queue_calls
WHERE ($start IS NULL OR entered_at >= $start)
  AND ($end IS NULL OR entered_at < $end)
ORDER BY entered_at, pbx, queue, call_id
