"""The file import's fast path: DuckDB folds the regular queue stays of a chunk of queue_log.

Most stays in a queue_log are regular: ENTERQUEUE, ring lines, maybe a CONNECT, then one line
that ends the stay, all well formed and in one chunk. DuckDB splits the lines and folds those
stays with a GROUP BY into the same QueueCall / RingAttempt rows the Python fold
(storage/queue_log.py) makes, as Arrow tables: no Python object per line or row, which is where
the import's time went (bench/README.md). Everything the shape check (`_FOLD`) does not accept
goes to the Python fold, in file order and with its line numbers: re-entries, late lines,
lines before their ENTERQUEUE, stays open across chunks or cut by QUEUESTART, transfers,
AGENTDUMP, fractional epochs, malformed lines, member and unknown lines. So exactness never
depends on this path guessing: it takes a stay only when it can be sure the Python fold would
have made exactly these rows of it (tests/storage/test_queue_log_fast.py compares the two).

The Python fold also remembers recently ended stays (to tell a late line from an orphan): the
regular stays' ENTERQUEUE and end lines reach it as markers, so that memory evolves as if it
had folded them itself.

Runs on its own in-memory DuckDB connection: it reads no table of the store, and the store's
writer only receives the finished rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import duckdb
import pyarrow as pa

from storage.queue_log import SOURCE, QueueLogFolder

# Work items handed to the Python fold (`QueueLogFolder.feed_rest`): a line to fold, or a
# marker for a regular stay's ENTERQUEUE / end line.
LINE, ENTER_MARK, END_MARK = 0, 1, 2

# Verbs that belong to a stay (ENTERQUEUE and storage/queue_log.py's _HANDLERS): all lines with
# one of these and the same (callid, queue) are one group; only groups of the accepted shape
# below are folded here.
_CALL_VERBS = (
    "ENTERQUEUE", "CONNECT", "AGENTDUMP", "BLINDTRANSFER", "TRANSFER", "ATTENDEDTRANSFER",
    "SYSCOMPAT", "ABANDON", "EXITWITHTIMEOUT", "EXITEMPTY", "EXITWITHKEY", "COMPLETEAGENT",
    "COMPLETECALLER", "RINGNOANSWER", "RINGCANCELED",
)  # fmt: skip

# The shape of a line this path folds, as a whole-line regular expression: exactly the field
# layout Asterisk 16 writes, every number a plain whole number that float()/int() in the Python
# fold read the same way (at most 9 digits, so no rounding; an epoch of at most 10 digits).
# Exit lines: the position field (only informative) is empty, at most 9 digits or not a number,
# never 10+ digits (the Python fold would make that an int too large for INTEGER).
_ANY = r"[^|]*"
_NUM = r"[0-9]{1,9}"
SHAPE = (
    rf"[0-9]{{1,10}}\|{_ANY}\|{_ANY}\|{_ANY}\|("
    rf"ENTERQUEUE\|{_ANY}\|{_ANY}\|[0-9]{{0,9}}"
    rf"|(RINGNOANSWER|RINGCANCELED)\|{_NUM}"
    rf"|CONNECT\|{_NUM}\|{_ANY}\|{_NUM}"
    rf"|(COMPLETEAGENT|COMPLETECALLER)\|{_NUM}\|{_NUM}\|{_ANY}"
    rf"|(ABANDON|EXITWITHTIMEOUT|EXITEMPTY)\|([0-9]{{0,9}}|{_ANY}[^0-9|]{_ANY})\|{_ANY}\|{_NUM}"
    r")"
)

# Per line with a stay's verb: its fields split as the Python fold splits them (a trailing CR
# stripped first; lines never hold an LF), and whether it has the SHAPE above (an ENTERQUEUE
# needs a callid too). Only the fields the rows need are kept.
_LINES = """
CREATE OR REPLACE TEMP TABLE ql AS
WITH split AS (
    SELECT n, line, string_split(line, '|') AS p
    FROM (SELECT n, CASE WHEN ends_with(line, chr(13)) THEN rtrim(line, chr(13)) ELSE line END
                    AS line
          FROM chunk)
)
SELECT n, p[2] AS callid, p[3] AS queue, p[4] AS agent, p[5] AS verb,
       p[6] AS d1, p[7] AS d2, p[8] AS d3,
       regexp_full_match(line, $shape) AND (p[5] <> 'ENTERQUEUE' OR p[2] <> '') AS ok,
       TRY_CAST(p[1] AS BIGINT) AS epoch
FROM split
WHERE len(p) >= 5 AND list_contains($call_verbs, p[5])"""

# The regular stays: exactly one ENTERQUEUE, first; exactly one end line, last; in between only
# ring lines and, for an answered stay, exactly one CONNECT (none for an exit); every line ok;
# the stay not already open in the Python fold (then this ENTERQUEUE would close that one).
# A chunk with a QUEUESTART line (an Asterisk restart closes every open stay) has none.
_REGULAR = """
CREATE OR REPLACE TEMP TABLE regular AS
SELECT callid, queue,
       any_value(epoch) FILTER (verb = 'ENTERQUEUE') AS e_epoch,
       any_value(d2) FILTER (verb = 'ENTERQUEUE') AS e_caller,
       any_value(d3) FILTER (verb = 'ENTERQUEUE') AS e_position,
       any_value(epoch) FILTER (verb = 'CONNECT') AS c_epoch,
       any_value(agent) FILTER (verb = 'CONNECT') AS c_agent,
       any_value(d1) FILTER (verb = 'CONNECT') AS c_hold,
       arg_max(epoch, n) AS x_epoch, arg_max(verb, n) AS x_verb, arg_max(d1, n) AS x_d1,
       arg_max(d2, n) AS x_d2, arg_max(d3, n) AS x_d3,
       min(n) AS n_enter, max(n) AS n_end,
       (count(*) - 2)::INTEGER AS rings
FROM ql ANTI JOIN open_keys USING (callid, queue)
WHERE NOT EXISTS (SELECT 1 FROM chunk WHERE contains(line, 'QUEUESTART'))
GROUP BY callid, queue
HAVING bool_and(ok)
   AND count(*) FILTER (verb = 'ENTERQUEUE') = 1
   AND min(n) = min(n) FILTER (verb = 'ENTERQUEUE')
   AND count(*) FILTER (verb IN ('COMPLETEAGENT', 'COMPLETECALLER')) +
       count(*) FILTER (verb IN ('ABANDON', 'EXITWITHTIMEOUT', 'EXITEMPTY')) = 1
   AND max(n) = max(n) FILTER (verb NOT IN ('ENTERQUEUE', 'CONNECT', 'RINGNOANSWER',
                                            'RINGCANCELED'))
   AND count(*) FILTER (verb = 'CONNECT')
       = count(*) FILTER (verb IN ('COMPLETEAGENT', 'COMPLETECALLER'))"""

# queue_calls rows, columns in the table's order, as storage/queue_log.py's _complete / _exit
# build them.
_CALLS = """
SELECT $pbx AS pbx, queue, callid AS call_id, callid AS linkedid,
       nullif(e_caller, '') AS caller_num, NULL::VARCHAR AS caller_name,
       to_timestamp(e_epoch) AS entered_at, nullif(e_position, '')::INTEGER AS position,
       CASE x_verb WHEN 'ABANDON' THEN 'abandoned' WHEN 'EXITWITHTIMEOUT' THEN 'timeout'
                   WHEN 'EXITEMPTY' THEN 'exitempty' ELSE 'answered' END AS outcome,
       CASE WHEN c_epoch IS NULL THEN x_d3::DOUBLE ELSE c_hold::DOUBLE END AS wait_s,
       to_timestamp(c_epoch) AS answered_at, nullif(c_agent, '') AS agent,
       NULL::VARCHAR AS interface,
       CASE WHEN c_epoch IS NOT NULL THEN x_d2::DOUBLE END AS talk_s,
       CASE x_verb WHEN 'COMPLETEAGENT' THEN 'agent' WHEN 'COMPLETECALLER' THEN 'caller'
       END AS ended_by,
       to_timestamp(x_epoch) AS ended_at, rings AS ring_attempts, $source AS source,
       false AS gap,
       CASE WHEN c_epoch IS NULL AND regexp_full_match(x_d1, '[0-9]+') THEN x_d1::INTEGER
       END AS left_position
FROM regular ORDER BY n_end"""

# ring_attempts rows: a CONNECT's ring time is whole seconds, a ring verb's milliseconds.
_ATTEMPTS = """
SELECT $pbx AS pbx, queue, callid AS call_id, nullif(agent, '') AS agent, '' AS interface,
       CASE verb WHEN 'CONNECT' THEN to_timestamp(epoch) - to_seconds(d3::BIGINT)
            ELSE to_timestamp(epoch) - to_microseconds(d1::BIGINT * 1000)
       END AS started_at,
       CASE verb WHEN 'CONNECT' THEN d3::DOUBLE ELSE d1::DOUBLE / 1000 END AS ring_s,
       CASE verb WHEN 'CONNECT' THEN 'answered' WHEN 'RINGNOANSWER' THEN 'noanswer'
            ELSE 'canceled' END AS result,
       $source AS source
FROM ql SEMI JOIN regular USING (callid, queue)
WHERE verb IN ('CONNECT', 'RINGNOANSWER', 'RINGCANCELED')
ORDER BY n"""

# What the Python fold still does, in file order: every line outside a regular stay, and the
# markers of each regular stay: its end; its ENTERQUEUE only if the fold's memory of ended
# stays holds the key at the chunk's start (then the ENTERQUEUE forgets it; no other key can
# get there before the stay's own end, all its lines being here).
_REST = """
SELECT n, 0 AS kind, NULL AS callid, NULL AS queue FROM chunk
WHERE n NOT IN (SELECT n FROM ql SEMI JOIN regular USING (callid, queue))
UNION ALL SELECT n_enter, 1, callid, queue FROM regular SEMI JOIN ended_keys USING (callid, queue)
UNION ALL SELECT n_end, 2, callid, queue FROM regular
ORDER BY n"""


@dataclass(frozen=True)
class FastRows:
    """The rows of a chunk's regular stays, as Arrow tables in the store's column order."""

    calls: pa.Table
    attempts: pa.Table


class FastFolder:
    """Folds a queue_log chunk by chunk: regular stays in DuckDB, the rest in Python.

    Same results as feeding the chunks to a QueueLogFolder alone (its account included); the
    Python fold's rows come back as objects, the regular stays' as FastRows.
    """

    def __init__(self, folder: QueueLogFolder) -> None:
        self.folder = folder
        self._con = duckdb.connect()  # in memory; one thread, the import is one of them
        self._con.execute("SET threads = 1")  # chunks are small; threads only add contention

    def close(self) -> None:
        self._con.close()

    def feed(self, lines: list[str]) -> tuple[FastRows, list[tuple[int, int, str, str]]]:
        """Folds the regular stays of `lines`; returns their rows and the work left for
        `QueueLogFolder.feed_rest` (line number from 1, kind, callid, queue)."""
        con = self._con
        chunk = pa.table({"n": pa.array(range(1, len(lines) + 1), pa.int64()), "line": lines})
        con.register("chunk", chunk)
        con.register("open_keys", _keys(self.folder.open_keys()))
        con.register("ended_keys", _keys(self.folder.ended_keys()))
        try:
            con.execute(_LINES, {"call_verbs": list(_CALL_VERBS), "shape": SHAPE})
            con.execute(_REGULAR)
            params = {"pbx": self.folder.pbx, "source": SOURCE}
            rows = FastRows(
                con.sql(_CALLS, params=params).to_arrow_table(),
                con.sql(_ATTEMPTS, params=params).to_arrow_table(),
            )
            # Columns to Python lists, zipped: a third faster than fetchall's rows.
            columns = (c.to_pylist() for c in con.sql(_REST).to_arrow_table().columns)
            rest: list[tuple[int, int, str, str]] = list(zip(*columns, strict=True))
        finally:
            con.unregister("chunk")
            con.unregister("open_keys")
            con.unregister("ended_keys")
        return rows, rest


def _keys(keys: Iterable[tuple[str, str]]) -> pa.Table:
    pairs = list(keys)
    return pa.table({
        "callid": pa.array([k[0] for k in pairs], pa.string()),
        "queue": pa.array([k[1] for k in pairs], pa.string()),
    })  # fmt: skip
