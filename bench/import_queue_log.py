"""queue_log import benchmark: `python -m storage import-queue-log`'s path, lines/s.

    .venv/bin/python bench/import_queue_log.py                 # 1M lines
    .venv/bin/python bench/import_queue_log.py --lines 200000 --runs 3

Writes a synthetic queue_log (seeded, so two runs read the same file) of a center with 100
agents in 3 queues: per day each agent is added to 2 queues (ADDMEMBER), pauses 3 times
(PAUSEALL, then PAUSE per queue, then the UNPAUSEALL/UNPAUSE lines, reasons Break, Lunch,
Training), is removed at the end of the day; about 8,000 calls a day, each an ENTERQUEUE, 0-2
RINGNOANSWER, then CONNECT and COMPLETEAGENT/COMPLETECALLER (80 %) or ABANDON. Member lines
are about 8 % of the file. Then loads it into a fresh DuckDB file with `backfill_file` (names
mapped as `--member` does) and prints lines/s, the median of `--runs` runs. With `--ami-rows
N` the store first holds N collector member rows dated after the file (history imported after
the collector ran): the import then rewrites the changelog once (storage/presence.py), and the
run says how long the whole import took with it. With `--both` each run also times the import
with every line folded in Python (`fast=False`, the path before storage/queue_log_fast.py),
alternating, so that both see the same machine load. With `--baseline DIR` each run also
imports the same file with the code of another checkout (e.g. a `git archive main` copy), in a
subprocess, alternating, and prints each process's CPU seconds too. Results: README.md.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # runnable as bench/...

import argparse
import inspect
import os
import random
import statistics
import subprocess
import tempfile
import time
from collections.abc import Iterator

from storage.backfill import backfill_file
from storage.store import Store

AGENTS, QUEUES = 100, ("support", "sales", "billing")
START = 1_767_225_600  # 2026-01-01 00:00 UTC
REASONS = ("Break", "Lunch", "Training")


def day_lines(day: int, rng: random.Random, serial: list[int]) -> Iterator[tuple[int, str]]:
    base = START + day * 86_400
    for agent in range(AGENTS):
        name, iface = f"Agent{agent:03d}", f"PJSIP/{1000 + agent}"
        queues = (QUEUES[agent % 3], QUEUES[(agent + 1) % 3])
        login = base + 8 * 3600 + rng.randrange(3600)
        for q in queues:
            yield login, f"{login}|MANAGER|{q}|{iface}|ADDMEMBER|"
        for n, reason in enumerate(REASONS):
            t = login + (n + 1) * 9000 + rng.randrange(600)
            yield t, f"{t}|NONE|NONE|{name}|PAUSEALL|{reason}"
            for q in queues:
                yield t, f"{t}|NONE|{q}|{name}|PAUSE|{reason}"
            t += 600 + rng.randrange(1200)
            yield t, f"{t}|NONE|NONE|{name}|UNPAUSEALL|"
            for q in queues:
                yield t, f"{t}|NONE|{q}|{name}|UNPAUSE|"
        logout = login + 8 * 3600 + rng.randrange(3600)
        for q in queues:
            yield logout, f"{logout}|MANAGER|{q}|{iface}|REMOVEMEMBER|"
    for _ in range(8000):
        serial[0] += 1
        callid, q = f"{START}.{serial[0]}", rng.choice(QUEUES)
        t = base + 8 * 3600 + rng.randrange(9 * 3600)
        yield t, f"{t}|{callid}|{q}|NONE|ENTERQUEUE||555{serial[0] % 10000:04d}|1"
        member = f"Agent{rng.randrange(AGENTS):03d}"
        for _ in range(rng.choice((0, 0, 1, 2))):
            t += 15
            yield t, f"{t}|{callid}|{q}|{member}|RINGNOANSWER|15000"
        wait = rng.randrange(5, 90)
        if rng.random() < 0.8:
            talk = rng.randrange(30, 600)
            yield t + wait, f"{t + wait}|{callid}|{q}|{member}|CONNECT|{wait}|{callid}1|3"
            verb = rng.choice(("COMPLETEAGENT", "COMPLETECALLER"))
            end = t + wait + talk
            yield end, f"{end}|{callid}|{q}|{member}|{verb}|{wait}|{talk}|1"
        else:
            yield t + wait, f"{t + wait}|{callid}|{q}|NONE|ABANDON|1|1|{wait}"


def write_log(path: Path, lines: int) -> None:
    rng, serial, written = random.Random(7), [0], 0
    with path.open("w") as f:
        day = 0
        while written < lines:
            batch = sorted(day_lines(day, rng, serial), key=lambda x: x[0])
            f.writelines(text + "\n" for _, text in batch[: lines - written])
            written += min(len(batch), lines - written)
            day += 1


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--lines", type=int, default=1_000_000)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--ami-rows", type=int, default=0)
    p.add_argument("--both", action="store_true", help="also time the pure Python fold")
    p.add_argument("--baseline", type=Path, help="also time this checkout's import")
    a = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "queue_log"
        write_log(log, a.lines)
        members = {f"Agent{n:03d}": f"PJSIP/{1000 + n}" for n in range(AGENTS)}
        # The same script times the code before presence existed (no `members` argument).
        kwargs: dict[str, object] = (
            {"members": members} if "members" in inspect.signature(backfill_file).parameters else {}
        )
        rates: dict[str, list[float]] = {}
        paths = ("fast", "python") if a.both else ("fast",)
        for run in range(a.runs):
            if a.baseline is not None:
                rate = _baseline(a.baseline, log, Path(tmp) / f"run{run}baseline.duckdb")
                rates.setdefault("baseline", []).append(rate)
            for path in paths:
                if path == "python":
                    kwargs["fast"] = False
                else:
                    kwargs.pop("fast", None)
                cpu = time.process_time()
                with Store(Path(tmp) / f"run{run}{path}.duckdb") as store:
                    if a.ami_rows:
                        store.in_writer(lambda con: con.execute(_AMI_ROWS, {"n": a.ami_rows}))
                    report = backfill_file(store, log, "bench", **kwargs)  # type: ignore[arg-type]
                    rows = store.cursor().execute("SELECT count(*) FROM member_states").fetchall()
                rates.setdefault(path, []).append(report.lines_per_s)
                cpu = time.process_time() - cpu
                print(f"run {run} {path}: {report.lines:,} lines in {report.seconds:.2f} s = "
                      f"{report.lines_per_s:,.0f} lines/s; {cpu:.2f} s CPU; "
                      f"{report.calls_added:,} calls, "
                      f"{rows[0][0]:,} member_states rows; load {os.getloadavg()[0]:.1f}",
                      flush=True)  # fmt: skip
        for path, r in rates.items():
            print(f"median {path}: {statistics.median(r):,.0f} lines/s")


# One import by another checkout's code (its own process: its modules, not these).
_CHILD = """
import sys, time
sys.path.insert(0, sys.argv[1])
from pathlib import Path
from storage.backfill import backfill_file
from storage.store import Store
members = {f"Agent{n:03d}": f"PJSIP/{1000 + n}" for n in range(100)}
cpu = time.process_time()
with Store(Path(sys.argv[3])) as store:
    r = backfill_file(store, Path(sys.argv[2]), "bench", members=members)
print(r.lines, r.seconds, r.lines_per_s, time.process_time() - cpu)
"""


def _baseline(tree: Path, log: Path, db: Path) -> float:
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, str(tree.resolve()), str(log), str(db)],
        capture_output=True, text=True, check=True, cwd=tree,
    ).stdout.split()[-4:]  # fmt: skip
    lines, seconds, rate, cpu = int(out[0]), float(out[1]), float(out[2]), float(out[3])
    print(f"baseline: {lines:,} lines in {seconds:.2f} s = {rate:,.0f} lines/s; "
          f"{cpu:.2f} s CPU; load {os.getloadavg()[0]:.1f}", flush=True)  # fmt: skip
    return rate


# Collector rows after the file (it covers at most a few years from START): 100 agents in 2
# queues, a state change every 10 s.
_AMI_ROWS = """
INSERT INTO member_states
SELECT 'bench', ['support', 'sales', 'billing'][i % 3 + 1], printf('PJSIP/%d', 1000 + i % 100),
       printf('Agent%03d', i % 100), 1, i % 7 = 0, CASE WHEN i % 7 = 0 THEN 'Break' END, false,
       0, TIMESTAMPTZ '2030-01-01 00:00:00+00' + to_seconds(i * 10), true, 0, false, 'dynamic',
       'ami'
FROM range($n) AS t(i)"""


if __name__ == "__main__":
    main()
