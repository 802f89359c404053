"""Agent presence from queue_log's member lines, as `member_states` rows (source `queue_log`).

The collector writes `member_states` from QueueMemberAdded/Removed/Pause/Status; a queue_log
import folds the member lines into rows of the same meaning, so that imported years have
sessions, pauses and occupancy on the pages. Layouts, as Asterisk 16's app_queue.c writes them
with the default `log_membername_as_agent=no` (checked on the lab Asterisk:
tests/collectors/test_outcomes_lab.py, and ../shared/ASTERISK-NOTES.md):
    ADDMEMBER      callid MANAGER|REALTIME|<channel>, agent = interface, data1 PAUSED or ""
    REMOVEMEMBER   agent = interface
    PAUSE          callid NONE, agent = member name, data1 = reason ("" for none)
    UNPAUSE        agent = member name
    PAUSEALL       queue NONE, agent = member name; Asterisk then writes one PAUSE (UNPAUSE)
    UNPAUSEALL     line per queue the member is in, which carry the change: these change nothing
    PENALTY        agent = interface, data1 = penalty;   RINGINUSE: data1 = 0|1
AGENTLOGIN/AGENTLOGOFF (chan_agent, app_agent_pool) log an Agent/ channel in or out: a device
state of a member, not its membership, so they are not folded (nor are they in Asterisk 16's
queue calls). With `log_membername_as_agent=yes` the agent field is the name on every verb.

Rows are keyed by interface. An agent field with a '/' is an interface (a member added without
a MemberName is named by it); a name is resolved when written (`write_members`): the names
given on the command line, else the interface the collector saw with that name in that queue,
else in any queue of the PBX when only one interface carries it. A line whose name resolves to
nothing is counted and left out: one guess could merge two agents.

Where the collector's rows take over (`write_members`): queue_log fills a PBX's presence
before the collector's first `member_states` row for it (the horizon), and inside the
collector's outages after it: from the end of an AMI session (`connection_sessions`, closed)
to the start of the next one, or until now when none followed. Elsewhere the collector's
changelog states every member at every time, so queue_log rows there would double it. At the
horizon every member queue_log still had present gets a closing row (present false): the
collector's first snapshot lists the members from then on. An outage needs none: at the next
session the collector restates what differs from its last state, and the rows filled in the
outage land before that restatement (the changelog is put in time order, `order_members`).
A session whose end was never written (the service killed) leaves its outage unknown: the
collector's last state carries through it, as it did before outages were filled.

An import writes its chunks' rows as they come and puts the changelog in time order once, at
its end (`order_members`); until then `member_states_unordered` says from which row on it may
be out of order, so that a load that stops before its end is put in order at the next open
(`order_left`).
"""

from __future__ import annotations

import contextlib
import logging
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

import duckdb
import pyarrow as pa

from collectors.rows import MemberState
from storage import member_changes
from storage.store import scalar, to_arrow

log = logging.getLogger(__name__)

SOURCE = "queue_log"
_DATA = 5  # index of the first data field in a split line

# Verbs that change a member's state or what its rows carry; the others are counted.
PRESENCE_VERBS = frozenset({
    "ADDMEMBER", "REMOVEMEMBER", "PAUSE", "UNPAUSE", "PENALTY", "RINGINUSE",
})  # fmt: skip


class MemberLineError(ValueError):
    """A member line that cannot be read (queue_log.py reports it as a bad line)."""


@dataclass(slots=True)
class _Member:
    """What the fold knows of one (queue, agent field) so far."""

    present: bool = False
    paused: bool = False
    reason: str | None = None
    membership: str = "unknown"
    penalty: int = 0
    ringinuse: bool = False
    written: bool = False  # a row was made: the next one is written only on a change


@dataclass
class MemberFold:
    """Folds the member lines of one PBX's queue_log, oldest first, into MemberState rows.

    A row is made when (present, paused, reason) changes, as the collector writes one when
    the member's state changes. `skipped` counts member verbs that change nothing here.
    """

    pbx: str
    rows: list[MemberState] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)
    _members: dict[tuple[str, str], _Member] = field(default_factory=dict)

    def line(self, time: datetime, parts: list[str]) -> None:
        """One split member line (epoch|callid|queue|agent|VERB|data...)."""
        verb = parts[4]
        if verb not in PRESENCE_VERBS:
            self.skipped[verb] += 1  # PAUSEALL/UNPAUSEALL (their per-queue lines follow), ...
            return
        queue, agent = parts[2], parts[3]
        if not queue or queue == "NONE" or not agent:
            raise MemberLineError(f"{verb} without a queue or a member")
        data = parts[_DATA] if len(parts) > _DATA else ""
        member = self._members.setdefault((queue, agent), _Member())
        before = (member.present, member.paused, member.reason)
        _VERBS[verb](member, parts[1], data)
        if member.written and (member.present, member.paused, member.reason) == before:
            return
        member.written = True
        named = "/" not in agent  # an interface, or a name resolved when written
        self.rows.append(MemberState(
            self.pbx, queue, agent, agent if named else None, 0, member.paused,
            member.reason if member.paused else None, False, 0, time, member.present,
            member.penalty, member.ringinuse, member.membership, SOURCE,
        ))  # fmt: skip

    def take(self) -> list[MemberState]:
        """The rows made since the last take."""
        rows, self.rows = self.rows, []
        return rows


def _add(m: _Member, callid: str, data: str) -> None:
    m.present, m.paused, m.reason = True, data == "PAUSED", None
    m.membership = "realtime" if callid == "REALTIME" else "dynamic"


def _remove(m: _Member, callid: str, data: str) -> None:
    m.present, m.paused, m.reason = False, False, None


def _pause(m: _Member, callid: str, data: str) -> None:
    # Asterisk pauses members only: a pause proves membership (static, or added earlier).
    m.present, m.paused, m.reason = True, True, data or None


def _unpause(m: _Member, callid: str, data: str) -> None:
    m.present, m.paused, m.reason = True, False, None  # Asterisk clears the reason too


def _penalty(m: _Member, callid: str, data: str) -> None:
    with contextlib.suppress(ValueError):  # not a number: the penalty stays as it was
        value = int(data)
        if abs(value) < 1 << 31:  # the column is an INTEGER
            m.penalty = value


def _ringinuse(m: _Member, callid: str, data: str) -> None:
    m.ringinuse = data == "1"


_VERBS: dict[str, Callable[[_Member, str, str], None]] = {
    "ADDMEMBER": _add, "REMOVEMEMBER": _remove, "PAUSE": _pause, "UNPAUSE": _unpause,
    "PENALTY": _penalty, "RINGINUSE": _ringinuse,
}  # fmt: skip


@dataclass
class MembersWritten:
    """What one write of member rows did."""

    added: int = 0  # rows added, closing rows at the horizon included
    unmapped: Counter[str] = field(default_factory=Counter)  # member names with no interface
    observed: int = 0  # rows left out: the collector saw their time (after the horizon)
    in_outages: int = 0  # of the rows added, those inside the collector's outages
    reordered: bool = False  # the changelog was rewritten to keep arrival order = time order


def write_members(
    con: duckdb.DuckDBPyConnection,
    rows: list[MemberState],
    pbx: str,
    names: Mapping[str, str] | None = None,
    order: bool = True,
    days: bool = True,
) -> MembersWritten:
    """In one transaction: resolve names to interfaces, keep the rows dated before the PBX's
    horizon that the store does not hold yet, close at the horizon what queue_log left
    present, and (with `order`) keep each member's rows in time order by arrival. A long
    import writes its chunks with order=False and calls `order_members` once at the end: the
    rewrite costs the whole changelog; it also passes days=False: agent_days is recomputed
    once at its end (`member_changes.catch_up`, `agent_days.settle`)."""
    done = MembersWritten()
    con.execute("BEGIN TRANSACTION")
    try:
        found = con.execute(_HORIZON, {"pbx": pbx}).fetchall()
        horizon: datetime | None = found[0][0] if found else None
        first_new = scalar(con, _NEXT_ROWID)
        if rows:
            _resolve(con, rows, pbx, names or {}, done)
            con.execute(_KEPT, {"h": horizon, "pbx": pbx})
            done.observed = scalar(con, "SELECT count(*) FROM kept WHERE NOT fill")
            done.in_outages = scalar(con, _INSERT_NEW, {"outage": True})
            done.added = done.in_outages + scalar(con, _INSERT_NEW, {"outage": False})
            con.execute("DROP TABLE resolved; DROP TABLE kept")
        if horizon is not None:
            done.added += scalar(con, _CLOSE, {"pbx": pbx, "h": horizon})
        if order and done.added:
            done.reordered = _order(con, pbx, first_new)
        elif done.added:  # put in order by order_members, or at the next open
            con.execute(_UNORDERED, {"pbx": pbx, "first": first_new})
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    member_changes.catch_up(con, rewritten=done.reordered, days=days)
    return done


def next_rowid(con: duckdb.DuckDBPyConnection) -> int:
    """The rowid the next member_states row gets: where an import's rows begin."""
    return scalar(con, _NEXT_ROWID)


def order_members(con: duckdb.DuckDBPyConnection, pbx: str, first: int) -> bool:
    """Rewrite the changelog if a row from `first` on is dated before an earlier row of the
    same member; True if it did."""
    con.execute("BEGIN TRANSACTION")
    try:
        done = _order(con, pbx, first)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    if done:  # the rowids member_changes folded by are gone
        member_changes.catch_up(con, rewritten=True)
    return done


def order_left(con: duckdb.DuckDBPyConnection) -> None:
    """At open: `order_members` for the rows a load that stopped before its end (or a
    follower stopped before it caught up) left out of time order."""
    left = con.execute(
        "SELECT pbx, min(first_rowid) FROM member_states_unordered GROUP BY pbx ORDER BY pbx"
    ).fetchall()
    for pbx, first in left:
        log.info("%s: member rows an import left out of time order: ordering them", pbx)
        order_members(con, pbx, int(first))


def _order(con: duckdb.DuckDBPyConnection, pbx: str, first: int) -> bool:
    if not scalar(con, _DISORDER, {"pbx": pbx, "first": first}):
        con.execute(_ORDERED, {"pbx": pbx, "first": first})
        return False
    con.execute(_REORDER)
    con.execute("DELETE FROM member_states_unordered")  # every row is in order now
    return True


def _resolve(
    con: duckdb.DuckDBPyConnection,
    rows: list[MemberState],
    pbx: str,
    names: Mapping[str, str],
    done: MembersWritten,
) -> None:
    """`resolved`: the rows with a name in place of an interface given the interface it has,
    or NULL (counted in `done.unmapped`)."""
    # As an Arrow table, not executemany: that plans one INSERT per name, per chunk.
    given = pa.table({
        "member_name": pa.array(list(names), pa.string()),
        "interface": pa.array(list(names.values()), pa.string()),
    })  # fmt: skip
    con.register("new_members", to_arrow(MemberState, rows))
    con.register("given_names", given)
    try:
        con.execute(_RESOLVE, {"pbx": pbx})
    finally:
        con.unregister("new_members")
        con.unregister("given_names")
    for name, count in con.execute(
        "SELECT member_name, count(*) FROM resolved WHERE interface IS NULL GROUP BY ALL"
    ).fetchall():
        done.unmapped[str(name)] += int(count)


_NEXT_ROWID = "SELECT coalesce(max(rowid) + 1, 0) FROM member_states"
# The collector's first row for the PBX: where queue_log's presence stops.
_HORIZON = """SELECT min(since) FROM member_states
WHERE pbx = $pbx AND source IS DISTINCT FROM 'queue_log'"""
_RESOLVE = """
CREATE TEMP TABLE resolved AS
WITH seen AS (
    -- Names the collector saw, per queue: the interface of the newest row with that name.
    SELECT queue, member_name, arg_max(interface, rowid) AS interface
    FROM member_states
    WHERE pbx = $pbx AND source IS DISTINCT FROM 'queue_log' AND member_name IS NOT NULL
    GROUP BY queue, member_name
),
only_one AS (
    SELECT member_name, any_value(interface) AS interface
    FROM seen GROUP BY member_name HAVING count(DISTINCT interface) = 1
)
SELECT n.* REPLACE (
    CASE WHEN n.member_name IS NULL THEN n.interface
         ELSE coalesce(g.interface, s.interface, o.interface) END AS interface)
FROM new_members AS n
LEFT JOIN given_names AS g ON g.member_name = n.member_name
LEFT JOIN seen AS s ON s.queue = n.queue AND s.member_name = n.member_name
LEFT JOIN only_one AS o ON o.member_name = n.member_name"""
# The resolved rows queue_log fills presence with: those before the horizon, and those inside
# the collector's outages after it (in_outage): from a closed AMI session's end to the next
# session's start, or on when none followed. A session is a connected row and its closing row
# (the same session_id); attempts that never logged in (auth_failed, unreachable) are not.
# queue_log stamps whole seconds: a line stamped in the second the session ended may have
# happened after it, so it counts as in the outage, dated at the outage's start (never before
# it: the collector's last rows before the loss stay before it in the changelog).
_KEPT = """
CREATE TEMP TABLE kept AS
WITH sessions AS (
    SELECT session_id, min(started_at) AS started_at, max(ended_at) AS ended_at
    FROM connection_sessions
    WHERE pbx = $pbx AND state IN ('connected', 'closed')
    GROUP BY session_id
),
outages AS (
    SELECT ended_at AS lo, lead(started_at) OVER (ORDER BY started_at, session_id) AS hi
    FROM sessions
    QUALIFY ended_at IS NOT NULL
),
placed AS (
    SELECT r.*,
           (SELECT max(o.lo) FROM outages AS o
            WHERE r.since > o.lo - INTERVAL 1 SECOND AND (o.hi IS NULL OR r.since < o.hi))
               AS outage_lo
    FROM resolved AS r
    WHERE r.interface IS NOT NULL
)
SELECT * EXCLUDE (outage_lo) REPLACE (greatest(since, coalesce(outage_lo, since)) AS since),
       -- Filled: before the horizon, or in an outage; the others the collector saw.
       $h IS NULL OR since < CAST($h AS TIMESTAMPTZ) OR outage_lo IS NOT NULL AS fill,
       outage_lo IS NOT NULL
           AND coalesce(greatest(since, outage_lo) >= CAST($h AS TIMESTAMPTZ), false) AS in_outage
FROM placed"""
# Rows already loaded (a file loaded twice) are the same state at the same instant.
_INSERT_NEW = """
INSERT INTO member_states
SELECT k.* EXCLUDE (fill, in_outage) FROM kept AS k
WHERE k.fill AND k.in_outage = $outage AND NOT EXISTS (
    SELECT 1 FROM member_states AS m
    WHERE m.source = 'queue_log' AND m.pbx = k.pbx AND m.queue = k.queue
      AND m.interface = k.interface AND m.since = k.since AND m.present = k.present
      AND m.paused = k.paused AND m.paused_reason IS NOT DISTINCT FROM k.paused_reason)
ORDER BY k.since"""
# A member whose newest queue_log row (by time) leaves it present before the horizon.
_CLOSE = """
INSERT INTO member_states
SELECT pbx, queue, interface, member_name, 0, false, NULL, false, 0, CAST($h AS TIMESTAMPTZ),
       false, penalty, ringinuse, membership, 'queue_log'
FROM member_states
WHERE pbx = $pbx AND source = 'queue_log'
QUALIFY row_number() OVER (PARTITION BY queue, interface ORDER BY since DESC, rowid DESC) = 1
    AND present AND since < CAST($h AS TIMESTAMPTZ)"""
_UNORDERED = "INSERT INTO member_states_unordered VALUES ($pbx, $first)"
_ORDERED = "DELETE FROM member_states_unordered WHERE pbx = $pbx AND first_rowid >= $first"
# A row written before the new ones, for the same member, dated after one of them.
_DISORDER = """
SELECT count(*) FROM member_states AS m
JOIN (SELECT queue, interface, min(since) AS first FROM member_states
      WHERE pbx = $pbx AND rowid >= $first GROUP BY ALL) AS n USING (queue, interface)
WHERE m.pbx = $pbx AND m.rowid < $first AND m.since > n.first"""
# The whole changelog again, each member's rows in time order: the collector's rows keep their
# own order (placed at the running maximum of their since, which never decreases), queue_log's
# go by since, before the collector's at a tie. The queries read it by rowid (agent_summary,
# queue_staffing, the live views), so history loaded late must not land after the present.
_REORDER = """
CREATE TEMP TABLE reordered AS
WITH t AS (SELECT *, rowid AS seq FROM member_states),
ami AS (
    SELECT seq, max(since) OVER (ORDER BY seq ROWS UNBOUNDED PRECEDING) AS eff
    FROM t WHERE source IS DISTINCT FROM 'queue_log'
)
SELECT t.*, coalesce(a.eff, t.since) AS eff, a.seq IS NOT NULL AS from_ami
FROM t LEFT JOIN ami AS a USING (seq);
DELETE FROM member_states;
INSERT INTO member_states
SELECT * EXCLUDE (seq, eff, from_ami) FROM reordered ORDER BY eff, from_ami, seq;
DROP TABLE reordered"""
