"""The history page: time to first render over 30 days (and 7 days, a year) of a synthetic year.

    .venv/bin/python -m bench.history                    # 1M callers a year, 5 runs
    .venv/bin/python -m bench.history --calls 10000000 --db /tmp/year10m.duckdb

Generates a year of history into Callboard's schema (bench/queries_history.py, as
bench/queries.py does; `--db` keeps the file for another run), opens it with the real Store,
then for each range renders pages/history.py through Streamlit's AppTest with the range
already chosen (the manager's first view of it), as wall time and process CPU:
- cold: Streamlit's data cache cleared, so every named query runs (a new range);
- warm: the same filters again, queries from the cache (any widget change that keeps them).
Also a one-line page through AppTest (the harness's own cost) and each named query the page
reads, alone. Results go to stdout as Markdown; method and
results in bench/README.md.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date, timedelta
from functools import partial
from pathlib import Path

import duckdb
from streamlit.testing.v1 import AppTest

import queries
from bench.queries_history import END, generate
from storage.store import Store
from ui import data
from ui.filters import INTERVALS, HistoryFilter

PAGE = str(Path(__file__).resolve().parents[1] / "pages" / "history.py")
LAST_DAY = (END - timedelta(days=1)).date()
RANGES: dict[str, tuple[date, str]] = {  # first day, interval
    "7 days, 60 min": (LAST_DAY - timedelta(days=6), "60 min"),
    "30 days, 60 min": (LAST_DAY - timedelta(days=29), "60 min"),
    "30 days, day": (LAST_DAY - timedelta(days=29), "Day"),
    "year, week": (LAST_DAY - timedelta(days=364), "Week"),
}


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def timed(fn: Callable[[], object]) -> tuple[float, float]:
    """(wall, process CPU) seconds of fn(); CPU counts DuckDB's threads too."""
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def render(first: date, interval: str) -> None:
    at = AppTest.from_file(PAGE, default_timeout=120)
    at.session_state["history_days"] = (first, LAST_DAY)
    at.session_state["history_interval"] = interval
    at.run()
    if at.exception or at.error or len(at.metric) != 7:
        raise SystemExit(f"the page did not render: {at.exception or [e.value for e in at.error]}")


def med(values: list[tuple[float, float]]) -> str:
    wall = statistics.median(v[0] for v in values) * 1000
    cpu = statistics.median(v[1] for v in values) * 1000
    return f"{wall:.0f} ms | {cpu:.0f} ms"


def per_query(first: date, interval: str, runs: int) -> list[str]:
    chosen = HistoryFilter(first, LAST_DAY, "UTC", interval)
    params = chosen.params()
    reads: dict[str, dict[str, object]] = {
        "totals": params,
        "queue_intervals": {**params, "bucket": INTERVALS[interval], "tz": "UTC"},
        "queue_summary": params,
        "queue_targets": {"queues": None},
        "wait_distribution": params,
        "day_hour_matrix": {**params, "tz": "UTC"},
        "agent_summary": params,
        "unanswered_by_reason": params,
    }
    rows = []
    for name, values in reads.items():
        times = [timed(partial(queries.read, name, **values)) for _ in range(runs)]
        rows.append(f"| `{name}` | {med(times)} |")
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--calls", type=int, default=1_000_000, help="callers in the year")
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--db", type=Path, default=None, help="keep (or reuse) the generated file")
    a = p.parse_args()
    folder = tempfile.TemporaryDirectory()
    path = a.db or Path(folder.name) / "history.duckdb"
    if not path.exists():
        say(f"generating a year of {a.calls:,} callers into {path}")
        con = duckdb.connect(str(path))
        counts = generate(con, a.calls, seed=1, say=say)
        con.close()
        say(f"  rows: {counts}")
    with Store(path):
        print(f"History page, first render, {a.calls:,} callers a year, {a.runs} runs "
              "(median wall | process CPU)\n")  # fmt: skip
        print("| range, interval | cold (queries run) | warm (cached) |\n|---|---|---|")
        for label, (first, interval) in RANGES.items():
            say(f"rendering {label}")
            cold, warm = [], []
            for _ in range(a.runs):
                data._read.clear()
                cold.append(timed(partial(render, first, interval)))
                warm.append(timed(partial(render, first, interval)))
            print(f"| {label} | {med(cold).replace(' | ', ' wall, ')} CPU "
                  f"| {med(warm).replace(' | ', ' wall, ')} CPU |")  # fmt: skip
        # What any page costs through AppTest (script runner, one element): not the page's.
        empty = [timed(lambda: AppTest.from_string("import streamlit as st\nst.write(1)").run())
                 for _ in range(a.runs)]  # fmt: skip
        print(f"| AppTest of a one-line page (harness) | {med(empty).replace(' | ', ' wall, ')} "
              "CPU | |")  # fmt: skip
        first, interval = RANGES["30 days, 60 min"]
        print("\nEach query of the page, 30 days, alone (median wall | process CPU)\n")
        print("| query | wall | CPU |\n|---|---|---|")
        print("\n".join(per_query(first, interval, a.runs)))
    folder.cleanup()


if __name__ == "__main__":
    main()
