"""Ingest benchmark: a large AMI stream over loopback TCP into the collector and DuckDB.

    .venv/bin/python bench/ingest.py                                # 200k events, filtered mix
    .venv/bin/python bench/ingest.py --events 1000000 --mix raw

One run prints, side by side: events/s of the full pipeline (service.Service: AmiSession ->
AsteriskCollector -> store queue -> writer thread -> DuckDB, until every row is written);
panoramisk 1.4's bare dispatch rate (its own Manager and AMIProtocol: parse, dispatch to a
no-op callback) on the same stream from the same server; their ratio; the time from a marker
event's arrival (the socket read that brought it) to its visibility in the realtime page's
query (`live_waiting`), p50 and p95; and this process's RSS over the run. The stream comes
from bench/loadgen.py, a load generator in its own process. Method and results: README.md.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # runnable as bench/ingest.py

import argparse
import asyncio
import contextlib
import logging
import multiprocessing
import tempfile
import time
from types import TracebackType
from typing import Any

from panoramisk.manager import Manager

from bench.loadgen import MIXES, StreamConfig, StreamReport, StreamSummary, serve
from bench.probes import (
    MachineLoad,
    Probe,
    ReadClock,
    RssSampler,
    VisibilityPoller,
    cpu_seconds,
    say,
)
from bench.results import PipelineRun, details, maxrss, results, table, targets
from service import Service
from settings import PbxSettings, Settings


class LoadGenerator:
    """The parent's side of bench/loadgen.py: start its process, read its reports, stop it."""

    def __init__(self, config: StreamConfig) -> None:
        ctx = multiprocessing.get_context("spawn")  # a clean process: no threads, no DuckDB
        self._conn, child = ctx.Pipe()
        self._process = ctx.Process(target=serve, args=(child, config), name="ami-loadgen")
        self.port = 0
        self.summary: StreamSummary | None = None

    @property
    def pid(self) -> int | None:
        return self._process.pid

    def __enter__(self) -> LoadGenerator:
        self._process.start()
        _, self.port, self.summary = self._receive("ready", timeout=600)
        return self

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        with contextlib.suppress(OSError):  # the generator may already be gone
            self._conn.send("stop")
        self._process.join(10)
        if self._process.is_alive():
            self._process.terminate()  # our own child, through its handle
            self._process.join()

    def report(self) -> StreamReport:
        """How the server wrote the stream to the connection that just finished."""
        stream: StreamReport = self._receive("stream", timeout=60)[1]
        return stream

    def _receive(self, kind: str, timeout: float) -> tuple[Any, ...]:
        if not self._conn.poll(timeout):
            raise RuntimeError(f"the load generator sent no {kind!r} within {timeout:.0f} s")
        message: tuple[Any, ...] = self._conn.recv()
        if message[0] != kind:
            raise RuntimeError(f"the load generator sent {message[0]!r}, expected {kind!r}")
        return message


# -- panoramisk, bare --------------------------------------------------------------------------
async def run_bare(
    port: int, summary: StreamSummary, timeout: float, sampler: RssSampler
) -> tuple[float, float]:
    """panoramisk's own Manager + AMIProtocol, a no-op '*' callback; returns (done at, CPU s)."""
    loop = asyncio.get_running_loop()
    logged_in: asyncio.Future[None] = loop.create_future()
    done: asyncio.Future[float] = loop.create_future()
    count = 0
    sampler.watch("bare", lambda: (count / summary.events, f"{count:,} events"))

    def on_event(manager: Any, message: Any) -> None:
        nonlocal count
        count += 1
        if count == summary.events:
            done.set_result(time.monotonic())

    def on_login(manager: Any) -> None:
        if not logged_in.done():
            logged_in.set_result(None)

    manager = Manager(
        host="127.0.0.1", port=port, username="bench", secret="x", loop=loop, on_login=on_login,
        ping_delay=3600, ping_interval=3600, reconnect_timeout=3600,  # no pings, no reconnects
    )  # fmt: skip
    manager.register_event("*", on_event)
    cpu = cpu_seconds()
    manager.connect()
    try:
        await asyncio.wait_for(logged_in, 30)
        # The load generator starts the stream after QueueStatus, as for the collector.
        await asyncio.wait_for(manager.send_action({"Action": "QueueStatus"}), 30)
        finished = await asyncio.wait_for(done, timeout)
    finally:
        manager.close()
    return finished, cpu_seconds() - cpu


# -- the pipeline ------------------------------------------------------------------------------
async def run_pipeline(
    port: int, summary: StreamSummary, args: argparse.Namespace, sampler: RssSampler
) -> PipelineRun:
    """The service as it runs in production, against the load generator."""
    clock = ReadClock()
    run = PipelineRun(arrival="socket read" if clock.install() else "row queued")
    try:
        with tempfile.TemporaryDirectory(prefix="callboard-bench-") as tmp:
            db = Path(tmp) / "bench.duckdb"
            await _run_service(_settings(db, port, args), summary, args, sampler, clock, run)
            run.db_bytes = db.stat().st_size
    finally:
        clock.uninstall()
    run.reads, run.read_bytes = clock.reads, clock.nbytes
    return run


def _settings(db: Path, port: int, args: argparse.Namespace) -> Settings:
    pbx = PbxSettings(name="bench", host="127.0.0.1", port=port, username="bench", secret="x")
    # The reconciliation poll is not ingest: keep it out of the run (the load generator's
    # QueueStatus lists no callers, so a poll would close the waiting markers).
    return Settings(
        db_path=db, flush_interval_s=args.flush_interval, poll_interval_s=86400.0, pbx=(pbx,)
    )


async def _run_service(
    settings: Settings,
    summary: StreamSummary,
    args: argparse.Namespace,
    sampler: RssSampler,
    clock: ReadClock,
    run: PipelineRun,
) -> None:
    service = Service(settings)
    collector = service.collectors[0]
    probe = Probe(collector.sink, summary.markers, clock)
    collector.sink = probe.sink

    def progress() -> tuple[float, str]:
        events, written = collector.status.events, service.store.rows_written
        return events / summary.used, f"{events:,} events, {written:,}/{probe.rows:,} rows written"

    sampler.watch("pipeline", progress)
    cpu = cpu_seconds()
    async with service:
        poller = VisibilityPoller(summary.markers, args.poll_interval)
        poller.start()
        try:
            await _until_done(probe, collector.status.as_dict, args.timeout)
            run.parsed = time.monotonic()
            await asyncio.to_thread(service.store.flush, args.timeout)
            run.written = time.monotonic()
            run.cpu_s = cpu_seconds() - cpu
            sampler.mark("100%")
            run.peak_ingest = maxrss()
            deadline = time.monotonic() + 10
            while poller.pending and poller.is_alive() and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
        finally:
            poller.stop()
    sampler.mark("closed")  # after the final CHECKPOINT
    run.rss_closed = sampler.marks["pipeline closed"]
    run.rows = service.store.rows_written
    run.latencies = [seen - probe.arrived[m] for m, seen in poller.seen.items()]
    run.markers_seen, run.query_s = len(poller.seen), poller.query_s
    if poller.error:
        say(f"visibility poller stopped: {poller.error}")


async def _until_done(probe: Probe, status: Any, limit: float) -> None:
    deadline = time.monotonic() + limit
    while not probe.done.is_set():
        if time.monotonic() > deadline:
            raise RuntimeError(f"the stream did not finish within {limit:.0f} s: {status()}")
        try:
            await asyncio.wait_for(probe.done.wait(), 1.0)
        except TimeoutError:
            state = status()
            if state["state"] in ("auth_failed", "unreachable", "disconnected"):
                raise RuntimeError(f"the collector is not connected: {state}") from None


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add = parser.add_argument
    add("--events", type=int, default=200_000, help="events in the stream (default 200000)")
    add("--mix", choices=MIXES, default="filtered",
        help="filtered (default): only what the collector's AMI Filter lets through; "
             "raw: everything the PBX emitted (VarSet, TestEvent, Newexten, ...)")  # fmt: skip
    add("--rate", type=float, default=0.0,
        help="pace the stream at this many events/s (default: as fast as the socket takes it;"
             " a paced run skips the bare panoramisk runs)")  # fmt: skip
    add("--bare-runs", type=int, default=3, help="bare panoramisk runs (the median is used)")
    add("--markers", type=int, default=200, help="marker calls timed for visibility")
    add("--poll-interval", type=float, default=0.1,
        help="seconds between live_waiting queries (0.1: ~20 open realtime pages)")  # fmt: skip
    add("--chunk-bytes", type=int, default=8192, help="size of the load generator's writes")
    add("--flush-interval", type=float, default=0.25, help="the store's flush_interval_s")
    add("--timeout", type=float, default=1800.0, help="give up after this many seconds")
    add("--captures", type=Path, default=StreamConfig(1).captures, help="recorded captures")
    return parser.parse_args(argv)


def bare_runs(
    generator: LoadGenerator, summary: StreamSummary, args: argparse.Namespace, sampler: RssSampler
) -> list[float]:
    """Events/s of each bare panoramisk run on the same stream."""
    rates: list[float] = []
    for i in range(0 if args.rate else args.bare_runs):
        done, cpu = asyncio.run(run_bare(generator.port, summary, args.timeout, sampler))
        rates.append(summary.events / (done - generator.report().started))
        say(f"bare panoramisk run {i + 1}: {rates[-1]:,.0f} ev/s, CPU {cpu:.1f} s")
    return rates


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("panoramisk").setLevel(logging.CRITICAL)  # 'Connection lost' on our close
    config = StreamConfig(
        args.events, args.mix, args.markers, args.chunk_bytes, args.captures, args.rate
    )
    sampler = RssSampler()
    sampler.start()
    say(f"building {args.events:,} {args.mix} events in the load generator ...")
    with LoadGenerator(config) as generator:
        summary = generator.summary
        assert summary is not None
        say(f"stream: {summary.nbytes / 2**20:.0f} MB, {summary.repetitions:.1f} repetitions")
        bare = bare_runs(generator, summary, args, sampler)
        load = MachineLoad(generator.pid)
        run = asyncio.run(run_pipeline(generator.port, summary, args, sampler))
        run.other_cores = load.other_cores()
        pipe = (run, generator.report())
    sampler.stop()
    mix = f"{args.mix}, paced {args.rate:,.0f} ev/s" if args.rate else args.mix
    r = results(mix, summary, bare, pipe, sampler)
    lines = [*table(summary, r), "", *details(summary, r, run, sampler, args.poll_interval)]
    print("\n".join([*lines, "", *targets(r)]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
