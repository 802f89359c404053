"""Soak: minutes of sipp traffic at a high call rate against the real Asterisk 16 lab.

    scripts/in-netns .venv/bin/python bench/soak.py                    # 10 min, 7 calls/s
    scripts/in-netns .venv/bin/python bench/soak.py --minutes 1 --rate 4

The lab of the tests (tests/lab/: Asterisk 16, agents' phones and callers as sipp on
loopback) with three agents in queue `support` and two sipp caller processes: `--rate` calls
a second that wait at most `--patience` seconds (most abandon: the queue stays full) and
`--patient-rate` calls a second that wait until answered (the agents stay busy). The real
`service.Service` collects it in this process. Every `--every` seconds
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
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass, field

import duckdb

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
    duckdb_mb: float  # DuckDB's own memory (duckdb_memory()): part of the RSS
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


def callers(
    lab: AsteriskLab, name: str, rate: float, total: int, patience_s: float | None
) -> SippProcess:
    """One sipp placing `total` calls to queue support at `rate` a second; each caller waits
    `patience_s` at most (None: until answered), then talks until the agent hangs up."""
    scenario = render(
        "caller.xml.in", lab.sipp_dir / f"{name}.xml", caller_num="9000", caller_name=name,
        patience_s=NEVER_MS / 1000 if patience_s is None else patience_s, talk_ms=NEVER_MS,
    )  # fmt: skip
    sipp = find_tool("sipp") or "sipp"
    args = [f"{LOOPBACK}:{lab.sip_port}", "-s", "600", "-r", str(rate), "-m", str(total),
            "-l", str(int(rate * 120) + 1)]  # fmt: skip
    return SippProcess(sipp, name, lab.sipp_dir, scenario, args)


async def soak(args: argparse.Namespace, folder: Path) -> list[Sample]:
    lab = AsteriskLab(folder / "asterisk", wrapuptime_s=1)
    await asyncio.to_thread(lab.start)
    try:
        for ext in AGENTS:
            await asyncio.to_thread(lab.start_agent, ext, answer_after_s=0.2, talk_s=args.talk,
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
            after_checkpoint(service)
        return samples
    finally:
        await asyncio.to_thread(lab.stop)


async def run_traffic(
    args: argparse.Namespace, lab: AsteriskLab, service: Service, seen: Visibility
) -> list[Sample]:
    total = int(args.rate * args.minutes * 60)
    patient = int(args.patient_rate * args.minutes * 60)
    traffic = callers(lab, "impatient", args.rate, total, args.patience)
    answered = callers(lab, "patient", args.patient_rate, patient, None) if patient else None
    started, cpu0 = time.monotonic(), cpu_seconds()
    samples: list[Sample] = []
    baseline: tracemalloc.Snapshot | None = None
    try:
        while traffic.returncode is None or (answered and answered.returncode is None):
            await asyncio.sleep(args.every)
            samples.append(sample(service, seen, time.monotonic() - started))
            s = samples[-1]
            lat = s.latencies
            say(f"{s.at_s:6.0f} s  rss {s.rss_mb:5.0f} MB (duckdb {s.duckdb_mb:4.0f})  "
                f"rows {s.rows_written:8d} "
                f"(waiting {s.rows_waiting})  calls {s.calls_stored:6d}  visible p50 "
                f"{percentile(lat, 50) * 1000:5.0f} ms p95 {percentile(lat, 95) * 1000:5.0f} ms"
                f" (n {len(lat)})")  # fmt: skip
            if args.trace_memory and baseline is None and s.at_s >= 60:
                baseline = tracemalloc.take_snapshot()
            if time.monotonic() - started > args.minutes * 60 + 120:
                say("callers still running 2 min after the end: stopping them")
                break
    finally:
        traffic.stop()
        if answered is not None:
            answered.stop()
    if baseline is not None:
        grown = tracemalloc.take_snapshot().compare_to(baseline, "traceback")
        say("Python memory grown since minute 1 (tracemalloc), largest first:")
        for stat in grown[:12]:
            say(f"  {stat.size_diff / 2**20:+7.2f} MB {stat.count_diff:+8d} blocks")
            for line in stat.traceback.format()[-6:]:
                say(f"      {line}")
    say(f"traffic done: {total} + {patient} calls placed, sipp exit {traffic.returncode}, "
        f"{cpu_seconds() - cpu0:.0f} s CPU in this process")  # fmt: skip
    return samples


def sample(service: Service, seen: Visibility, at_s: float) -> Sample:
    store = service.store
    cursor = store.cursor()
    try:
        row = cursor.execute("SELECT count(*) FROM queue_calls").fetchone()
        duckdb_mb = duckdb_memory_mb(cursor)
    finally:
        cursor.close()
    return Sample(at_s, rss_bytes() / 2**20, store.rows_written, store.rows_waiting,
                  int(row[0]) if row else 0, duckdb_mb, seen.take())  # fmt: skip


def duckdb_memory_mb(cursor: duckdb.DuckDBPyConnection) -> float:
    row = cursor.execute("SELECT sum(memory_usage_bytes) FROM duckdb_memory()").fetchone()
    return float(row[0] or 0) / 2**20 if row else 0.0


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
    print("| min | RSS MB | DuckDB MB | rows | calls | visible p50 ms | p95 | max | n |")
    print("|---|---|---|---|---|---|---|---|---|")
    per_minute: dict[int, list[Sample]] = {}
    for s in samples:
        per_minute.setdefault(int(s.at_s // 60), []).append(s)
    for minute, group in sorted(per_minute.items()):
        lat = [x for s in group for x in s.latencies]
        last = group[-1]
        print(f"| {minute + 1} | {last.rss_mb:.0f} | {last.duckdb_mb:.0f} | {last.rows_written} "
              f"| {last.calls_stored} "
              f"| {percentile(lat, 50) * 1000:.0f} | {percentile(lat, 95) * 1000:.0f} "
              f"| {max(lat, default=float('nan')) * 1000:.0f} | {len(lat)} |")  # fmt: skip


def after_checkpoint(service: Service) -> None:
    """RSS and DuckDB's memory once the WAL is checkpointed into the file."""
    before = rss_bytes() / 2**20
    service.store.in_writer(lambda con: con.execute("CHECKPOINT"))
    cursor = service.store.cursor()
    try:
        duck = duckdb_memory_mb(cursor)
    finally:
        cursor.close()
    print(f"\nAfter the traffic: RSS {before:.0f} MB; after CHECKPOINT {rss_bytes() / 2**20:.0f} "
          f"MB, of which DuckDB {duck:.0f} MB.")  # fmt: skip


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--minutes", type=float, default=10.0, help="traffic duration")
    parser.add_argument("--rate", type=float, default=6.0, help="impatient calls per second")
    parser.add_argument("--patience", type=float, default=5.0, help="impatient callers wait (s)")
    parser.add_argument("--patient-rate", type=float, default=1.0,
                        help="calls per second that wait until answered")  # fmt: skip
    parser.add_argument("--talk", type=float, default=1.0, help="agent talks (s), then hangs up")
    parser.add_argument("--trace-memory", action="store_true",
                        help="tracemalloc: what grew after minute 1 (slower)")  # fmt: skip
    parser.add_argument("--every", type=float, default=10.0, help="seconds between samples")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.trace_memory:
        tracemalloc.start(12)
    with tempfile.TemporaryDirectory(prefix="callboard-soak-") as tmp:
        asyncio.run(soak(args, Path(tmp)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
