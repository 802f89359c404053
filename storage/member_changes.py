"""member_changes: the presence-changing rows of member_states, kept equal to it by the writer.

agent_summary's presence fold (queries/agent_summary.sql) needs few of the changelog's rows:
most are ring / in-use changes that restate a member's presence. The table and the macro that
computes its rows (`member_changes_of`) are in storage/schema.sql, with `member_heads`: each
member's newest rows, where the next fold starts. Whoever appends to member_states calls
`catch_up` right after its transaction commits (the store's writer, the queue_log presence
import: rowids are only final then), and whoever rewrites it (`presence.order_members`)
`catch_up(rewritten=True)`; `check` rebuilds at open when the
heads' row count disagrees with member_states (a file written before the table existed, or
rows written by hand). The rows after the heads' last seq are the new ones, so `refresh` needs
no list of them: it folds whatever was appended since it last ran.
"""

from __future__ import annotations

import contextlib
import logging
import time
from datetime import datetime

import duckdb

from storage import agent_days

log = logging.getLogger(__name__)

TABLES = ("member_changes", "member_heads")


def catch_up(con: duckdb.DuckDBPyConnection, rewritten: bool = False, days: bool = True) -> None:
    """`refresh` (or, when member_states was `rewritten`, `rebuild`) in a transaction of its
    own, right after the one that wrote member_states: inside that one, DuckDB numbers the
    new rows with provisional rowids (2**55 and up), replaced at commit, and the fold goes by
    rowid. Should it fail, the rows stay unfolded and the next call folds them too (nothing
    is dropped); until then, and if the process dies in between, `check` at open finds the
    heads' count behind member_states and rebuilds. Without `days`, agent_days is noted
    behind from the new rows' first day instead of recomputed (`agent_days.defer`: a
    queue_log import recomputes once, at its end), unless the fold had to start over."""
    con.execute("BEGIN TRANSACTION")
    try:
        # The presence per day (storage/agent_days.py) from the first day the new rows touch.
        since = None if rewritten else _first_since(con)
        if rewritten:
            rebuild(con)
        else:
            rewritten = refresh(con)
        if days or rewritten:
            agent_days.refresh(con, since, everything=rewritten)
        elif since is not None:
            agent_days.defer(con, since)
        con.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(duckdb.Error):
            con.execute("ROLLBACK")
        raise


def refresh(con: duckdb.DuckDBPyConnection) -> bool:
    """Fold the member_states rows appended (and committed) since the last fold into
    member_changes and member_heads, inside the caller's transaction; True when that took a
    rebuild (earlier rows changed)."""
    after = _scalar(con, "SELECT coalesce(max(last_seq), -1) FROM member_heads")
    if _scalar(con, _NEWER, {"after": after}) == 0:
        return False
    if _scalar(con, _NEWLY_SHARED, {"after": after}):
        # A device joined a further queue: its earlier pauses, left out while it had one
        # queue, can now decide its pause reason. Rare (a first login to another queue):
        # everything again rather than a second, per-device form of the fold.
        rebuild(con)
        return True
    _fold(con, after)
    return False


def _first_since(con: duckdb.DuckDBPyConnection) -> datetime | None:
    """The earliest since of the rows not folded yet: nothing before it changes."""
    row = con.execute(
        "SELECT min(since) FROM member_states "
        "WHERE rowid > (SELECT coalesce(max(last_seq), -1) FROM member_heads)"
    ).fetchone()
    return row[0] if row else None


def rebuild(con: duckdb.DuckDBPyConnection) -> None:
    """Recompute member_changes and member_heads from all of member_states, inside the
    caller's transaction."""
    started = time.monotonic()
    con.execute("DELETE FROM member_changes")
    con.execute("DELETE FROM member_heads")
    _fold(con, -1)
    log.info("member_changes rebuilt in %.1f s", time.monotonic() - started)


def stale(con: duckdb.DuckDBPyConnection) -> bool:
    """True when member_heads does not account for every member_states row."""
    row = con.execute(_COUNTS).fetchone()
    assert row is not None
    return bool(row[0] != row[1] or row[2] != row[3])


def check(con: duckdb.DuckDBPyConnection, force: bool = False) -> bool:
    """Rebuild when stale (or `force`); True when it did."""
    if not force and not stale(con):
        return False
    log.info("member_changes out of date with member_states: rebuilding")
    con.execute("BEGIN TRANSACTION")
    try:
        rebuild(con)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return True


def _fold(con: duckdb.DuckDBPyConnection, after: int) -> None:
    con.execute(_FOLDED, {"after": after})
    con.execute(_TOUCHED, {"after": after})
    try:
        con.execute(_DELETE_HELD)
        # In order of their end: agent_summary's "ended after t0" then skips the row groups of
        # older changes (a held row, 'infinity', goes after them).
        con.execute("INSERT INTO member_changes SELECT * FROM changes_new ORDER BY ended, seq")
        con.execute(_HEADS)
    finally:
        con.execute("DROP TABLE IF EXISTS changes_new; DROP TABLE IF EXISTS touched_heads")


def _scalar(
    con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, object] | None = None
) -> int:
    rows = con.execute(sql, params).fetchall()
    return int(rows[0][0] or 0) if rows else 0


_NEWER = "SELECT count(*) FROM member_states WHERE rowid > $after"
# A member seen for the first time on a device that had another queue's membership.
_NEWLY_SHARED = """
SELECT count(*) FROM (SELECT DISTINCT pbx, queue, interface FROM member_states
                      WHERE rowid > $after) AS n
WHERE NOT EXISTS (SELECT 1 FROM member_heads AS h
                  WHERE h.pbx = n.pbx AND h.queue = n.queue AND h.interface = n.interface)
  AND EXISTS (SELECT 1 FROM member_heads AS h
              WHERE h.pbx = n.pbx AND h.interface = n.interface)"""
# The fold, and the new rows' members (with what their rows say of their names).
_FOLDED = """
CREATE TEMP TABLE changes_new AS SELECT * FROM member_changes_of($after)"""
_TOUCHED = """
CREATE TEMP TABLE touched_heads AS
SELECT pbx, queue, interface, count(*) AS n, max(rowid) AS last_seq,
       arg_max(since, rowid) AS last_since,
       arg_max(member_name, rowid) AS member_name,
       max(rowid) FILTER (WHERE member_name IS NOT NULL) AS name_seq
FROM member_states
WHERE rowid > $after
GROUP BY pbx, queue, interface"""
# The held rows the fold emitted again, with their new end.
_DELETE_HELD = """
DELETE FROM member_changes AS c USING member_heads AS h, touched_heads AS t
WHERE h.pbx = t.pbx AND h.queue = t.queue AND h.interface = t.interface
  AND c.seq = h.change_seq
  -- Held rows only: stored in order of their end, so zone maps skip all but the last rows.
  AND c.ended = 'infinity'::TIMESTAMPTZ"""
_HEADS = """
CREATE OR REPLACE TEMP TABLE new_heads AS
SELECT t.pbx, t.queue, t.interface, t.last_seq, t.last_since,
       f.seq AS change_seq, f.began, f.present, f.paused, f.reason,
       coalesce(t.member_name, h.member_name) AS member_name,
       coalesce(t.name_seq, h.name_seq) AS name_seq,
       coalesce(h.rows, 0) + t.n AS rows
FROM touched_heads AS t
LEFT JOIN member_heads AS h USING (pbx, queue, interface)
JOIN (SELECT pbx, queue, interface, max(seq) AS seq, arg_max(began, seq) AS began,
             arg_max(present, seq) AS present, arg_max(paused, seq) AS paused,
             arg_max(reason, seq) AS reason
      FROM changes_new GROUP BY ALL) AS f USING (pbx, queue, interface);
DELETE FROM member_heads AS h USING touched_heads AS t
WHERE h.pbx = t.pbx AND h.queue = t.queue AND h.interface = t.interface;
INSERT INTO member_heads BY NAME SELECT * FROM new_heads;
DROP TABLE new_heads"""
_COUNTS = """
SELECT (SELECT count(*) FROM member_states),
       (SELECT coalesce(sum(rows), 0) FROM member_heads),
       (SELECT coalesce(max(rowid), -1) FROM member_states),
       (SELECT coalesce(max(last_seq), -1) FROM member_heads)"""
