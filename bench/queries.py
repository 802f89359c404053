"""Page-query benchmark: our named queries against the engine's limit and against pandas.

    .venv/bin/python bench/queries.py                      # 1M callers, 5 runs
    .venv/bin/python bench/queries.py --calls 10000000 --runs 5

One run generates a synthetic year of history into Callboard's schema in a temporary DuckDB
file (bench/queries_history.py), then, for each page query and page range, prints the median
milliseconds of (a) the named query through `queries.run`, (b) the same KPI hand-written as
minimal SQL over a flat pre-projected table (bench/queries_flat.py) and (c) pandas on the same
rows loaded into DataFrames once (bench/queries_pandas.py; the load is timed apart), with the
ratios and the targets: ours within 1.5x of flat, at least 5x faster than pandas, under 50 ms
(300 ms for a full year). Every (b) and (c) result is first checked equal to (a). Then the
realtime page's live queries against 1, 3, 6 and 12 months of member_states / waiting_callers
changelog. Progress goes to stderr, results to stdout. Method and results: README.md.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # runnable as bench/queries.py

import argparse
import math
import os
import platform
import statistics
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

import duckdb
import numpy as np
import pandas as pd

import queries
from bench import queries_flat, queries_live, queries_pandas
from bench.queries_history import END, START, generate
from storage.store import apply_schema, configure

TZ = "Europe/Paris"  # the centre's zone: buckets and the weekday/hour grid are cut on it
RANGES = {
    "today": END - timedelta(days=1),
    "7 days": END - timedelta(days=7),
    "30 days": END - timedelta(days=30),
    "year": START,
}
TARGET_VS_FLAT = 1.5
TARGET_VS_PANDAS = 5.0
LIMIT_MS = 50.0
YEAR_LIMIT_MS = 300.0
BUDGET_S = 30.0  # a slow case gets fewer runs (at least 1), so the whole run stays bounded

Frame = Callable[[], pd.DataFrame]


@dataclass
class Case:
    """One page query over one range, in its three forms."""

    query: str
    label: str
    span: str
    ours: Frame
    flat: Frame
    pandas: Frame


@dataclass
class Timing:
    """Median milliseconds over `runs` runs after one warm-up."""

    ms: float
    runs: int


def say(text: str) -> None:
    """Progress, to stderr."""
    print(text, file=sys.stderr, flush=True)


def time_it(fn: Frame, runs: int, first_s: float) -> Timing:
    """Median of `runs` timed calls (fewer when one call is slow: see BUDGET_S).

    A call slower than BUDGET_S is not repeated: its warm-up time stands (runs = 0).
    """
    if first_s > BUDGET_S:
        return Timing(first_s * 1000, 0)
    runs = max(1, min(runs, int(BUDGET_S / max(first_s, 1e-6))))
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        fn()
        times.append(time.perf_counter() - began)
    return Timing(statistics.median(times) * 1000, runs)


def warm(fn: Frame) -> tuple[pd.DataFrame, float]:
    """One untimed-for-the-table run: its result (for the check) and its seconds."""
    began = time.perf_counter()
    frame = fn()
    return frame, time.perf_counter() - began


def differs(ours: pd.DataFrame, other: pd.DataFrame, skip: tuple[str, ...] = ()) -> str:
    """Why `other` is not `ours` (columns, rows, then the first column whose values differ)."""
    if list(ours.columns) != list(other.columns):
        return f"columns {list(other.columns)}"
    if len(ours) != len(other):
        return f"{len(other)} rows, not {len(ours)}"
    for col in ours.columns:
        if col in skip:
            continue
        a, b = ours[col].reset_index(drop=True), other[col].reset_index(drop=True)
        if pd.api.types.is_numeric_dtype(a) and pd.api.types.is_numeric_dtype(b):
            x, y = a.astype(float).to_numpy(), b.astype(float).to_numpy()
            if not np.allclose(x, y, rtol=1e-9, atol=1e-6, equal_nan=True):
                return f"column {col}"
        elif pd.api.types.is_datetime64_any_dtype(a):
            if not (pd.to_datetime(b).dt.tz_localize(None) if b.dt.tz else b).equals(
                a.dt.tz_localize(None) if a.dt.tz else a
            ):
                return f"column {col}"
        elif [_plain(v) for v in a] != [_plain(v) for v in b]:
            return f"column {col}"
    return ""


def _plain(value: Any) -> Any:
    """A value as comparable Python: NULL/NaN/NA -> None, maps -> rounded dicts."""
    if isinstance(value, dict):
        return {k: round(float(v), 6) for k, v in value.items()}
    if value is None or (not isinstance(value, str | bool) and pd.isna(value)):
        return None
    return value


def build_cases(con: duckdb.DuckDBPyConnection, frames: queries_pandas.Frames) -> list[Case]:
    """Every page query over every page range (calls: one day)."""
    cases: list[Case] = []

    def add(
        query: str, label: str, span: str, t0: datetime, t1: datetime = END, **extra: Any
    ) -> None:
        params = {"start": t0, "end": t1, **extra}
        flat_params: dict[str, Any] = {"t0": t0, "t1": t1}
        fn: Callable[..., pd.DataFrame] = getattr(queries_pandas, query)
        pd_args: list[Any] = [frames, t0, t1]
        sql = queries_flat.SQL[query]
        if "tz" in extra:
            flat_params["tz"] = extra["tz"]
            pd_args.append(extra["tz"])
        if "bucket" in extra:
            width = {"15 minutes": timedelta(minutes=15), "1 day": timedelta(days=1)}
            flat_params["width"] = width[extra["bucket"]]
            pd_args.append(width[extra["bucket"]])
        cases.append(Case(
            query, label, span,
            partial(queries.run, query, con, **params),
            # The same DataFrame building as ours (queries.frame), so the ratio is the SQL.
            partial(lambda s, p: queries.frame(con.execute(s, p)), sql, flat_params),
            partial(fn, *pd_args),
        ))  # fmt: skip

    for span, t0 in RANGES.items():
        add("queue_summary", "queue_summary", span, t0)
        add("totals", "totals", span, t0)
        add("queue_intervals", "queue_intervals 15m", span, t0, bucket="15 minutes", tz=TZ)
        add("queue_intervals", "queue_intervals 1d", span, t0, bucket="1 day", tz=TZ)
        add("agent_summary", "agent_summary", span, t0)
        add("wait_distribution", "wait_distribution", span, t0)
        add("unanswered_by_reason", "unanswered_by_reason", span, t0)
        add("day_hour_matrix", "day_hour_matrix", span, t0, tz=TZ)
    # A day so far, as the agents page asks at 18:00: its end is no UTC midnight, so the
    # presence of the hours since midnight is folded from the changes, not read per day.
    add("agent_summary", "agent_summary (until 18:00)", "today", RANGES["today"],
        END - timedelta(hours=6))  # fmt: skip
    add("calls", "calls (one day)", "today", RANGES["today"])
    return cases


def run_cases(cases: list[Case], runs: int) -> list[dict[str, Any]]:
    """Time every case in each of its three forms, one form over all cases at a time (ours,
    then flat, then pandas), each call right after its own warm-up; then check the
    baselines' frames against ours.

    One form at a time, not the three of a case together: DuckDB's first runs after seconds
    of pandas work on the same process were 10-40 ms slower (bench/README.md, session 11),
    and the form timed right after pandas was always ours. A service runs page queries
    after page queries."""
    timed: dict[str, list[tuple[pd.DataFrame | None, Timing]]] = {}
    for form in ("ours", "flat", "pandas"):
        timed[form] = []
        for case in cases:
            say(f"  {form}: {case.label} / {case.span}")
            fn: Frame = getattr(case, form)
            try:
                frame, first_s = warm(fn)
            except queries_pandas.TooBig as e:  # printed as nan ms: not run, not a miss
                say(f"    pandas not run: {e}")
                timed[form].append((None, Timing(math.nan, 0)))
                continue
            timed[form].append((frame, time_it(fn, runs, first_s)))
    rows = []
    for i, case in enumerate(cases):
        ours_frame, ours = timed["ours"][i]
        flat, pandas = timed["flat"][i][1], timed["pandas"][i][1]
        assert ours_frame is not None
        checks = {f: differs(ours_frame, frame) for f in ("flat", "pandas")
                  if (frame := timed[f][i][0]) is not None}  # fmt: skip
        limit = YEAR_LIMIT_MS if case.span == "year" else LIMIT_MS
        rows.append({
            "query": case.label, "range": case.span, "rows": len(ours_frame),
            "ours": ours, "flat": flat, "pandas": pandas,
            "vs_flat": ours.ms / flat.ms, "vs_pandas": pandas.ms / ours.ms, "limit": limit,
            "checks": {k: v for k, v in checks.items() if v},
        })  # fmt: skip
    return rows


def met(row: dict[str, Any]) -> str:
    """The targets a row misses, or 'yes'."""
    missed = []
    if row["vs_flat"] > TARGET_VS_FLAT:
        missed.append("flat")
    if row["vs_pandas"] < TARGET_VS_PANDAS:
        missed.append("pandas")
    if row["ours"].ms > row["limit"]:
        missed.append(f"<{row['limit']:.0f}ms")
    return "yes" if not missed else "NO: " + ", ".join(missed)


def print_table(rows: list[dict[str, Any]]) -> None:
    """The results as a Markdown table (stdout)."""
    print("| query | range | rows | ours ms | flat ms | pandas ms | ours/flat | pandas/ours "
          "| target met |")  # fmt: skip
    print("|---|---|--:|--:|--:|--:|--:|--:|---|")
    for r in rows:
        runs = {r["ours"].runs, r["flat"].runs, r["pandas"].runs}
        note = "" if runs == {r["ours"].runs} and r["ours"].runs > 1 else (
            f" (runs {r['ours'].runs}/{r['flat'].runs}/{r['pandas'].runs})")  # fmt: skip
        bad = "; ".join(f"{k} differs: {v}" for k, v in r["checks"].items())
        print(f"| {r['query']} | {r['range']} | {r['rows']} | {r['ours'].ms:.1f} | "
              f"{r['flat'].ms:.1f} | {r['pandas'].ms:.0f} | {r['vs_flat']:.2f} | "
              f"{r['vs_pandas']:.1f} | {met(r)}{note}{' ' + bad if bad else ''} |")  # fmt: skip


def mask_ms(frames: queries_pandas.Frames) -> float:
    """Median ms of the idiomatic pandas range filter (a boolean mask) for the last 7 days."""
    times = frames.calls["entered_at"]
    t0, t1 = pd.Timestamp(RANGES["7 days"]), pd.Timestamp(END)
    return time_it(lambda: frames.calls[(times >= t0) & (times < t1)], 5, 0.0).ms


def machine() -> str:
    """Date, CPU, cores, memory, load and versions, for the README."""
    cpu = "?"
    with open("/proc/cpuinfo") as info:
        for line in info:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (f"{datetime.now().astimezone():%Y-%m-%d %H:%M %Z}; {cpu}, {os.cpu_count()} cores, "
            f"{mem_gb:.0f} GiB; load average {load}; Python {platform.python_version()}, "
            f"duckdb {duckdb.__version__}, pandas {pd.__version__}")  # fmt: skip


def open_history(path: Path, calls: int, seed: int) -> duckdb.DuckDBPyConnection:
    """The history file at `path`, generated unless it already holds these calls and seed."""
    con = duckdb.connect(path)
    configure(con)  # the store's settings
    made = con.execute("SELECT calls, seed FROM bench_meta").fetchall() if _has_meta(con) else []
    if made == [(calls, seed)]:
        say(f"reusing {path}")
        # As the store does at open: the current schema, and rollups equal to the stays; and
        # the flat tables as this version of the bench reads them.
        apply_schema(con)
        queries_flat.prepare(con)
        return _reopened(con, path)
    con.close()
    path.unlink(missing_ok=True)
    con = duckdb.connect(path)
    configure(con)
    say(f"generating {calls:,} callers (seed {seed}) into {path}")
    counts = generate(con, calls, seed, say)
    say("  " + ", ".join(f"{t} {n:,}" for t, n in counts.items()))
    # What the store derives at open (agent_summary's member_changes and agent_days): without
    # it a new file's agent_summary read an empty changelog.
    apply_schema(con)
    queries_flat.prepare(con)
    con.execute("CREATE TABLE bench_meta AS SELECT ? AS calls, ? AS seed", [calls, seed])
    return _reopened(con, path)


def _reopened(con: duckdb.DuckDBPyConnection, path: Path) -> duckdb.DuckDBPyConnection:
    """`path` opened afresh, as a service process holds it: the instance that wrote the flat
    tables ran every query after it slower (agent_summary for a day 40 -> 75 ms, queue_summary
    22 -> 27; the same instance closed and opened again: 40 and 22), ours and flat alike."""
    con.execute("CHECKPOINT")
    con.close()
    con = duckdb.connect(path)
    configure(con)
    return con


def _has_meta(con: duckdb.DuckDBPyConnection) -> bool:
    found = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'bench_meta'"
    ).fetchone()
    return bool(found and found[0])


def main(argv: list[str] | None = None) -> int:
    """Generate, check, time, print."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=1_000_000, help="callers in the year")
    parser.add_argument("--runs", type=int, default=5, help="timed runs per query (median)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--db",
        type=Path,
        help="keep the history in this file (reused when "
        "it holds the same --calls and --seed); default: a temporary file",
    )
    parser.add_argument("--only", help="comma-separated query names to time (default: all)")
    parser.add_argument("--no-live", action="store_true", help="skip the live-query section")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore", module="duckdb")  # its DataFrame conversion warns
    warnings.filterwarnings("ignore", message=".*inplace.*")
    with tempfile.TemporaryDirectory(prefix="callboard-bench-") as tmp:
        path = args.db or Path(tmp) / "history.duckdb"
        con = open_history(path, args.calls, args.seed)
        print(f"Machine: {machine()}")
        say("loading pandas frames")
        began = time.perf_counter()
        frames = queries_pandas.load(con)
        load_s = time.perf_counter() - began
        print(f"History: {args.calls:,} callers, {len(frames.calls):,} stays, "
              f"{len(frames.rings):,} ring attempts, {len(frames.members):,} member_states rows; "
              f"{START:%Y-%m-%d} to {END:%Y-%m-%d}. pandas load (excluded from the table): "
              f"{load_s:.1f} s")  # fmt: skip
        only = set(args.only.split(",")) if args.only else None
        cases = [c for c in build_cases(con, frames) if not only or c.query in only]
        rows = run_cases(cases, args.runs)
        print()
        print_table(rows)
        print(f"\npandas with a boolean mask instead of a binary search would add "
              f"{mask_ms(frames):.0f} ms to every query (the mask over all stays).")  # fmt: skip
        del frames
        if not args.no_live:
            print()
            check = partial(differs, skip=("wait_s",))
            queries_live.run(con, args.runs, say, check)
            print()
            spans = {label: (t0, END) for label, t0 in RANGES.items()}
            queries_live.presence_only(con, spans, args.runs, say, check)
        print(f"\nLoad average at the end: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
        con.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
