"""Soak: minutes of sipp traffic at a high call rate against the real Asterisk 16 lab.

    scripts/in-netns .venv/bin/python bench/soak.py                    # 10 min, 8 calls/s
    scripts/in-netns .venv/bin/python bench/soak.py --minutes 1 --rate 4

The lab of the tests (tests/lab/: Asterisk 16, agents' phones and callers as sipp on
loopback) with three agents in queue `support`, and one sipp caller process placing `--rate`
calls a second; a caller waits at most `--patience` seconds, so most abandon and the queue
stays busy. The real `service.Service` collects it in this process. Every `--every` seconds
it samples this process's RSS, the rows written and waiting, and the visibility latency: from
the socket read that brought a caller's QueueCallerJoin to the first `live_waiting` result
(the realtime page's query, polled every 0.2 s from its own thread) that shows the caller.
At the end it compares the calls stored with the queue_log Asterisk wrote, call by call.
Progress goes to stderr, the results (Markdown) to stdout; they are in bench/README.md.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # runnable as bench/soak.py

import argparse
import asyncio
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import queries
from bench.probes import ReadClock, cpu_seconds, percentile, rss_bytes, say
from collectors.rows import Row, WaitingCaller
from errors import CallboardError
from service import Service
from settings import PbxSettings, Settings
from storage.queue_log import fold_calls
from tests.lab.asterisk import NEVER_MS, AsteriskLab, find_tool
from tests.lab.sipp import LOOPBACK, SippProcess, render

AGENTS = ("1001", "1002", "1003")  # queue support's members


@dataclass
class Sample:
    at_s: float
    rss_mb: float
    rows_written: int
    rows_waiting: int
    calls_stored: int
    latencies: list[float] = field(default_factory=list)


class Visibility(threading.Thread):
    """Arrival of each caller's join (the read that brought it) to its first showing in
    `live_waiting`, polled like a page session does."""

    def __init__(self, clock: ReadClock, interval: float = 0.2) -> None:
        super().__init__(name="visibility", daemon=True)
        self.clock, self.interval = clock, interval
        self.arrived: dict[str, float] = {}
        self.latencies: list[float] = []  # since the last take()
        self.errors = 0
        self._lock = threading.Lock()
        self._halt = threading.Event()

    def sink_of(self, put: Callable[[Row], None]) -> Callable[[Row], None]:
        def sink(row: Row) -> None:
            put(row)
            if type(row) is WaitingCaller and row.present:
                with self._lock:
                    self.arrived.setdefault(row.call_id, self.clock.now())

        return sink

    def take(self) -> list[float]:
        with self._lock:
            taken, self.latencies = self.latencies, []
        return taken

    def stop(self) -> None:
        self._halt.set()
        self.join()

    def run(self) -> None:
        while not self._halt.wait(self.interval):
            try:
                shown_ids = set(queries.read("live_waiting")["call_id"])
            except CallboardError:
                self.errors += 1
                continue
            shown = time.monotonic()
            with self._lock:
                for call_id in shown_ids.intersection(self.arrived):
                    self.latencies.append(shown - self.arrived.pop(call_id))
                # Callers gone before a poll showed them are no measurement; forget them.
                stale = [c for c, t in self.arrived.items() if shown - t > 30]
                for call_id in stale:
                    del self.arrived[call_id]


def callers(lab: AsteriskLab, rate: float, total: int, patience_s: float) -> SippProcess:
    """One sipp placing `total` calls to queue support at `rate` a second."""
    scenario = render(
        "caller.xml.in", lab.sipp_dir / "soak-callers.xml", caller_num="9000",
        caller_name="Soak", patience_s=patience_s, talk_ms=NEVER_MS,
    )  # fmt: skip
    sipp = find_tool("sipp") or "sipp"
    args = [f"{LOOPBACK}:{lab.sip_port}", "-s", "600", "-r", str(rate), "-m", str(total),
            "-l", str(int(rate * (patience_s + 10)))]  # fmt: skip
    return SippProcess(sipp, "soak-callers", lab.sipp_dir, scenario, args)


async def soak(args: argparse.Namespace, folder: Path) -> list[Sample]:
    lab = AsteriskLab(folder / "asterisk", wrapuptime_s=1)
    await asyncio.to_thread(lab.start)
    try:
        for ext in AGENTS:
            await asyncio.to_thread(lab.start_agent, ext, answer_after_s=0.3, talk_s=args.talk,
                                    max_calls=1_000_000)  # fmt: skip
        pbx = PbxSettings("lab", lab.ami_host, lab.ami_port, lab.ami_username, lab.ami_secret,
                          ping_interval_s=5.0)  # fmt: skip
        settings = Settings(db_path=folder / "cb.duckdb", pbx=(pbx,), demo="off")
        service = Service(settings)
        clock = ReadClock()
        clock.install()
        seen = Visibility(clock)
        collector = service.collectors[0]
        collector.sink = seen.sink_of(collector.sink)
        async with service:
            while not collector.ready:
                await asyncio.sleep(0.1)
            seen.start()
            samples = await run_traffic(args, lab, service, seen)
            await asyncio.sleep(5.0)  # the last calls end (agents talk, callers hang up)
            seen.stop()
            clock.uninstall()
            service.store.flush()
            compare(lab, service, samples)
        return samples
    finally:
        await asyncio.to_thread(lab.stop)


async def run_traffic(
    args: argparse.Namespace, lab: AsteriskLab, service: Service, seen: Visibility
) -> list[Sample]:
    total = int(args.rate * args.minutes * 60)
    traffic = callers(lab, args.rate, total, args.patience)
    started, cpu0 = time.monotonic(), cpu_seconds()
    samples: list[Sample] = []
    try:
        while traffic.returncode is None:
            await asyncio.sleep(args.every)
            samples.append(sample(service, seen, time.monotonic() - started))
            s = samples[-1]
            lat = s.latencies
            say(f"{s.at_s:6.0f} s  rss {s.rss_mb:5.0f} MB  rows {s.rows_written:8d} "
                f"(waiting {s.rows_waiting})  calls {s.calls_stored:6d}  visible p50 "
                f"{percentile(lat, 50) * 1000:5.0f} ms p95 {percentile(lat, 95) * 1000:5.0f} ms"
                f" (n {len(lat)})")  # fmt: skip
            if time.monotonic() - started > args.minutes * 60 + 120:
                say("callers still running 2 min after the end: stopping them")
                break
    finally:
        traffic.stop()
    say(f"traffic done: {total} calls placed, sipp exit {traffic.returncode}, "
        f"{cpu_seconds() - cpu0:.0f} s CPU in this process")  # fmt: skip
    return samples


def sample(service: Service, seen: Visibility, at_s: float) -> Sample:
    store = service.store
    cursor = store.cursor()
    try:
        row = cursor.execute("SELECT count(*) FROM queue_calls").fetchone()
    finally:
        cursor.close()
    return Sample(at_s, rss_bytes() / 2**20, store.rows_written, store.rows_waiting,
                  int(row[0]) if row else 0, seen.take())  # fmt: skip


def compare(lab: AsteriskLab, service: Service, samples: list[Sample]) -> None:
    """Calls stored against queue_log's, call by call; printed with the samples."""
    truth = {c.call_id: c.outcome for c in fold_calls(lab.queue_log_lines(), pbx="lab").calls}
    cursor = service.store.cursor()
    try:
        stored = dict(cursor.execute("SELECT call_id, outcome FROM queue_calls").fetchall())
        dupes = cursor.execute(
            "SELECT count(*) - count(DISTINCT (queue, call_id)) FROM queue_calls"
        ).fetchone()
    finally:
        cursor.close()
    differ = sum(1 for k, v in stored.items() if k in truth and truth[k] != v)
    outcomes: dict[str, int] = {}
    for v in truth.values():
        outcomes[v] = outcomes.get(v, 0) + 1
    print("## Soak results\n")
    print(f"- queue_log: {len(truth)} calls ended ({outcomes}); stored: {len(stored)}; "
          f"missing from the store: {len(set(truth) - set(stored))}; not in queue_log: "
          f"{len(set(stored) - set(truth))}; outcome differs: {differ}; "
          f"duplicates: {dupes[0] if dupes else '?'}")  # fmt: skip
    print(f"- rows written: {service.store.rows_written}; dropped: "
          f"{service.store.overflow.total}; database file "
          f"{service.settings.db_path.stat().st_size / 2**20:.0f} MB")  # fmt: skip
    print()
    print("| minute | RSS MB | rows written | calls stored | visible p50 ms | p95 | max | n |")
    print("|---|---|---|---|---|---|---|---|")
    per_minute: dict[int, list[Sample]] = {}
    for s in samples:
        per_minute.setdefault(int(s.at_s // 60), []).append(s)
    for minute, group in sorted(per_minute.items()):
        lat = [x for s in group for x in s.latencies]
        last = group[-1]
        print(f"| {minute + 1} | {last.rss_mb:.0f} | {last.rows_written} | {last.calls_stored} "
              f"| {percentile(lat, 50) * 1000:.0f} | {percentile(lat, 95) * 1000:.0f} "
              f"| {max(lat, default=float('nan')) * 1000:.0f} | {len(lat)} |")  # fmt: skip


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--minutes", type=float, default=10.0, help="traffic duration")
    parser.add_argument("--rate", type=float, default=8.0, help="new calls per second")
    parser.add_argument("--patience", type=float, default=5.0, help="caller waits at most (s)")
    parser.add_argument("--talk", type=float, default=1.0, help="agent talks (s), then hangs up")
    parser.add_argument("--every", type=float, default=10.0, help="seconds between samples")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="callboard-soak-") as tmp:
        asyncio.run(soak(args, Path(tmp)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
