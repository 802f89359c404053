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
    membership    VARCHAR NOT NULL        -- static|dynamic|realtime
);

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
