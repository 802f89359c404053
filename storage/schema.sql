-- Callboard's store. Safe to run twice (every statement is IF NOT EXISTS); later changes come
-- as numbered files in storage/migrations/. Column order matches the dataclasses in
-- collectors/rows.py, which the writer appends as Arrow batches.
-- All history tables are append-only: a fact is written once, when it is complete; the live
-- views take the newest row per key. Times are TIMESTAMPTZ (UTC), durations DOUBLE seconds.

CREATE TABLE IF NOT EXISTS queue_calls (
    pbx           VARCHAR NOT NULL,
    queue         VARCHAR NOT NULL,
    call_id       VARCHAR NOT NULL,   -- caller channel Uniqueid = queue_log callid
    linkedid      VARCHAR,
    caller_num    VARCHAR,
    caller_name   VARCHAR,
    entered_at    TIMESTAMPTZ NOT NULL,
    position      INTEGER,
    outcome       VARCHAR NOT NULL,   -- answered|abandoned|timeout|exitempty|exitwithkey|unknown
    wait_s        DOUBLE,
    answered_at   TIMESTAMPTZ,
    agent         VARCHAR,            -- member name
    interface     VARCHAR,
    talk_s        DOUBLE,
    ended_by      VARCHAR,            -- agent|caller|transfer
    ended_at      TIMESTAMPTZ,
    ring_attempts INTEGER NOT NULL,
    source        VARCHAR NOT NULL,   -- ami|queue_log
    gap           BOOLEAN NOT NULL,   -- in progress while the PBX could not be seen
    left_position INTEGER             -- position when the caller left unanswered
);
-- Files created before left_position existed get it here (safe to run twice).
ALTER TABLE queue_calls ADD COLUMN IF NOT EXISTS left_position INTEGER;

CREATE TABLE IF NOT EXISTS ring_attempts (
    pbx        VARCHAR NOT NULL,
    queue      VARCHAR NOT NULL,
    call_id    VARCHAR NOT NULL,
    agent      VARCHAR,
    interface  VARCHAR NOT NULL,
    started_at TIMESTAMPTZ NOT NULL,
    ring_s     DOUBLE,
    result     VARCHAR NOT NULL,      -- answered|noanswer|canceled|other_answered|dumped
    source     VARCHAR NOT NULL
);

-- A changelog read by arrival (rowid). Rows from queue_log's member lines (source 'queue_log',
-- storage/presence.py) only cover a PBX's time before the collector's first row for it, and
-- the import keeps them before the collector's rows in rowid order. queue_log knows less than
-- AMI, so such rows say: status 0 (unknown), in_call false (calls come from the call lines),
-- calls_taken 0, penalty and ringinuse as the last PENALTY / RINGINUSE line said (else 0 and
-- false), membership 'dynamic' after ADDMEMBER, 'realtime' after a REALTIME one, 'unknown'
-- for a member first seen pausing (static, or added before the file begins).
CREATE TABLE IF NOT EXISTS member_states (
    pbx           VARCHAR NOT NULL,
    queue         VARCHAR NOT NULL,
    interface     VARCHAR NOT NULL,
    member_name   VARCHAR,
    status        INTEGER NOT NULL,   -- AST_DEVICE_* 0-8
    paused        BOOLEAN NOT NULL,
    paused_reason VARCHAR,
    in_call       BOOLEAN NOT NULL,
    calls_taken   INTEGER NOT NULL,
    since         TIMESTAMPTZ NOT NULL,   -- when this state began
    present       BOOLEAN NOT NULL,
    penalty       INTEGER NOT NULL,
    ringinuse     BOOLEAN NOT NULL,
    membership    VARCHAR NOT NULL,       -- static|dynamic|realtime|unknown (queue_log only)
    source        VARCHAR                 -- ami|queue_log; NULL (rows from before it): ami
);
-- Files created before source existed get it here (safe to run twice).
ALTER TABLE member_states ADD COLUMN IF NOT EXISTS source VARCHAR;

CREATE TABLE IF NOT EXISTS waiting_callers (
    pbx         VARCHAR NOT NULL,
    queue       VARCHAR NOT NULL,
    call_id     VARCHAR NOT NULL,
    caller_num  VARCHAR,
    caller_name VARCHAR,
    position    INTEGER,
    entered_at  TIMESTAMPTZ NOT NULL,
    present     BOOLEAN NOT NULL,
    seen_at     TIMESTAMPTZ NOT NULL
);

CREATE TABLE IF NOT EXISTS device_states (
    pbx    VARCHAR NOT NULL,
    device VARCHAR NOT NULL,
    state  VARCHAR NOT NULL,
    seen_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE IF NOT EXISTS contact_states (
    pbx    VARCHAR NOT NULL,
    aor    VARCHAR NOT NULL,
    uri    VARCHAR NOT NULL,
    status VARCHAR NOT NULL,
    rtt_ms DOUBLE,
    seen_at TIMESTAMPTZ NOT NULL
);

-- Who each member interface is (from [[agent]] in the settings; replaced at every start).
CREATE TABLE IF NOT EXISTS agents (
    pbx          VARCHAR,             -- NULL: the interface on every PBX
    interface    VARCHAR NOT NULL,
    display_name VARCHAR,
    username     VARCHAR              -- the omnichannel platform's user
);

-- The per-queue targets of the [[queue]] settings (replaced at every start, like agents).
CREATE TABLE IF NOT EXISTS queue_settings (
    pbx            VARCHAR,           -- NULL: this queue name on every PBX
    queue          VARCHAR NOT NULL,
    sl_threshold_s DOUBLE,            -- NULL: the queue's servicelevel, else 20 s
    sl_target_pct  DOUBLE             -- NULL: 80 %
);

-- A queue's parameters and app_queue counters as QueueStatus reports them (QueueParams), at
-- every login and poll. Holdtime and TalkTime are Asterisk's moving averages, the counters
-- run from the last QueueReset or restart.
CREATE TABLE IF NOT EXISTS queue_params (
    pbx          VARCHAR NOT NULL,
    queue        VARCHAR NOT NULL,
    seen_at      TIMESTAMPTZ NOT NULL,
    servicelevel INTEGER,             -- queues.conf servicelevel, seconds (0: not set)
    max          INTEGER,
    strategy     VARCHAR,
    calls        INTEGER,
    holdtime     INTEGER,
    talktime     INTEGER,
    completed    INTEGER,
    abandoned    INTEGER,
    sl_perf      DOUBLE,              -- ServicelevelPerf
    sl_perf2     DOUBLE,              -- ServicelevelPerf2
    weight       INTEGER
);

-- The service-level threshold and target each queue is judged by (docs/kpis.md, "Targets"):
-- [[queue]] for this PBX, else [[queue]] for every PBX, else the queue's newest non-zero
-- servicelevel, else 20 s; the target: [[queue]], else 80 %. A row with pbx NULL holds a
-- [[queue]] without pbx: the fallback for a (pbx, queue) that has no row of its own.
-- The rule is this view; the store keeps its result in the table queue_thresholds (refreshed
-- at start and whenever queue_params grows), which the KPI queries join: a few rows, where the
-- view's joins cost ~10 ms per query on a busy machine.
CREATE OR REPLACE VIEW queue_thresholds_rule AS
WITH params AS (
    SELECT pbx, queue, nullif(arg_max(servicelevel, seen_at), 0) AS servicelevel
    FROM queue_params
    GROUP BY pbx, queue
),
keys AS (
    SELECT pbx, queue FROM params
    UNION
    SELECT pbx, queue FROM queue_settings
)
SELECT k.pbx, k.queue,
       coalesce(e.sl_threshold_s, g.sl_threshold_s, p.servicelevel, 20) AS sl_threshold_s,
       CASE WHEN coalesce(e.sl_threshold_s, g.sl_threshold_s) IS NOT NULL THEN 'settings'
            WHEN p.servicelevel IS NOT NULL THEN 'asterisk'
            ELSE 'default' END AS sl_threshold_source,
       coalesce(e.sl_target_pct, g.sl_target_pct, 80) AS sl_target_pct,
       CASE WHEN coalesce(e.sl_target_pct, g.sl_target_pct) IS NOT NULL THEN 'settings'
            ELSE 'default' END AS sl_target_source
FROM keys AS k
LEFT JOIN queue_settings AS e ON e.pbx = k.pbx AND e.queue = k.queue
LEFT JOIN queue_settings AS g ON g.pbx IS NULL AND g.queue = k.queue
LEFT JOIN params AS p ON p.pbx = k.pbx AND p.queue = k.queue;

CREATE TABLE IF NOT EXISTS queue_thresholds (
    pbx                 VARCHAR,
    queue               VARCHAR NOT NULL,
    sl_threshold_s      DOUBLE NOT NULL,
    sl_threshold_source VARCHAR NOT NULL,   -- settings|asterisk|default
    sl_target_pct       DOUBLE NOT NULL,
    sl_target_source    VARCHAR NOT NULL    -- settings|default
);

-- Every stay Asterisk's queue_log holds (import or follower), whether the collector saw it or
-- not: what the `completeness` query compares the collector's stays with.
CREATE TABLE IF NOT EXISTS queue_log_stays (
    pbx        VARCHAR NOT NULL,
    queue      VARCHAR NOT NULL,
    call_id    VARCHAR NOT NULL,
    entered_at TIMESTAMPTZ NOT NULL
);

-- Where the follower of each PBX's queue_log resumes after a restart (storage/follower.py):
-- one row per PBX and path, replaced as it reads.
CREATE TABLE IF NOT EXISTS queue_log_offsets (
    pbx           VARCHAR NOT NULL,
    path          VARCHAR NOT NULL,
    inode         UBIGINT NOT NULL,
    resume_offset BIGINT NOT NULL,    -- the oldest line still needed (an open stay's ENTERQUEUE)
    saved_at      TIMESTAMPTZ NOT NULL
);

-- Raw AMI events the collector used, as received ("Key: Value" lines). zstd: about 4x smaller
-- than the default compression for such text.
CREATE TABLE IF NOT EXISTS raw_events (
    pbx         VARCHAR NOT NULL,
    session_id  BIGINT NOT NULL,
    received_at TIMESTAMPTZ NOT NULL,
    event       VARCHAR NOT NULL,
    uniqueid    VARCHAR,
    payload     VARCHAR USING COMPRESSION zstd
);

CREATE TABLE IF NOT EXISTS connection_sessions (
    pbx        VARCHAR NOT NULL,
    session_id BIGINT NOT NULL,
    started_at TIMESTAMPTZ NOT NULL,
    ended_at   TIMESTAMPTZ,
    state      VARCHAR NOT NULL,      -- connected|closed|auth_failed|unreachable
    detail     VARCHAR
);

-- Rows the store dropped while it could not write (disk full, file not writable) and its
-- buffer was full (storage/overflow.py): the window they fell in, how many, which tables.
CREATE TABLE IF NOT EXISTS store_gaps (
    started_at   TIMESTAMPTZ NOT NULL,
    ended_at     TIMESTAMPTZ NOT NULL,
    rows_dropped BIGINT NOT NULL,
    detail       VARCHAR NOT NULL
);

-- ---------------------------------------------------------------------------------------------
-- Rollups: the stays summed per queue and time bucket, so that a month or a year of history
-- reads thousands of rows instead of millions (bench/README.md, "Queries"). They are derived
-- data, a pure function of queue_calls and queue_thresholds: the store recomputes the buckets a
-- write touches in the same transaction (storage/rollups.py), and rebuilds them whole when a
-- queue's threshold changes or their totals disagree with queue_calls at open. The KPI queries
-- read a range as its whole buckets from the rollup plus its partial edges computed from the
-- stays by the same macro (`stay_quarters_in`, `stay_waits_in`), so every figure has one
-- definition whichever way it is read.

-- Buckets are cut on the UTC epoch: a quarter-hour bucket lies inside one local quarter-hour in
-- every zone whose offset is a multiple of 15 minutes (all of today's), so per-interval and
-- weekday-by-hour figures in any such zone come from whole buckets.
CREATE OR REPLACE MACRO bucket_floor(t, width_s) AS
    CASE WHEN isinf(t) THEN t ELSE to_timestamp(floor(epoch(t) / width_s) * width_s) END;
CREATE OR REPLACE MACRO bucket_ceil(t, width_s) AS
    CASE WHEN isinf(t) THEN t ELSE to_timestamp(ceil(epoch(t) / width_s) * width_s) END;
-- A query's optional bounds as timestamps, open ends as infinities.
CREATE OR REPLACE MACRO range_lo(t) AS coalesce(CAST(t AS TIMESTAMPTZ), '-infinity'::TIMESTAMPTZ);
CREATE OR REPLACE MACRO range_hi(t) AS coalesce(CAST(t AS TIMESTAMPTZ), 'infinity'::TIMESTAMPTZ);
-- Whether t lies in [lo, hi) but not in [skip_lo, skip_hi) (the whole buckets a rollup holds):
-- the filter of every fold of a range's edges. Besides the NOT, t is bounded by what is left
-- outside the skipped range: DuckDB skips on the NOT alone only the row groups inside it, so a
-- range of whole buckets still read the row groups at its ends (a day at 10M callers: ~38k
-- stays read and dropped, ~1.4 ms, by every query); with the bounds its fold reads nothing,
-- and a range with one partial end reads that end alone.
CREATE OR REPLACE MACRO in_fold(t, lo, hi, skip_lo, skip_hi) AS
    t >= CASE WHEN skip_lo <= lo THEN greatest(lo, skip_hi) ELSE lo END
    AND t < CASE WHEN skip_hi >= hi THEN least(hi, skip_lo) ELSE hi END
    AND NOT (t >= skip_lo AND t < skip_hi);

-- Each stay with the service-level threshold it is judged by (sl_s): sl_override when given, else its
-- queue's own (queue_thresholds: this PBX's row, else the row for every PBX), else 20 s.
CREATE OR REPLACE MACRO queue_calls_judged(lo, hi, sl_override,
                                           skip_lo := 'infinity'::TIMESTAMPTZ,
                                           skip_hi := 'infinity'::TIMESTAMPTZ) AS TABLE
SELECT c.*, coalesce(CAST(sl_override AS DOUBLE), t.sl_threshold_s, g.sl_threshold_s, 20) AS sl_s
FROM queue_calls AS c
LEFT JOIN queue_thresholds AS t ON t.pbx = c.pbx AND t.queue = c.queue
LEFT JOIN queue_thresholds AS g ON g.pbx IS NULL AND g.queue = c.queue
WHERE in_fold(c.entered_at, lo, hi, skip_lo, skip_hi);

-- A short abandon: the caller hung up after waiting less than short_under seconds.
CREATE OR REPLACE MACRO short_abandon(outcome, wait_s, short_under) AS
    coalesce(outcome = 'abandoned' AND wait_s < short_under, false);

-- The stays that entered in [lo, hi) summed per PBX, queue, UTC quarter-hour, outcome and short
-- abandon (abandoned with wait_s < short_under). Every figure is a count, sum, min or max, so
-- buckets and edges add up. within_sl counts wait_s <= sl_s; within_sl_whole_s the same on
-- Asterisk's whole-second clock (see queue_summary). dumped counts the stays in which a member
-- answered and hung up during the announcement (a ring attempt 'dumped', AGENTDUMP; the caller
-- keeps waiting, so it is not an outcome); the writer stores a stay after its ring attempts.
CREATE OR REPLACE MACRO stay_quarters_of(lo, hi, sl_override, short_under,
                                         skip_lo := 'infinity'::TIMESTAMPTZ,
                                         skip_hi := 'infinity'::TIMESTAMPTZ) AS TABLE
WITH dumps AS (
    SELECT pbx, queue, call_id, min(started_at) AS dumped_at
    FROM ring_attempts
    WHERE result = 'dumped' AND started_at >= lo
      AND started_at < CASE WHEN isinf(hi) THEN hi ELSE hi + INTERVAL 1 DAY END
      -- A stay's rings start after it enters, within a day: those of the stays skipped
      -- (entered in [skip_lo, skip_hi)) all start from skip_lo, and none of the others'
      -- start in [skip_lo + 1 day, skip_hi).
      AND NOT (started_at >= CASE WHEN isinf(skip_lo) THEN skip_lo
                                  ELSE skip_lo + INTERVAL 1 DAY END
               AND started_at < skip_hi)
    GROUP BY ALL
)
SELECT pbx, queue, bucket_floor(entered_at, 900) AS bucket, outcome,
       short_abandon(outcome, wait_s, short_under) AS short,
       count(*) AS stays,
       count(wait_s) AS waits,
       sum(wait_s) AS wait_sum_s,
       max(wait_s) AS wait_max_s,
       count(talk_s) AS talks,
       sum(talk_s) AS talk_sum_s,
       count(*) FILTER (WHERE ended_by = 'transfer') AS transferred,
       count(*) FILTER (WHERE wait_s <= sl_s) AS within_sl,
       -- app_queue.c compares time(NULL) - qe->start, both whole seconds, with servicelevel.
       count(*) FILTER (WHERE floor(epoch(entered_at) + wait_s) - floor(epoch(entered_at)) <= sl_s)
           AS within_sl_whole_s,
       count(position) AS positions,
       sum(position) AS position_sum,
       count(left_position) AS left_positions,
       sum(left_position) AS left_position_sum,
       min(sl_s) AS sl_min_s,
       max(sl_s) AS sl_max_s,
       count(*) FILTER (WHERE dumped_at >= entered_at) AS dumped
FROM queue_calls_judged(lo, hi, sl_override, skip_lo := skip_lo, skip_hi := skip_hi)
LEFT JOIN dumps USING (pbx, queue, call_id)
GROUP BY ALL;

-- The stays that entered in [lo, hi) counted per PBX, queue, UTC day, answered or not and wait
-- rounded up to the whole second: the histogram of wait percentiles, wait bands (for whole
-- seconds a and b, a < wait_s <= b exactly when a < ceil(wait_s) <= b) and caller patience
-- (which counts the abandoned stays of the unanswered apart). Stays of unknown wait count under
-- a NULL wait_whole_s, so that every stay is in it: wait_distribution takes its queues and
-- their answered stays from here alone (reading stay_quarters_in as well cost it 6 of its 15
-- ms for a day at 10M callers, nearly all of it planning the fold of the edges).
CREATE OR REPLACE MACRO stay_waits_of(lo, hi, skip_lo := 'infinity'::TIMESTAMPTZ,
                                      skip_hi := 'infinity'::TIMESTAMPTZ) AS TABLE
SELECT pbx, queue, bucket_floor(entered_at, 86400) AS bucket, outcome = 'answered' AS answered,
       CAST(ceil(wait_s) AS INTEGER) AS wait_whole_s, count(*) AS stays,
       count(*) FILTER (WHERE outcome = 'abandoned') AS abandoned
FROM queue_calls
WHERE in_fold(entered_at, lo, hi, skip_lo, skip_hi)
GROUP BY ALL;

-- The macros' rows at the stored thresholds (each queue's own; short abandons under 5 s).
CREATE TABLE IF NOT EXISTS stay_quarters (
    pbx               VARCHAR NOT NULL,
    queue             VARCHAR NOT NULL,
    bucket            TIMESTAMPTZ NOT NULL,
    outcome           VARCHAR NOT NULL,
    short             BOOLEAN NOT NULL,
    stays             BIGINT NOT NULL,
    waits             BIGINT NOT NULL,
    wait_sum_s        DOUBLE,
    wait_max_s        DOUBLE,
    talks             BIGINT NOT NULL,
    talk_sum_s        DOUBLE,
    transferred       BIGINT NOT NULL,
    within_sl         BIGINT NOT NULL,
    within_sl_whole_s BIGINT NOT NULL,
    positions         BIGINT NOT NULL,
    position_sum      HUGEINT,
    left_positions    BIGINT NOT NULL,
    left_position_sum HUGEINT,
    sl_min_s          DOUBLE,
    sl_max_s          DOUBLE,
    dumped            BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS stay_waits (
    pbx          VARCHAR NOT NULL,
    queue        VARCHAR NOT NULL,
    bucket       TIMESTAMPTZ NOT NULL,
    answered     BOOLEAN NOT NULL,
    wait_whole_s INTEGER,  -- NULL: the stays of unknown wait
    stays        BIGINT NOT NULL,
    abandoned    BIGINT NOT NULL  -- of the stays, those abandoned (caller_patience)
);
-- A file of an earlier version kept only known waits, NOT NULL: its rows are made again when
-- it has stays of unknown wait (rollups.stale counts every stay).
ALTER TABLE stay_waits ALTER COLUMN wait_whole_s DROP NOT NULL;

-- A range [start, end) read from a rollup: its whole buckets [q0, q1) from the table, the rest
-- of the range (its partial edges; the whole range when `stored` is false, i.e. for thresholds
-- other than the stored ones) from the stays, by the macro that computes the table's rows.
-- When q0 >= q1 there are no whole buckets and nothing is skipped. (The folds' filter,
-- in_fold, reads only the edges' own row groups.)
CREATE OR REPLACE MACRO rollup_q0(start, width_s, stored) AS
    CASE WHEN stored THEN bucket_ceil(range_lo(start), width_s) ELSE 'infinity'::TIMESTAMPTZ END;
CREATE OR REPLACE MACRO rollup_q1(stop, width_s) AS bucket_floor(range_hi(stop), width_s);

CREATE OR REPLACE MACRO stay_quarters_in(start, stop, sl_override, short_under) AS TABLE
SELECT * FROM stay_quarters
WHERE sl_override IS NULL AND short_under = 5
  AND bucket >= rollup_q0(start, 900, true) AND bucket < rollup_q1(stop, 900)
UNION ALL BY NAME
SELECT * FROM stay_quarters_of(
    range_lo(start), range_hi(stop), sl_override, short_under,
    skip_lo := rollup_q0(start, 900, sl_override IS NULL AND short_under = 5),
    skip_hi := rollup_q1(stop, 900));

-- stay_quarters' stays, waits and wait_sum_s alone (unanswered_by_reason). The edges are
-- folded without the thresholds and ring attempts stay_quarters_of joins: planning those took
-- most of that query's time for a day at 10M callers (12 -> 8 ms; the fold itself reads few
-- rows, but every query plans it).
CREATE OR REPLACE MACRO stay_outcomes_of(lo, hi, short_under, skip_lo, skip_hi) AS TABLE
SELECT pbx, queue, bucket_floor(entered_at, 900) AS bucket, outcome,
       short_abandon(outcome, wait_s, short_under) AS short,
       count(*) AS stays, count(wait_s) AS waits, sum(wait_s) AS wait_sum_s
FROM queue_calls
WHERE in_fold(entered_at, lo, hi, skip_lo, skip_hi)
GROUP BY ALL;
CREATE OR REPLACE MACRO stay_outcomes_in(start, stop, short_under) AS TABLE
SELECT pbx, queue, bucket, outcome, short, stays, waits, wait_sum_s
FROM stay_quarters
WHERE short_under = 5 AND bucket >= rollup_q0(start, 900, true) AND bucket < rollup_q1(stop, 900)
UNION ALL BY NAME
SELECT * FROM stay_outcomes_of(range_lo(start), range_hi(stop), short_under,
                               rollup_q0(start, 900, short_under = 5), rollup_q1(stop, 900));

CREATE OR REPLACE MACRO stay_waits_in(start, stop) AS TABLE
SELECT * FROM stay_waits
WHERE bucket >= rollup_q0(start, 86400, true) AND bucket < rollup_q1(stop, 86400)
UNION ALL BY NAME
SELECT * FROM stay_waits_of(range_lo(start), range_hi(stop),
                            skip_lo := rollup_q0(start, 86400, true),
                            skip_hi := rollup_q1(stop, 86400));

-- A sum of rollup counts as a count: 0 when there was nothing to sum, BIGINT like count().
CREATE OR REPLACE MACRO whole(n) AS CAST(coalesce(n, 0) AS BIGINT);

-- agent_summary's counts per agent over whole UTC days (a year at 10M callers: 8.9M answered
-- stays and 13.7M ring attempts grouped per agent, 220 ms, become ~60k rows): per PBX, queue,
-- agent (member name) and UTC day, the answered stays with that agent that entered in
-- [lo, hi) and the ring attempts of that agent that started in [lo, hi). Kept and read as the
-- rollups above (agent_counts_in); the writer recomputes a day when its stays or its ring
-- attempts change (storage/rollups.py).
CREATE OR REPLACE MACRO agent_counts_of(lo, hi, skip_lo := 'infinity'::TIMESTAMPTZ,
                                        skip_hi := 'infinity'::TIMESTAMPTZ) AS TABLE
SELECT pbx, queue, bucket, agent, whole(sum(answered)) AS answered, whole(sum(talks)) AS talks,
       sum(talk_sum_s) AS talk_sum_s, whole(sum(attempts)) AS attempts,
       whole(sum(noanswer)) AS noanswer
FROM (
    SELECT pbx, queue, bucket_floor(entered_at, 86400) AS bucket, agent, count(*) AS answered,
           count(talk_s) AS talks, sum(talk_s) AS talk_sum_s, 0 AS attempts, 0 AS noanswer
    FROM queue_calls
    WHERE outcome = 'answered' AND agent IS NOT NULL
      AND in_fold(entered_at, lo, hi, skip_lo, skip_hi)
    GROUP BY pbx, queue, bucket, agent
    UNION ALL
    SELECT pbx, queue, bucket_floor(started_at, 86400), agent, 0, 0, NULL, count(*),
           count(*) FILTER (WHERE result = 'noanswer')
    FROM ring_attempts
    WHERE agent IS NOT NULL AND in_fold(started_at, lo, hi, skip_lo, skip_hi)
    GROUP BY pbx, queue, bucket_floor(started_at, 86400), agent
)
GROUP BY pbx, queue, bucket, agent;
CREATE TABLE IF NOT EXISTS agent_counts (
    pbx        VARCHAR NOT NULL,
    queue      VARCHAR NOT NULL,
    bucket     TIMESTAMPTZ NOT NULL,
    agent      VARCHAR NOT NULL,
    answered   BIGINT NOT NULL,
    talks      BIGINT NOT NULL,
    talk_sum_s DOUBLE,
    attempts   BIGINT NOT NULL,
    noanswer   BIGINT NOT NULL
);
CREATE OR REPLACE MACRO agent_counts_in(start, stop) AS TABLE
SELECT * FROM agent_counts
WHERE bucket >= rollup_q0(start, 86400, true) AND bucket < rollup_q1(stop, 86400)
UNION ALL BY NAME
SELECT * FROM agent_counts_of(range_lo(start), range_hi(stop),
                              skip_lo := rollup_q0(start, 86400, true),
                              skip_hi := rollup_q1(stop, 86400));

-- Integer division rounded down (DuckDB's // rounds toward zero), for b > 0.
CREATE OR REPLACE MACRO floor_div(a, b) AS a // b - CAST(a % b < 0 AS BIGINT);


-- Every stay of a caller (PBX and linkedid, else call_id, as `totals` groups them) who has
-- more than one stay: a caller transferred from queue to queue, or back into one. `totals`
-- counts these callers one by one and every other caller as its one stay, from the rollups.
-- Each row also holds its caller's figures over all its stays (caller_figures below), so that
-- `totals` reads a caller whose stays all fall in its range as stored, and groups at query
-- time only the callers its range or queue choice cuts. The writer keeps it for the callers
-- of each write, looking one day either side of their stays (a caller's stays are one call:
-- minutes apart, never days); a rebuild (`rollups.check`, when the rollups disagree with the
-- stays at open) recomputes it whole.
CREATE TABLE IF NOT EXISTS caller_stays (
    pbx           VARCHAR NOT NULL,
    caller        VARCHAR NOT NULL,
    queue         VARCHAR NOT NULL,
    call_id       VARCHAR NOT NULL,
    entered_at    TIMESTAMPTZ NOT NULL,
    ended_at      TIMESTAMPTZ,
    outcome       VARCHAR NOT NULL,
    wait_s        DOUBLE,
    talk_s        DOUBLE,
    first_at      TIMESTAMPTZ,  -- the caller's first and last entered_at
    last_at       TIMESTAMPTZ,
    is_first      BOOLEAN,      -- the caller's first stay (entered_at, then ended_at)
    answered_at   TIMESTAMPTZ,  -- entered_at of its first answered stay
    last_outcome  VARCHAR,      -- outcome of its last stay
    caller_wait_s DOUBLE        -- its waits up to its first answer (all, if never answered)
);

-- The stays that entered in [lo, hi) of callers with more than one stay in [lo, hi), their
-- caller figures still to be computed (caller_figures, once they are rows of caller_stays).
CREATE OR REPLACE MACRO caller_stays_of(lo, hi) AS TABLE
SELECT pbx, caller, queue, call_id, entered_at, ended_at, outcome, wait_s, talk_s,
       NULL::TIMESTAMPTZ AS first_at, NULL::TIMESTAMPTZ AS last_at, NULL::BOOLEAN AS is_first,
       NULL::TIMESTAMPTZ AS answered_at, NULL::VARCHAR AS last_outcome,
       NULL::DOUBLE AS caller_wait_s
FROM (
    SELECT *, coalesce(linkedid, call_id) AS caller,
           count(*) OVER (PARTITION BY pbx, coalesce(linkedid, call_id)) AS caller_stays
    FROM queue_calls
    WHERE entered_at >= lo AND entered_at < hi
)
WHERE caller_stays > 1;

-- The one definition of a caller's figures: over the rows of caller_stays that entered in
-- [lo, hi) in `queues` (NULL: all), for the callers with more than one of them, each row
-- with its caller's figures (the columns of caller_stays). The writer
-- stores them computed over a caller's every stay; `totals` computes them here for the
-- callers its range cuts: with `edges`, only the callers whose stored first_at or last_at
-- falls outside [lo, hi) (their stays in the range are a part of their stays).
CREATE OR REPLACE MACRO caller_figures(lo, hi, queues, edges) AS TABLE
WITH s AS (
    SELECT pbx, caller, queue, call_id, entered_at, ended_at, outcome, wait_s, talk_s
    FROM caller_stays
    WHERE entered_at >= lo AND entered_at < hi
      AND (queues IS NULL OR list_contains(queues, queue))
      AND (NOT edges OR first_at < lo OR last_at >= hi)
),
-- Grouped, not windowed: a window over many two-row partitions costs ten times as much.
c AS (
    SELECT pbx, caller,
           min(entered_at) AS first_at,
           max(entered_at) AS last_at,
           arg_min((queue, call_id, entered_at), (entered_at, ended_at)) AS first_stay,
           min(entered_at) FILTER (WHERE outcome = 'answered') AS answered_at,
           arg_max(outcome, (entered_at, ended_at)) AS last_outcome
    FROM s
    GROUP BY pbx, caller
    HAVING count(*) > 1
),
w AS (
    SELECT s.pbx, s.caller, sum(s.wait_s) AS caller_wait_s
    FROM s
    JOIN c ON c.pbx = s.pbx AND c.caller = s.caller
    WHERE c.answered_at IS NULL OR s.entered_at <= c.answered_at
    GROUP BY s.pbx, s.caller
)
SELECT s.*, c.first_at, c.last_at,
       (s.queue, s.call_id, s.entered_at) = c.first_stay AS is_first, c.answered_at,
       c.last_outcome, w.caller_wait_s
FROM s
JOIN c ON c.pbx = s.pbx AND c.caller = s.caller
LEFT JOIN w ON w.pbx = s.pbx AND w.caller = s.caller;

-- Presence changes: the rows of member_states that agent_summary's fold needs, kept by the
-- writer (storage/member_changes.py) so that a range reads the changes in it, not the
-- changelog. A member is (pbx, queue, interface); seq is the row's rowid in member_states. A
-- member's rows are read in seq order; a row is kept when its presence (present, paused,
-- reason) differs from the member's previous row's, when it is dated after the member's next
-- row (a snapshot re-stating an older state: its since may be the newest, which `began`
-- takes), and when it is a pause of a device that is a member of several queues (its seq can
-- decide that device's pause reason). Leaving the others out changes no span's state or
-- end: a left-out row's span continues its predecessor's, in the same state. began: the
-- newest since up to the row (a row dated before one written earlier takes effect when that
-- one did); ended: where the member's next kept row begins (the newer of began and its
-- since), 'infinity' while the row still holds.
CREATE TABLE IF NOT EXISTS member_changes (
    seq       BIGINT NOT NULL,
    pbx       VARCHAR NOT NULL,
    queue     VARCHAR NOT NULL,
    interface VARCHAR NOT NULL,
    present   BOOLEAN NOT NULL,
    paused    BOOLEAN NOT NULL,
    reason    VARCHAR NOT NULL,  -- '' for a pause without one (and when not paused)
    began     TIMESTAMPTZ NOT NULL,
    ended     TIMESTAMPTZ NOT NULL
);
-- Each member's newest rows, where the writer's next fold starts: its last row (last_seq,
-- last_since), its last kept row (change_seq: the one of member_changes still holding, with
-- its began and presence), its newest name (as agent_summary names a device) and its row
-- count (checked against member_states at open).
CREATE TABLE IF NOT EXISTS member_heads (
    pbx         VARCHAR NOT NULL,
    queue       VARCHAR NOT NULL,
    interface   VARCHAR NOT NULL,
    last_seq    BIGINT NOT NULL,
    last_since  TIMESTAMPTZ NOT NULL,
    change_seq  BIGINT NOT NULL,
    began       TIMESTAMPTZ NOT NULL,
    present     BOOLEAN NOT NULL,
    paused      BOOLEAN NOT NULL,
    reason      VARCHAR NOT NULL,
    member_name VARCHAR,          -- the newest non-NULL name
    name_seq    BIGINT,           -- its row's seq
    rows        BIGINT NOT NULL
);

-- The one definition of member_changes' rows: those of the members with rows after seq
-- `after_seq`, folded from member_heads (their rows up to after_seq, as kept) and the rows
-- after it. Each member's held row (member_heads.change_seq) comes out again with its new
-- end; with member_heads empty and after_seq -1, every row from scratch. A member's rows
-- between its held row and its last one restate the held row's presence and are each dated
-- no later than the next (else they were kept), so the held row (at its began) and the last
-- row stand for them all.
CREATE OR REPLACE MACRO member_changes_of(after_seq) AS TABLE
WITH fresh AS (
    SELECT rowid AS seq, pbx, queue, interface, since, present, paused,
           coalesce(paused_reason, '') AS reason
    FROM member_states
    WHERE rowid > after_seq
),
touched AS (
    SELECT DISTINCT pbx, queue, interface FROM fresh
),
shared AS (
    -- Devices that are members of several queues (any queues: a superset of the chosen ones'
    -- "several", whose extra rows only cut a span in two of the same state).
    SELECT pbx, interface
    FROM (SELECT pbx, queue, interface FROM member_heads
          UNION
          SELECT pbx, queue, interface FROM touched)
    GROUP BY pbx, interface
    HAVING count(*) > 1
),
folded AS (
    SELECT h.change_seq AS seq, h.pbx, h.queue, h.interface, h.began AS since, h.present,
           h.paused, h.reason
    FROM member_heads AS h
    JOIN touched AS t USING (pbx, queue, interface)
    UNION ALL
    SELECT h.last_seq, h.pbx, h.queue, h.interface, h.last_since, h.present, h.paused, h.reason
    FROM member_heads AS h
    JOIN touched AS t USING (pbx, queue, interface)
    WHERE h.last_seq <> h.change_seq
    UNION ALL
    SELECT * FROM fresh
),
marked AS (
    SELECT f.*,
           (f.present, f.paused, f.reason) IS DISTINCT FROM lag((f.present, f.paused, f.reason)) OVER w
               OR f.since > lead(f.since) OVER w
               OR (f.present AND f.paused AND s.pbx IS NOT NULL) AS kept
    FROM folded AS f
    LEFT JOIN shared AS s USING (pbx, interface)
    WINDOW w AS (PARTITION BY f.pbx, f.queue, f.interface ORDER BY f.seq)
)
SELECT seq, pbx, queue, interface, present, paused, reason,
       max(since) OVER w AS began,
       -- (greatest skips a NULL: the last row's lead is tested apart)
       CASE WHEN lead(since) OVER w IS NULL THEN 'infinity'::TIMESTAMPTZ
            ELSE greatest(max(since) OVER w, lead(since) OVER w) END AS ended
FROM marked
WHERE kept
WINDOW w AS (PARTITION BY pbx, queue, interface ORDER BY seq
             ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW);

-- Presence per device and UTC day, and per UTC hour for recent days: agent_summary's presence
-- and observed talk, kept by the writer (storage/agent_days.py) so that a range of all
-- queues, or of one queue, reads its whole days from agent_days, the whole hours at its
-- edges from agent_hours when they are recent, and folds only what is left from
-- member_changes (less than an hour at each end of a recent range; up to two at the end of a
-- range until now). One row per device, queue (NULL: all queues together; a name: that
-- queue as if it alone were chosen), day or hour (since 1970-01-01 UTC) and pause reason
-- (NULL: time not paused, and the observed talk); every figure is additive over time:
-- logged_in_s and pause_s of the pieces with that reason, talk_s the time the device's agent
-- talked on an answered queue call while the device was logged in. A day or hour has a row
-- for each device (and queue) with any presence known in it (logged_in_s 0 if never logged
-- in). Several chosen queues read each device's rows of all queues or of its one chosen
-- queue where those equal its presence over them (queries/agent_summary.sql `several`); a
-- device with two or more of its several memberships chosen is folded: paused in one of
-- them and not in another is not paused, which no sum of per-queue rows can tell.
CREATE TABLE IF NOT EXISTS agent_days (
    pbx         VARCHAR NOT NULL,
    interface   VARCHAR NOT NULL,
    queue       VARCHAR,
    day         BIGINT NOT NULL,
    reason      VARCHAR,
    logged_in_s DOUBLE NOT NULL,
    pause_s     DOUBLE NOT NULL,
    talk_s      DOUBLE NOT NULL
);
-- The same per hour, for the hours from hours_from to upto_hour only (the last
-- storage/agent_days.py HOURS_KEPT_DAYS days and today's hours): what the pages ask most
-- (a local day, a week, a month) has its edges there, and hours for all of history would
-- cost ten times the rows of the days and their fold.
CREATE TABLE IF NOT EXISTS agent_hours (
    pbx         VARCHAR NOT NULL,
    interface   VARCHAR NOT NULL,
    queue       VARCHAR,
    hour        BIGINT NOT NULL,
    reason      VARCHAR,
    logged_in_s DOUBLE NOT NULL,
    pause_s     DOUBLE NOT NULL,
    talk_s      DOUBLE NOT NULL
);
-- One row: agent_days holds the days before upto_hour // 24, agent_hours the hours from
-- hours_from (a midnight) to upto_hour (the hour before the current one; later hours are
-- still live), folded while the devices had the names names_key fingerprints (a rename moves
-- talk between devices), from member_states and queue_calls of states_n and calls_n rows
-- (checked at open). reach_s bounds how long after entering a stay entered before upto_hour
-- still talked (answered_at + talk_s - entered_at): a folded edge reads the talks that
-- entered up to that long before it.
CREATE TABLE IF NOT EXISTS agent_days_state (
    upto_hour  BIGINT NOT NULL,
    hours_from BIGINT NOT NULL,
    names_key  UBIGINT NOT NULL,
    states_n   BIGINT NOT NULL,
    calls_n    BIGINT NOT NULL,
    reach_s    DOUBLE NOT NULL
);
-- Days from which agent_days and agent_hours are behind: a queue_log import writes its rows
-- without recomputing them and does so once at its end (storage/agent_days.py `defer`,
-- `settle`); a row left here (an import that stopped) is settled at the next open.
CREATE TABLE IF NOT EXISTS agent_days_pending (
    since_day BIGINT NOT NULL
);
-- member_states rows a queue_log import or follower appended without putting the changelog
-- in time order (it does so once, at its end: storage/presence.py `order_members`), from
-- first_rowid on; a row left here (a load that stopped) is put in order at the next open.
CREATE TABLE IF NOT EXISTS member_states_unordered (
    pbx         VARCHAR NOT NULL,
    first_rowid BIGINT NOT NULL
);

-- How long after entering a stay can still be talking: the stored bound for the stays before
-- upto_hour, the stays since then read (few; all of them without a state row).
CREATE OR REPLACE MACRO talk_reach() AS (
    SELECT greatest(
        (SELECT coalesce(max(reach_s), 0) FROM agent_days_state),
        (SELECT coalesce(max(epoch_us(answered_at) - epoch_us(entered_at)) / 1e6
                         + max(talk_s), 0)
         FROM queue_calls
         WHERE outcome = 'answered' AND answered_at IS NOT NULL
           AND entered_at >= coalesce((SELECT to_timestamp(max(upto_hour) * 3600)
                                       FROM agent_days_state), '-infinity'::TIMESTAMPTZ))));

-- `queue` is one of `queues` (NULL: all). agent_time filters by its argument itself, not by
-- a join with a parameter row: such a join kept DuckDB from narrowing the scans to the
-- range's bounds (all 10M stays read for one queue's day, bench/README.md).
CREATE OR REPLACE MACRO in_chosen(queues, queue) AS
    CAST(queues AS VARCHAR[]) IS NULL OR list_contains(CAST(queues AS VARCHAR[]), queue);

-- agent_time's keys, a device's interface and the agent name its talk is matched by: as they
-- are, or with by_queue the queue after a NUL, so that each membership is a device of its own
-- and one fold folds every queue apart, while a fold of all or of chosen queues plans as it
-- did before (a queue column in every partition made it 5-30 % slower, bench/README.md).
CREATE OR REPLACE MACRO member_key(by_queue, key, queue) AS
    CASE WHEN by_queue THEN key || chr(0) || queue ELSE key END;

-- agent_summary's presence in two disjoint ranges [start1, end1) and [start2, end2) (a start
-- NULL: from the first row; an end NULL: until now, and never past now) for the chosen queues
-- (NULL: all), per device, slot and pause reason: agent_days' and agent_hours' columns, slots
-- of `unit` microseconds (a UTC day or hour; slot: its number since 1970-01-01). The one
-- definition of their rows and of the query's edges (two ranges in one fold: what is left
-- at the query's start and end, planned once). talk_from1 and talk_from2 bound the stays whose
-- talk is read for each range (NULL: all). by_queue: each chosen queue apart, as if it alone
-- were chosen (queue: its name), in one fold, for the kept rows of every queue; else the
-- chosen queues together (queue: NULL).
CREATE OR REPLACE MACRO agent_time(start1, end1, start2, end2, chosen_queues, talk_from1,
                                   talk_from2, by_queue := false,
                                   unit := 86400000000) AS TABLE
WITH p AS (
    SELECT CAST(chosen_queues AS VARCHAR[]) AS queues, now() AS now_at
),
spans AS (
    -- The chosen queues' presence changes that hold some time in each range, clipped to it
    -- (member_changes is stored in order of its rows' end: zone maps skip the changes ended
    -- before the range; coalesce, not "IS NULL OR", so that a bound read from a table still
    -- skips them). 'infinity': the row still holds, until now.
    SELECT 1 AS w, c.seq, c.pbx, c.queue,
           member_key(by_queue, c.interface, c.queue) AS interface, c.present, c.paused, c.reason,
           greatest(c.began, coalesce(CAST(start1 AS TIMESTAMPTZ), c.began)) AS lo,
           least(CASE WHEN c.ended = 'infinity' THEN p.now_at ELSE c.ended END,
                 coalesce(CAST(end1 AS TIMESTAMPTZ), p.now_at)) AS hi
    FROM member_changes AS c, p
    WHERE in_chosen(chosen_queues, c.queue)
      AND c.began < coalesce(CAST(end1 AS TIMESTAMPTZ), 'infinity'::TIMESTAMPTZ)
      AND c.ended > coalesce(CAST(start1 AS TIMESTAMPTZ), '-infinity'::TIMESTAMPTZ)
    UNION ALL
    SELECT 2 AS w, c.seq, c.pbx, c.queue,
           member_key(by_queue, c.interface, c.queue), c.present, c.paused, c.reason,
           greatest(c.began, coalesce(CAST(start2 AS TIMESTAMPTZ), c.began)),
           least(CASE WHEN c.ended = 'infinity' THEN p.now_at ELSE c.ended END,
                 coalesce(CAST(end2 AS TIMESTAMPTZ), p.now_at))
    FROM member_changes AS c, p
    WHERE in_chosen(chosen_queues, c.queue)
      AND c.began < coalesce(CAST(end2 AS TIMESTAMPTZ), 'infinity'::TIMESTAMPTZ)
      AND c.ended > coalesce(CAST(start2 AS TIMESTAMPTZ), '-infinity'::TIMESTAMPTZ)
),
live AS (
    SELECT * FROM spans WHERE hi > lo
),
memberships AS (
    -- Most devices are a member of one chosen queue: their spans are their pieces as they
    -- are. Only the others are cut and matched below.
    SELECT w, pbx, interface, count(DISTINCT queue) > 1 AS shared
    FROM live
    GROUP BY w, pbx, interface
),
multi AS (
    SELECT l.* FROM live AS l JOIN memberships AS m USING (w, pbx, interface) WHERE m.shared
),
cuts AS (
    SELECT w, pbx, interface, lo AS cut FROM multi
    UNION
    SELECT w, pbx, interface, hi AS cut FROM multi
),
pieces AS (
    -- The device's timeline cut wherever any of its memberships changes state.
    SELECT w, pbx, interface, cut AS lo,
           lead(cut) OVER (PARTITION BY w, pbx, interface ORDER BY cut) AS hi
    FROM cuts
),
covered AS (
    -- Each piece against each of the device's memberships: the membership's latest interval
    -- begun by then (an ASOF join, linear where a range join would be quadratic) holds the
    -- piece when it lasts to the piece's end. This join and `runs`' below order one row
    -- value (the keys, then the time) and check the keys after, with no equality keys:
    -- DuckDB hash-partitions those into bins by its estimate of the rows, thousands here,
    -- and an edge of a few dozen pieces took 3-15 ms per join (bench/README.md, session 11).
    SELECT g.w, g.pbx, g.interface, g.lo, g.hi, s.seq, s.present, s.paused, s.reason
    FROM (SELECT g.*, m.queue
          FROM pieces AS g
          JOIN (SELECT DISTINCT w, pbx, interface, queue FROM multi) AS m
            ON m.w = g.w AND m.pbx = g.pbx AND m.interface = g.interface
          WHERE g.hi IS NOT NULL) AS g
    ASOF JOIN multi AS s
      ON (g.w, g.pbx, g.interface, g.queue, g.lo) >= (s.w, s.pbx, s.interface, s.queue, s.lo)
    WHERE s.w = g.w AND s.pbx = g.pbx AND s.interface = g.interface AND s.queue = g.queue
      AND s.hi >= g.hi
),
device_time AS (
    -- In epoch microseconds: integer arithmetic, where TIMESTAMPTZ arithmetic goes through
    -- the calendar (ICU), ~50x slower.
    SELECT w, pbx, interface, epoch_us(lo) AS lo_us, epoch_us(hi) AS hi_us,
           bool_or(present) AS logged_in,
           coalesce(bool_and(paused) FILTER (WHERE present), false) AS paused,
           arg_max(reason, seq) FILTER (WHERE present AND paused) AS reason
    FROM covered
    GROUP BY w, pbx, interface, lo, hi
    UNION ALL
    -- The same for a device of one membership: its spans, which never overlap.
    SELECT l.w, l.pbx, l.interface, epoch_us(l.lo), epoch_us(l.hi), l.present,
           l.present AND l.paused, CASE WHEN l.present AND l.paused THEN l.reason END
    FROM live AS l
    JOIN memberships AS m USING (w, pbx, interface)
    WHERE NOT m.shared
),
slot_time AS (
    -- Each piece cut at its slots (`unit` microseconds: a UTC day, or an hour).
    SELECT pbx, interface, slot, logged_in, paused,
           CASE WHEN logged_in AND paused THEN reason END AS reason,
           (least(hi_us, (slot + 1) * unit) - greatest(lo_us, slot * unit)) / 1e6
               AS secs
    FROM (SELECT *, unnest(range(lo_us // unit, (hi_us - 1) // unit + 1)) AS slot
          FROM device_time)
),
names AS (
    -- A device is named by its chosen memberships' newest name (member_heads, kept with
    -- member_changes); with by_queue, each membership by its own.
    SELECT pbx, member_key(by_queue, interface, queue) AS interface,
           member_key(by_queue, agent, queue) AS agent,
           row_number() OVER (ORDER BY pbx, interface, queue) AS did
    FROM (SELECT h.pbx, h.interface, CASE WHEN by_queue THEN h.queue END AS queue,
                 coalesce(arg_max(h.member_name, h.name_seq), h.interface) AS agent
          FROM member_heads AS h, p
          WHERE p.queues IS NULL OR list_contains(p.queues, h.queue)
          GROUP BY h.pbx, h.interface, CASE WHEN by_queue THEN h.queue END)
),
logged AS (
    SELECT w, pbx, interface, lo_us, hi_us FROM device_time WHERE logged_in
),
runs AS (
    -- Each device's logged-in time as maximal runs (a login session, give or take): a run
    -- starts at a logged-in piece that no logged-in piece ends at and ends at the first
    -- such end after it. Hash joins and a small ASOF join, where merging pieces in order
    -- would sort them all.
    SELECT s.w, s.pbx, s.interface, s.lo_us, e.hi_us
    FROM (SELECT * FROM logged AS l
          WHERE NOT EXISTS (SELECT 1 FROM logged AS k
                            WHERE k.w = l.w AND k.pbx = l.pbx AND k.interface = l.interface
                              AND k.hi_us = l.lo_us)) AS s
    ASOF JOIN (SELECT * FROM logged AS l
               WHERE NOT EXISTS (SELECT 1 FROM logged AS k
                                 WHERE k.w = l.w AND k.pbx = l.pbx
                                   AND k.interface = l.interface AND k.lo_us = l.hi_us)) AS e
      ON (e.w, e.pbx, e.interface, e.hi_us) > (s.w, s.pbx, s.interface, s.lo_us)  -- (covered)
    WHERE e.w = s.w AND e.pbx = s.pbx AND e.interface = s.interface
),
run_slots AS (
    -- Runs and talks (below) both listed per slot they touch, so that matching them is a
    -- hash join on the range, the device and the slot.
    SELECT r.w, n.did, r.lo_us, r.hi_us,
           unnest(range(r.lo_us // unit, (r.hi_us - 1) // unit + 1)) AS slot
    FROM runs AS r
    JOIN names AS n USING (pbx, interface)
),
talks AS (
    -- A stay talks after it entered: for each range, none entered after its end, nor so long
    -- before its start (talk_from) that it had hung up by then.
    SELECT 1 AS w, member_key(by_queue, c.agent, c.queue) AS agent, c.answered_at, c.talk_s
    FROM queue_calls AS c
    WHERE c.outcome = 'answered' AND c.answered_at IS NOT NULL AND c.talk_s > 0
      AND c.entered_at < coalesce(CAST(end1 AS TIMESTAMPTZ), 'infinity'::TIMESTAMPTZ)
      AND c.entered_at >= coalesce(CAST(talk_from1 AS TIMESTAMPTZ), '-infinity'::TIMESTAMPTZ)
      AND in_chosen(chosen_queues, c.queue)
    UNION ALL
    SELECT 2 AS w, member_key(by_queue, c.agent, c.queue), c.answered_at, c.talk_s
    FROM queue_calls AS c
    WHERE c.outcome = 'answered' AND c.answered_at IS NOT NULL AND c.talk_s > 0
      AND c.entered_at < coalesce(CAST(end2 AS TIMESTAMPTZ), 'infinity'::TIMESTAMPTZ)
      AND c.entered_at >= coalesce(CAST(talk_from2 AS TIMESTAMPTZ), '-infinity'::TIMESTAMPTZ)
      AND in_chosen(chosen_queues, c.queue)
),
talk_slots AS (
    SELECT t.w, n.did, t.lo_us, t.hi_us,
           unnest(range(t.lo_us // unit, (t.hi_us - 1) // unit + 1)) AS slot
    FROM (SELECT w, agent, epoch_us(answered_at) AS lo_us,
                 epoch_us(answered_at) + CAST(talk_s * 1e6 AS BIGINT) AS hi_us
          FROM talks) AS t
    JOIN names AS n USING (agent)
),
device_talk AS (
    -- Observed talk: each talk's overlap with its devices' logged-in runs in the same range
    -- (already clipped to it and to now), slot by slot so that nothing counts twice.
    SELECT t.did, t.slot,
           sum(greatest(least(t.hi_us, r.hi_us, (t.slot + 1) * unit)
                        - greatest(t.lo_us, r.lo_us, t.slot * unit), 0)) / 1e6 AS talk_s
    FROM talk_slots AS t
    JOIN run_slots AS r ON r.w = t.w AND r.did = t.did AND r.slot = t.slot
    GROUP BY t.did, t.slot
)
SELECT pbx, split_part(interface, chr(0), 1) AS interface,
       nullif(split_part(interface, chr(0), 2), '') AS queue, slot, reason,
       sum(logged_in_s) AS logged_in_s, sum(pause_s) AS pause_s, sum(talk_s) AS talk_s
FROM (
    SELECT pbx, interface, slot, reason,
           coalesce(sum(secs) FILTER (WHERE logged_in), 0) AS logged_in_s,
           coalesce(sum(secs) FILTER (WHERE logged_in AND paused), 0) AS pause_s,
           0.0 AS talk_s
    FROM slot_time
    GROUP BY pbx, interface, slot, reason
    UNION ALL
    SELECT n.pbx, n.interface, t.slot, NULL, 0.0, 0.0, t.talk_s
    FROM device_talk AS t
    JOIN names AS n USING (did)
)
GROUP BY pbx, interface, slot, reason;
