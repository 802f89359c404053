"""What keeping the rollups costs the writer: one batch of stays, with and without refresh.

    .venv/bin/python bench/rollups.py --db /tmp/h1m.duckdb     # a bench/queries.py history

On a copy of a synthetic history (bench/queries.py --db), appends batches of stays entering
in its last day, as the writer does (one transaction: the INSERT, then `rollups.refresh` for
the buckets and callers of the batch), and prints the median milliseconds of a batch with and
without the refresh, side by side, for a few batch sizes. The last day's density is what the
refresh reads: a day of stay_waits and the callers' two days around the batch.
Then the same for member rows (agent_summary's member_changes, storage/member_changes.py):
batches of the last day's member_states rows appended anew (later), each committed as the
writer commits it, then folded by `member_changes.catch_up` in its own transaction, as the
writer does; median milliseconds of each.
Then agent_days and agent_hours (storage/agent_days.py): what their refresh adds to a batch
that touched no hour held (the writer's usual batch), one that touched the last hour held (a
stay entered in it written after: the first batches of an hour; once an hour, the clock
passing one), the last 24 hours, the last week, and the rebuild at open. The stays above
entered in the history's last day, weeks before today: their refresh includes recomputing
every hour since (late stays).
Results: README.md, "Rollups" and "agent_summary: whole days from agent_days".
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # runnable as bench/rollups.py

import argparse
import shutil
import statistics
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import duckdb

from bench.queries import machine
from collectors.rows import MemberState, QueueCall
from storage import agent_days, member_changes, rollups
from storage.store import apply_schema, configure, to_arrow

INSERT = "INSERT INTO queue_calls SELECT * FROM batch"


def last_day_stays(con: duckdb.DuckDBPyConnection, n: int) -> list[QueueCall]:
    """`n` stays of the history's last day, as new ones (fresh call ids)."""
    rows = con.execute(
        "SELECT * FROM queue_calls WHERE entered_at >= "
        "(SELECT max(entered_at) - INTERVAL 1 DAY FROM queue_calls) ORDER BY hash(call_id) "
        "LIMIT ?",
        [n],
    ).fetchall()
    names = [d[0] for d in con.description or []]
    return [replace(QueueCall(**dict(zip(names, r, strict=True))),
                    call_id=f"bench-{i}", linkedid=None) for i, r in enumerate(rows)]  # fmt: skip


def batch_ms(con: duckdb.DuckDBPyConnection, stays: list[QueueCall], refresh: bool) -> float:
    began = time.perf_counter()
    con.execute("BEGIN TRANSACTION")
    con.register("batch", to_arrow(QueueCall, stays))
    con.execute(INSERT)
    con.unregister("batch")
    if refresh:
        rollups.refresh(con, stays)
    con.execute("ROLLBACK")  # every run starts from the same file
    return (time.perf_counter() - began) * 1000


def last_day_members(con: duckdb.DuckDBPyConnection, n: int) -> list[MemberState]:
    """`n` member rows of the history's last day, as new ones (dated a day later)."""
    rows = con.execute(
        "SELECT * REPLACE (since + INTERVAL 1 DAY AS since) FROM member_states "
        "WHERE since >= (SELECT max(since) - INTERVAL 1 DAY FROM member_states) "
        "ORDER BY rowid LIMIT ?",
        [n],
    ).fetchall()
    names = [d[0] for d in con.description or []]
    return [MemberState(**dict(zip(names, r, strict=True))) for r in rows]


def member_batch_ms(con: duckdb.DuckDBPyConnection, rows: list[MemberState]) -> tuple[float, float]:
    """(insert and commit, fold) ms of one batch; the batch stays written (rowids are only
    final once committed, so it cannot be rolled back like the stays)."""
    began = time.perf_counter()
    con.execute("BEGIN TRANSACTION")
    con.register("batch", to_arrow(MemberState, rows))
    con.execute("INSERT INTO member_states SELECT * FROM batch")
    con.unregister("batch")
    con.execute("COMMIT")
    written = time.perf_counter()
    member_changes.catch_up(con)
    return (written - began) * 1000, (time.perf_counter() - written) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", type=Path, required=True, help="a bench/queries.py history")
    parser.add_argument("--runs", type=int, default=21)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="callboard-bench-") as tmp:
        path = Path(tmp) / "history.duckdb"
        shutil.copy(args.db, path)
        con = duckdb.connect(path)
        configure(con)
        apply_schema(con)  # as the store at open: current schema, rollups
        per_day = con.execute(
            "SELECT count(*) FROM queue_calls WHERE entered_at >= "
            "(SELECT max(entered_at) - INTERVAL 1 DAY FROM queue_calls)"
        ).fetchone()
        print(f"Machine: {machine()}")
        print(f"History: {args.db.name}, {per_day[0] if per_day else 0:,} stays in its last day\n")
        print("| stays per batch | insert only ms | insert + refresh ms | ratio |")
        print("|--:|--:|--:|--:|")
        for size in (10, 100, 1000):
            stays = last_day_stays(con, size)
            bare = statistics.median(batch_ms(con, stays, False) for _ in range(args.runs))
            kept = statistics.median(batch_ms(con, stays, True) for _ in range(args.runs))
            print(f"| {size} | {bare:.1f} | {kept:.1f} | {kept / bare:.1f} |")
        print("\n| member rows per batch | insert + commit ms | member_changes fold ms |")
        print("|--:|--:|--:|")
        for size in (10, 100, 1000):
            members = last_day_members(con, size)
            runs = [member_batch_ms(con, members) for _ in range(args.runs)]
            written = statistics.median(r[0] for r in runs)
            folded = statistics.median(r[1] for r in runs)
            print(f"| {size} | {written:.1f} | {folded:.1f} |")
        print("\n| agent_days refresh | ms |")
        print("|---|--:|")
        held = con.execute("SELECT max(upto_hour) FROM agent_days_state").fetchone()
        upto = datetime.fromtimestamp(int(held[0] if held else 0) * 3600, UTC)
        cases: list[tuple[str, datetime | str | None, int]] = [
            ("no hour held before", None, args.runs),
            (
                "the last hour held (a stay entered in it, written after)",
                upto - timedelta(hours=1),
                args.runs,
            ),
            ("from 24 hours before", upto - timedelta(days=1), args.runs),
            ("the last 7 days", upto - timedelta(days=7), 5),
            ("rebuild (at open)", "all", 1),
        ]
        for label, since, n in cases:
            ms = statistics.median(days_ms(con, since) for _ in range(n))
            print(f"| {label} | {ms:.1f} |")
        con.close()
    return 0


def days_ms(con: duckdb.DuckDBPyConnection, since: datetime | str | None) -> float:
    """One agent_days refresh (rolled back: every run starts from the same file)."""
    began = time.perf_counter()
    con.execute("BEGIN TRANSACTION")
    if since == "all":
        agent_days.rebuild(con)
    else:
        agent_days.refresh(con, since if isinstance(since, datetime) else None)
    con.execute("ROLLBACK")
    return (time.perf_counter() - began) * 1000


if __name__ == "__main__":
    raise SystemExit(main())
