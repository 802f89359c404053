-- title: Agent summary
-- definition: One row per agent (queue member name) in the chosen queues. answered,
--   talk_total_s and talk_avg_s cover the answered stays that entered in the range; aht_s =
--   talk_avg_s until wrap-up is recorded. ring_attempts counts the times the agent was rung
--   (ring_attempts rows started in the range), ring_noanswer those it let ring out
--   (RINGNOANSWER). Presence comes from member_states, a changelog: each row's state holds
--   from its since (never before a row written earlier for the same member) until the next
--   row of the same PBX, queue and interface, the last one until now; clipped to the range.
--   Per device (PBX and interface), across queues so that nothing is counted twice: logged in
--   while a member of at least one queue (static members always are); paused while paused in
--   every queue it is a member of (a pause in some queues only leaves it taking calls from
--   the others). logged_in_s and pause_s measure those times, unpaused_s = logged_in_s -
--   pause_s, pause_by_reason_s splits pause_s by reason (the reason of the newest pause row;
--   '' for a pause without one). occupancy_pct = observed talk / unpaused_s (QueueMetrics'
--   convention as our brief states it: talk over logged-in time less pauses), where observed
--   talk is the part of those stays' talk that falls in the agent's observed logged-in time,
--   so talk taken while no presence was known never inflates it. The presence
--   columns are NULL for an agent of whom no state is known in the range; a rate whose
--   denominator is 0 is NULL. agents keeps the rows of the named agents only (it narrows the
--   table, not what each row counts).
-- params: start, end (timestamps, optional: [start, end)), queues (list of queue names,
--   optional: all), agents (list of agent names, optional: all)
WITH p AS (
    SELECT CAST($start AS TIMESTAMPTZ) AS t0,
           CAST($end AS TIMESTAMPTZ) AS t1,
           CAST($queues AS VARCHAR[]) AS queues,
           now() AS now_at
),
calls AS (
    SELECT c.agent,
           count(*) AS answered,
           coalesce(sum(c.talk_s), 0) AS talk_total_s,
           avg(c.talk_s) AS talk_avg_s
    FROM queue_calls AS c, p
    WHERE c.outcome = 'answered' AND c.agent IS NOT NULL
      -- Bounds compared with the parameters themselves (constants once bound), not with p's
      -- columns, so that DuckDB skips the row groups outside the range (zone maps).
      AND ($start IS NULL OR c.entered_at >= CAST($start AS TIMESTAMPTZ))
      AND ($end IS NULL OR c.entered_at < CAST($end AS TIMESTAMPTZ))
      AND (p.queues IS NULL OR list_contains(p.queues, c.queue))
    GROUP BY c.agent
),
rings AS (
    SELECT r.agent,
           count(*) AS ring_attempts,
           count(*) FILTER (WHERE r.result = 'noanswer') AS ring_noanswer
    FROM ring_attempts AS r, p
    WHERE r.agent IS NOT NULL
      AND ($start IS NULL OR r.started_at >= CAST($start AS TIMESTAMPTZ))
      AND ($end IS NULL OR r.started_at < CAST($end AS TIMESTAMPTZ))
      AND (p.queues IS NULL OR list_contains(p.queues, r.queue))
    GROUP BY r.agent
),
bounds AS (
    -- One hash aggregate over the changelog finds, per member, the rows that can hold in
    -- [t0, t1), so that the windows below sort those rows only, not the whole history: rows
    -- written before its first row dated after t0 (after_seq) all end by t0 but the last
    -- (held_seq, its state at t0); rows after its first row dated at or after t1 (last_seq)
    -- begin after t1. Also the member's newest name, for `names`.
    SELECT m.pbx, m.queue, m.interface,
           min(m.rowid) AS first_seq,
           max(m.rowid) FILTER (WHERE m.since <= p.t0) AS held_seq,
           min(m.rowid) FILTER (WHERE m.since > p.t0) AS after_seq,
           min(m.rowid) FILTER (WHERE m.since >= p.t1) AS last_seq,
           arg_max(m.member_name, m.rowid) AS member_name,
           max(m.rowid) FILTER (WHERE m.member_name IS NOT NULL) AS name_seq
    FROM member_states AS m, p
    WHERE p.queues IS NULL OR list_contains(p.queues, m.queue)
    GROUP BY m.pbx, m.queue, m.interface
),
scanned AS (
    -- The rowids to read: from the oldest row a member needs (its held row; all its rows
    -- when t0 is not given or one dated up to t0 was written after one dated later, as a
    -- snapshot does) to the newest last row. Rowid zone maps skip the rest of the changelog.
    -- Other members' rows in that span end by t0 or begin after t1: clipped away below.
    SELECT min(CASE WHEN p.t0 IS NOT NULL AND b.held_seq IS NOT NULL
                     AND (b.after_seq IS NULL OR b.held_seq < b.after_seq)
                    THEN b.held_seq ELSE b.first_seq END) AS lo,
           CASE WHEN bool_and(b.last_seq IS NOT NULL) THEN max(b.last_seq)
                ELSE 9223372036854775807 END AS hi
    FROM bounds AS b, p
),
members AS (
    -- A number per member, so that the windows below sort integers rather than three
    -- strings (2-3x faster), and whether its device is a member of several chosen queues.
    SELECT pbx, queue, interface,
           row_number() OVER (ORDER BY pbx, queue, interface) AS mid,
           count(*) OVER (PARTITION BY pbx, interface) > 1 AS shared
    FROM bounds
),
marked AS (
    -- Most rows only restate a member's presence (a ring, a call: QueueMemberStatus carries
    -- the paused and present state along). One sort of the scanned rows, carrying few and
    -- small columns (the member's number, the state packed in an integer), marks the rows
    -- that matter, so that all that follows works on those only (a year at 1M calls: 0.7M
    -- of 4.7M rows): a row whose present, paused or reason differs from the member's
    -- previous row; a row dated after the member's next row (it may hold the newest since
    -- that a later row's start, `began` below, takes); and (in `spans`) a paused row of a
    -- device in several queues, whose seq can decide the pause reason there. Leaving the
    -- others out changes no span's state or end: a left-out row's span continues its
    -- predecessor's, in the same state.
    SELECT r.*,
           r.state IS DISTINCT FROM lag(r.state) OVER w
               OR r.reason IS DISTINCT FROM lag(r.reason) OVER w
               OR r.since > lead(r.since) OVER w AS changed
    FROM (
        SELECT m.rowid AS seq, b.mid, m.since,
               CAST(m.present AS INTEGER) * 2 + CAST(m.paused AS INTEGER) AS state,
               coalesce(m.paused_reason, '') AS reason
        FROM member_states AS m
        JOIN members AS b USING (pbx, queue, interface)  -- the chosen queues' members
        WHERE m.rowid >= (SELECT lo FROM scanned)
          AND m.rowid <= (SELECT hi FROM scanned)
    ) AS r
    WINDOW w AS (PARTITION BY r.mid ORDER BY r.seq)
),
spans AS (
    -- A row dated before one written earlier (a snapshot re-stating an older state) takes
    -- effect when the earlier one did, so one member's rows never overlap: a row begins at
    -- the newest since up to it and ends where the next begins (the newer of this begin and
    -- the next since), in one window.
    SELECT k.seq, b.pbx, b.queue, b.interface, k.state >= 2 AS present,
           k.state % 2 = 1 AS paused, k.reason,
           max(k.since) OVER w AS began,
           CASE WHEN lead(k.since) OVER w IS NOT NULL
                THEN greatest(max(k.since) OVER w, lead(k.since) OVER w) END AS ended
    FROM marked AS k
    JOIN members AS b USING (mid)
    WHERE k.changed OR (k.state = 3 AND b.shared)
    WINDOW w AS (PARTITION BY k.mid ORDER BY k.seq
                 ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
),
clipped AS (
    SELECT s.seq, s.pbx, s.queue, s.interface, s.present, s.paused, s.reason,
           greatest(s.began, coalesce(p.t0, s.began)) AS lo,
           least(coalesce(s.ended, p.now_at), coalesce(p.t1, p.now_at)) AS hi
    FROM spans AS s, p
),
live AS (
    SELECT * FROM clipped WHERE hi > lo
),
cuts AS (
    SELECT pbx, interface, lo AS cut FROM live
    UNION
    SELECT pbx, interface, hi AS cut FROM live
),
pieces AS (
    -- The device's timeline cut wherever any of its memberships changes state.
    SELECT pbx, interface, cut AS lo,
           lead(cut) OVER (PARTITION BY pbx, interface ORDER BY cut) AS hi
    FROM cuts
),
memberships AS (
    SELECT DISTINCT pbx, interface, queue FROM live
),
covered AS (
    -- Each piece against each of the device's memberships: the membership's latest interval
    -- begun by then (an ASOF join, linear where a range join would be quadratic) holds the
    -- piece when it lasts to the piece's end.
    SELECT g.pbx, g.interface, g.lo, g.hi, s.seq, s.present, s.paused, s.reason
    FROM pieces AS g
    JOIN memberships AS m ON m.pbx = g.pbx AND m.interface = g.interface
    ASOF JOIN live AS s
      ON s.pbx = m.pbx AND s.interface = m.interface AND s.queue = m.queue AND g.lo >= s.lo
    WHERE g.hi IS NOT NULL AND s.hi >= g.hi
),
device_time AS (
    SELECT pbx, interface, lo, hi,
           -- Microseconds apart as epoch differences: date_diff on TIMESTAMPTZ goes through
           -- the calendar (ICU), ~50x slower for the same integer.
           (epoch_us(hi) - epoch_us(lo)) / 1e6 AS secs,
           bool_or(present) AS logged_in,
           coalesce(bool_and(paused) FILTER (WHERE present), false) AS paused,
           arg_max(reason, seq) FILTER (WHERE present AND paused) AS reason
    FROM covered
    GROUP BY pbx, interface, lo, hi
),
names AS (
    SELECT pbx, interface, coalesce(arg_max(member_name, name_seq), interface) AS agent,
           row_number() OVER (ORDER BY pbx, interface) AS did
    FROM bounds
    GROUP BY pbx, interface
),
presence AS (
    SELECT n.agent,
           coalesce(sum(d.secs) FILTER (WHERE d.logged_in), 0) AS logged_in_s,
           coalesce(sum(d.secs) FILTER (WHERE d.logged_in AND d.paused), 0) AS pause_s
    FROM device_time AS d
    JOIN names AS n USING (pbx, interface)
    GROUP BY n.agent
),
logged AS (
    SELECT pbx, interface, epoch_us(lo) AS lo_us, epoch_us(hi) AS hi_us
    FROM device_time
    WHERE logged_in
),
runs AS (
    -- Each device's logged-in time as maximal runs (a login session, give or take): a run
    -- starts at a logged-in piece that no logged-in piece ends at and ends at the first
    -- such end after it. Hash joins and a small ASOF join, where merging pieces in order
    -- would sort them all.
    SELECT s.pbx, s.interface, s.lo_us, e.hi_us
    FROM (SELECT * FROM logged AS l
          WHERE NOT EXISTS (SELECT 1 FROM logged AS k
                            WHERE k.pbx = l.pbx AND k.interface = l.interface
                              AND k.hi_us = l.lo_us)) AS s
    ASOF JOIN (SELECT * FROM logged AS l
               WHERE NOT EXISTS (SELECT 1 FROM logged AS k
                                 WHERE k.pbx = l.pbx AND k.interface = l.interface
                                   AND k.lo_us = l.hi_us)) AS e
      ON e.pbx = s.pbx AND e.interface = s.interface AND e.hi_us > s.lo_us
),
run_days AS (
    -- Runs and talks (below) both listed per UTC day they touch (86400e6 microseconds),
    -- so that matching them is a hash join on the device and the day.
    SELECT n.did, r.lo_us, r.hi_us,
           unnest(range(r.lo_us // 86400000000, (r.hi_us - 1) // 86400000000 + 1)) AS day
    FROM runs AS r
    JOIN names AS n USING (pbx, interface)
),
talk_days AS (
    -- In epoch microseconds: integer arithmetic, where TIMESTAMPTZ plus an interval goes
    -- through the calendar.
    SELECT n.did, n.agent, t.lo_us, t.hi_us,
           unnest(range(t.lo_us // 86400000000, (t.hi_us - 1) // 86400000000 + 1)) AS day
    FROM (
        SELECT c.agent, epoch_us(c.answered_at) AS lo_us,
               epoch_us(c.answered_at) + CAST(c.talk_s * 1e6 AS BIGINT) AS hi_us
        FROM queue_calls AS c, p
        WHERE c.outcome = 'answered' AND c.answered_at IS NOT NULL AND c.talk_s > 0
          -- Occupancy's talk is time-based (session 5): every talk, clipped to the runs.
          AND ($end IS NULL OR c.entered_at < CAST($end AS TIMESTAMPTZ))
          AND (p.queues IS NULL OR list_contains(p.queues, c.queue))
    ) AS t
    JOIN names AS n USING (agent)
),
observed_talk AS (
    -- Occupancy's talk: the talk of the answered stays above that falls in time the agent was
    -- seen logged in (pieces are already clipped to the range and to now): each talk's
    -- overlap with its devices' runs, day by day so that nothing counts twice. Talk outside
    -- them (a static member before its first queue_log line, time before Callboard started
    -- or the queue_log begins) has no logged-in time to be set against, so it is left out
    -- rather than divided by a few seconds.
    SELECT t.agent,
           sum(greatest(least(t.hi_us, r.hi_us, (t.day + 1) * 86400000000)
                        - greatest(t.lo_us, r.lo_us, t.day * 86400000000), 0)) / 1e6 AS talk_s
    FROM talk_days AS t
    JOIN run_days AS r ON r.did = t.did AND r.day = t.day
    GROUP BY t.agent
),
pause_reasons AS (
    SELECT agent, map_from_entries(list((reason, secs) ORDER BY reason)) AS pause_by_reason_s
    FROM (
        SELECT n.agent, d.reason, sum(d.secs) AS secs
        FROM device_time AS d
        JOIN names AS n USING (pbx, interface)
        WHERE d.logged_in AND d.paused
        GROUP BY n.agent, d.reason
    )
    GROUP BY agent
),
everyone AS (
    SELECT agent FROM calls
    UNION
    SELECT agent FROM rings
    UNION
    SELECT agent FROM presence
)
SELECT e.agent,
       coalesce(c.answered, 0) AS answered,
       coalesce(c.talk_total_s, 0) AS talk_total_s,
       c.talk_avg_s,
       c.talk_avg_s AS aht_s,
       coalesce(r.ring_attempts, 0) AS ring_attempts,
       coalesce(r.ring_noanswer, 0) AS ring_noanswer,
       pr.logged_in_s,
       pr.pause_s,
       pr.logged_in_s - pr.pause_s AS unpaused_s,
       100.0 * coalesce(ot.talk_s, 0) / nullif(pr.logged_in_s - pr.pause_s, 0)
           AS occupancy_pct,
       CASE WHEN pr.agent IS NOT NULL
            THEN coalesce(pa.pause_by_reason_s, MAP {}) END AS pause_by_reason_s
FROM everyone AS e
LEFT JOIN calls AS c USING (agent)
LEFT JOIN rings AS r USING (agent)
LEFT JOIN presence AS pr USING (agent)
LEFT JOIN pause_reasons AS pa USING (agent)
LEFT JOIN observed_talk AS ot USING (agent)
WHERE CAST($agents AS VARCHAR[]) IS NULL OR list_contains(CAST($agents AS VARCHAR[]), e.agent)
ORDER BY e.agent
