"""Parquet export benchmark: a synthetic year exported, re-exported, and read while re-exported.

    .venv/bin/python bench/export.py                    # 1M callers
    .venv/bin/python bench/export.py --calls 200000 --readers-s 60

Generates a year of history into Callboard's schema (bench/queries_history.py, as
bench/queries.py does), then times: the first export (every closed day), a re-run with nothing
changed (the fingerprint pass only), a re-run after one late call lands in an old day (one
partition rewritten), and a forced rewrite of everything. Then named queries over the export
against the same queries on the DuckDB file, and a reader loop on the export while forced
re-exports run back to back, counting errors and checking every result equals the store's.
Progress goes to stderr, results (Markdown) to stdout. Results: README.md.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # runnable as bench/export.py

import argparse
import statistics
import tempfile
import threading
import time
from datetime import datetime, timedelta

import duckdb
import pandas as pd

import queries
from bench.queries import machine, open_history, say
from bench.queries_history import END, START
from storage import rollups
from storage.export import ExportReport, export

NOW = END + timedelta(hours=1)  # every generated day is closed
QUERIES = ["queue_summary", "queue_intervals", "agent_summary", "caller_patience"]
LAST_WEEK = {"start": END - timedelta(days=7), "end": END}


def line(label: str, r: ExportReport) -> str:
    return (f"| {label} | {r.seconds:.2f} | {r.written} | {r.unchanged} | {r.rows:,} | "
            f"{r.bytes / 1e6:.1f} | {r.files_deleted} |")  # fmt: skip


def median_ms(con: duckdb.DuckDBPyConnection, name: str, runs: int) -> float:
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        queries.run(name, con, **own(name, LAST_WEEK))
        times.append((time.perf_counter() - began) * 1000)
    return statistics.median(times)


def _same(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    """Equal up to float summation order (DuckDB's parallel sums differ in the last bits)."""
    try:
        pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-9)
    except AssertionError:
        return False
    return True


def own(name: str, params: dict[str, datetime]) -> dict[str, datetime]:
    return {k: v for k, v in params.items() if k in queries.load(name).params}


def readers(con: duckdb.DuckDBPyConnection, out: Path, seconds: float) -> tuple[int, int, int]:
    """Queries on the export for `seconds` while it is force-rewritten; (queries, errors,
    versions)."""
    want = queries.run("unanswered_by_reason", con, **LAST_WEEK)
    stop = threading.Event()
    versions: list[int] = []

    def rewrite() -> None:
        cursor = con.cursor()
        while not stop.is_set():
            versions.append(export(cursor, out, now=NOW, force=True, grace_s=5).version)

    writer = threading.Thread(target=rewrite)
    writer.start()
    done = errors = 0
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline:
            reader = queries.dataset_connection(out)
            for _ in range(10):
                try:
                    got = queries.run("unanswered_by_reason", reader, **LAST_WEEK)
                    pd.testing.assert_frame_equal(got, want)
                except Exception as e:  # counted: what the benchmark is here to find
                    errors += 1
                    say(f"  reader error: {e}")
                done += 1
            reader.close()
    finally:
        stop.set()
        writer.join()
    return done, errors, len(versions)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=1_000_000, help="callers in the year")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--runs", type=int, default=5, help="runs per query timing")
    parser.add_argument("--readers-s", type=float, default=120, help="reader loop length")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        con = open_history(folder / "history.duckdb", args.calls, args.seed)
        con.execute("SET TimeZone = 'UTC'")
        out = folder / "export"
        rows = ["| run | s | partitions written | unchanged | rows | MB | files deleted |",
                "|---|---|---|---|---|---|---|"]  # fmt: skip
        say("first export")
        rows.append(line("first (every closed day)", export(con, out, now=NOW)))
        say("re-run, nothing changed")
        rows.append(line("re-run, nothing changed", export(con, out, now=NOW)))
        late = START + timedelta(days=100, hours=12)
        con.execute(
            "INSERT INTO queue_calls SELECT * REPLACE (call_id || '-late' AS call_id) "
            "FROM queue_calls WHERE entered_at >= ? LIMIT 1",
            [late],
        )
        rollups.check(con)  # as the store's writer would refresh the late call's buckets
        say("re-run after one late call")
        rows.append(line("one late call in an old day", export(con, out, now=NOW)))
        say("forced rewrite")
        rows.append(line("forced rewrite of everything", export(con, out, now=NOW, force=True)))
        say("queries: store vs export")
        dataset = queries.dataset_connection(out)
        qrows = ["| query (last 7 days) | store ms | export ms |", "|---|---|---|"]
        for name in QUERIES:
            store_ms = median_ms(con, name, args.runs)
            export_ms = median_ms(dataset, name, args.runs)
            same = _same(
                queries.run(name, dataset, **own(name, LAST_WEEK)),
                queries.run(name, con, **own(name, LAST_WEEK)),
            )
            qrows.append(
                f"| {name}{'' if same else ' (DIFFERS)'} | {store_ms:.0f} | {export_ms:.0f} |"
            )
        say(f"readers for {args.readers_s:.0f} s while forced re-exports run")
        done, errors, versions = readers(con, out, args.readers_s)
    print(f"Machine: {machine()}\n")
    print(f"{args.calls:,} callers, {START:%Y-%m-%d} to {END:%Y-%m-%d}, exported at "
          f"{NOW:%Y-%m-%d %H:%M} UTC\n")  # fmt: skip
    print("\n".join(rows) + "\n")
    print("\n".join(qrows) + "\n")
    print(f"Readers: {done:,} queries on the export during {versions} forced re-exports "
          f"(every file replaced, replaced files deleted after 5 s): {errors} errors.")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
