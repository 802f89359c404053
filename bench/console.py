"""The PBX console: first render, server CPU per refresh, "Test" and add-at-runtime latency.

    .venv/bin/python -m bench.console [--runs 20]

Runs the real Service with the built-in demo PBX (AMI on loopback, 1x speed) in a thread, as
under the web server, then measures:
- first render: a fresh AppTest of pages/pbx.py (what a new tab costs the server), wall time;
- per refresh: reruns of one AppTest (the 2 s fragment is nearly all of the page), process CPU
  per rerun minus the background CPU (service, demo, writer) measured over as long idle;
- Test: `connections.check` (connect, login, ping, logoff) against the demo;
- add at runtime: `Service.apply_pbx` until the new collector is logged in and rebuilt (ready),
  then `remove_pbx`: the time a Save takes to collect.
Results go to stdout as Markdown (bench/README.md keeps them).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from streamlit.testing.v1 import AppTest

import connections
from service import Service
from settings import Settings
from tests.service_thread import service_thread

PAGE = str(Path(__file__).resolve().parents[1] / "pages" / "pbx.py")


def ms(values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"{statistics.median(ordered) * 1000:.0f} ms (p95 {p95 * 1000:.0f} ms)"


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def first_renders(runs: int) -> list[float]:
    return [timed(lambda: AppTest.from_file(PAGE, default_timeout=30).run()) for _ in range(runs)]


def cpu_per_refresh(runs: int) -> float:
    at = AppTest.from_file(PAGE, default_timeout=30).run()
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(runs):
        at.run()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    idle = time.process_time()
    time.sleep(wall)
    return (cpu - (time.process_time() - idle)) / runs


def add_at_runtime(running: Service, runs: int) -> list[float]:
    (demo,) = running.collectors
    took = []
    for i in range(runs):
        pbx = connections.from_form(
            {"name": f"bench{i}", "host": demo.pbx.host, "port": str(demo.pbx.port),
             "username": demo.pbx.username, "secret": demo.pbx.secret,
             "ping_interval_s": "10"}, None,
        )  # fmt: skip
        start = time.perf_counter()
        running.call(running.apply_pbx(pbx))
        added = next(c for c in running.collectors if c.pbx.name == pbx.name)
        while not added.ready:
            time.sleep(0.005)
        took.append(time.perf_counter() - start)
        running.call(running.remove_pbx(pbx.name))
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(db_path=Path(folder) / "cb.duckdb", demo="on")
        with service_thread(settings) as running:
            (demo,) = running.collectors
            while not demo.ready:
                time.sleep(0.05)
            renders = first_renders(args.runs)
            cpu = cpu_per_refresh(args.runs)
            checks = [timed(lambda: running.call(connections.check(demo.pbx)))
                      for _ in range(args.runs)]  # fmt: skip
            adds = add_at_runtime(running, args.runs)
    print(f"| PBX console, demo PBX, {args.runs} runs each | median (p95) |")
    print("|---|---|")
    print(f"| first render (fresh AppTest) | {ms(renders)} |")
    print(f"| server CPU per refresh | {cpu * 1000:.0f} ms |")
    print(f"| Test (login, ping, logoff) | {ms(checks)} |")
    print(f"| Save -> collecting (login + snapshot + rebuild) | {ms(adds)} |")


if __name__ == "__main__":
    main()
