"""agent_summary as the agents page asks it, this checkout against a baseline checkout.

    .venv/bin/python bench/queries.py --calls 10000000 --db /tmp/h10m.duckdb   # once
    .venv/bin/python bench/agent_choices.py --db /tmp/h10m.duckdb --baseline /tmp/main

bench/queries.py times agent_summary over all queues on ranges that end at a UTC midnight.
The agents page also asks local days (Europe/Paris), and one or several chosen queues; how
agent_summary gets those (whole days from agent_days, or folded from member_changes) is
what changes between versions. For each queue choice (all, one small queue, one large, two)
and range (1 / 7 / 30 / 365 local days; today, 30 days and a year of UTC days) this prints
the median ms of the baseline and of this checkout, each in a process of its own, rounds
alternating so that both see the same minutes of this shared machine, and whether the two
returned the same rows (rtol 1e-9).

Each checkout reads its own copy of the history file, opened first by its own Store, which
brings the derived tables (agent_days) to that version's shape: the copies need twice the
file's size in the temporary directory. Progress goes to stderr, results to stdout.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parents[1]
CHOICES = "all,billing,support,billing+vip"  # all queues, a small one, a large one, two

# Run in a child process with the checkout's directory first on sys.path: argv = checkout,
# file, runs. Prints {case: [median ms, rows as JSON]}.
CHILD = """
import json, statistics, sys, time
from datetime import datetime, time as dtime, timedelta
from zoneinfo import ZoneInfo
sys.path.insert(0, sys.argv[1])
import duckdb
import queries
from bench.queries import END, RANGES, TZ
from storage.store import configure
choices = json.loads(sys.argv[4])
con = duckdb.connect(sys.argv[2], read_only=True)
configure(con)
con.execute("SET enable_progress_bar = false")
zone, last = ZoneInfo(TZ), (END - timedelta(days=1)).date()
ranges = {f"{d} local days": (datetime.combine(last - timedelta(days=d - 1), dtime.min, zone),
                              datetime.combine(last + timedelta(days=1), dtime.min, zone))
          for d in (1, 7, 30, 365)}
ranges |= {f"UTC {label}": (RANGES[label], END) for label in ("today", "30 days", "year")}
out = {}
for chosen in choices:
    for label, (start, end) in ranges.items():
        run = lambda: queries.run("agent_summary", con, start=start, end=end, queues=chosen)
        rows = run()
        times = []
        for _ in range(int(sys.argv[3])):
            began = time.perf_counter()
            run()
            times.append(time.perf_counter() - began)
        out[f"{chosen or 'all queues'} | {label}"] = [
            statistics.median(times) * 1000, rows.to_json(double_precision=15)]
print(json.dumps(out))
"""


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def prepare(tree: Path, source: Path, copy: Path) -> None:
    """`source` copied to `copy` and opened once by `tree`'s Store (its schema, agent_days)."""
    say(f"copying {source} for {tree}")
    shutil.copyfile(source, copy)
    opener = (
        f"import sys; sys.path.insert(0, {str(tree)!r}); from pathlib import Path; "
        f"from storage.store import Store; Store(Path({str(copy)!r})).__enter__().close()"
    )
    subprocess.run([sys.executable, "-c", opener], check=True)


def child(tree: Path, db: Path, runs: int, choices: str) -> dict[str, list]:
    chosen = [None if c == "all" else c.split("+") for c in choices.split(",")]
    args = [sys.executable, "-c", CHILD, str(tree), str(db), str(runs), json.dumps(chosen)]
    result = subprocess.run(args, capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])  # after anything else printed


def same(a: str, b: str) -> bool:
    try:
        pd.testing.assert_frame_equal(
            pd.read_json(io.StringIO(a)), pd.read_json(io.StringIO(b)), rtol=1e-9, atol=1e-6
        )
    except AssertionError:
        return False
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", type=Path, required=True, help="history from bench/queries.py")
    parser.add_argument("--baseline", type=Path, required=True, help="another checkout")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds")
    parser.add_argument("--runs", type=int, default=5, help="timed runs per case and round")
    parser.add_argument(
        "--queues", default=CHOICES, help=f"choices, comma-separated, + joins (default {CHOICES})"
    )
    args = parser.parse_args(argv)
    trees = {"baseline": args.baseline.resolve(), "ours": HERE}
    results: dict[str, list[dict[str, list]]] = {name: [] for name in trees}
    with tempfile.TemporaryDirectory(prefix="callboard-choices-") as tmp:
        files = {name: Path(tmp) / f"{name}.duckdb" for name in trees}
        for name, tree in trees.items():
            prepare(tree, args.db, files[name])
        for n in range(args.rounds):
            for name, tree in trees.items():
                results[name].append(child(tree, files[name], args.runs, args.queues))
            say(f"round {n + 1} of {args.rounds}, load {os.getloadavg()[0]:.1f}")
    print("| queues | range | baseline ms | ours ms | ours/baseline | same rows |")
    print("|---|---|--:|--:|--:|---|")
    for case in results["ours"][0]:
        ms = {k: statistics.median(r[case][0] for r in results[k]) for k in trees}
        equal = same(results["baseline"][0][case][1], results["ours"][0][case][1])
        print(f"| {case} | {ms['baseline']:.1f} | {ms['ours']:.1f} | "
              f"{ms['ours'] / ms['baseline']:.2f} | {'yes' if equal else 'NO'} |")  # fmt: skip
    print(f"\nLoad average at the end: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
