"""The ingest benchmark's numbers and how they are printed (the Markdown bench/README.md uses)."""

from __future__ import annotations

import resource
import statistics
import subprocess
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from bench.loadgen import StreamReport, StreamSummary
from bench.probes import RssSampler, percentile

REPO = Path(__file__).resolve().parents[1]
TARGET_RATIO = 0.5  # the pipeline at least half of panoramisk's bare dispatch rate
TARGET_P95_S = 0.5  # an event visible to a page query within 0.5 s (p95)
FLAT_GROWTH = 0.10  # "flat": median RSS over the second half within 10% of the first half's
MB = 2**20


@dataclass
class PipelineRun:
    """What one pipeline run measured (times are time.monotonic(), system-wide on Linux)."""

    parsed: float = 0.0  # the last event's row was queued
    written: float = 0.0  # every row was written (store.flush returned)
    cpu_s: float = 0.0
    rows: int = 0
    latencies: list[float] = field(default_factory=list)
    markers_seen: int = 0
    query_s: list[float] = field(default_factory=list)
    other_cores: float = 0.0  # CPU the rest of the machine used meanwhile
    rss_closed: int = 0
    peak_ingest: int = 0  # ru_maxrss once every row was written (before the store closed)
    reads: int = 0
    read_bytes: int = 0
    db_bytes: int = 0
    arrival: str = "socket read"


@dataclass(frozen=True)
class Results:
    """The numbers of one run, derived from the raw measurements."""

    mix: str
    pipe_rate: float
    parse_rate: float
    bare_rates: tuple[float, ...]  # one per bare run; none when the stream is paced
    p50: float
    p95: float
    rss: tuple[int, int, int]  # at 10%, 50%, 100% of the pipeline's stream
    halves: tuple[int, int]  # median RSS sampled over 10-55% and 55-100% of the stream
    peak: int

    @property
    def bare_rate(self) -> float:
        return statistics.median(self.bare_rates) if self.bare_rates else float("nan")

    @property
    def ratio(self) -> float:
        return self.pipe_rate / self.bare_rate

    @property
    def flat(self) -> bool:
        return self.halves[0] > 0 and self.halves[1] <= self.halves[0] * (1 + FLAT_GROWTH)


def results(
    mix: str,
    summary: StreamSummary,
    bare_rates: list[float],
    pipe: tuple[PipelineRun, StreamReport],
    sampler: RssSampler,
) -> Results:
    """Rates count every event on the wire, from the server's first stream write."""
    run, stream = pipe
    ten, half, full = (sampler.marks.get(f"pipeline {p}", 0) for p in ("10%", "50%", "100%"))
    return Results(
        mix=mix,
        pipe_rate=summary.events / (run.written - stream.started),
        parse_rate=summary.events / (run.parsed - stream.started),
        bare_rates=tuple(bare_rates),
        p50=percentile(run.latencies, 50),
        p95=percentile(run.latencies, 95),
        rss=(ten, half, full),
        halves=(sampler.median("pipeline", 0.10, 0.55), sampler.median("pipeline", 0.55, 1.01)),
        peak=run.peak_ingest,
    )


def table(summary: StreamSummary, r: Results) -> list[str]:
    """The headline: one Markdown table row with its header."""
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    rss = " / ".join(f"{m / MB:.0f}" for m in r.rss)
    bare, ratio = (f"{r.bare_rate:,.0f}", f"{r.ratio:.2f}") if r.bare_rates else ("-", "-")
    return [
        f"{when}, {revision()}: {summary.events:,} events ({r.mix}; {summary.nbytes / MB:.0f} MB,"
        f" {summary.used:,} of them used by the collector, {len(summary.markers)} markers)",
        "",
        "| mix | events | pipeline ev/s | bare panoramisk ev/s | ratio "
        "| visibility p50 / p95 | RSS at 10% / 50% / 100% | peak RSS |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
        f"| {r.mix} | {summary.events:,} | {r.pipe_rate:,.0f} | {bare} | {ratio} "
        f"| {r.p50:.2f} s / {r.p95:.2f} s | {rss} MB | {r.peak / MB:.0f} MB |",
    ]


def details(
    summary: StreamSummary, r: Results, run: PipelineRun, sampler: RssSampler, poll_s: float
) -> list[str]:
    """What stands behind each number, and the noise the machine added."""
    wall = summary.events / r.pipe_rate
    query_ms = [q * 1000 for q in run.query_s]
    bare = ", ".join(f"{b:,.0f}" for b in r.bare_rates) + " ev/s" if r.bare_rates else "not run"
    return [
        f"- pipeline: {r.parse_rate:,.0f} ev/s parsed and tracked (last row queued); "
        f"{run.rows:,} rows written, DuckDB file {run.db_bytes / MB:.0f} MB; "
        f"CPU {run.cpu_s:.1f} s in {wall:.1f} s ({run.cpu_s / wall:.2f} cores); "
        f"{run.reads:,} socket reads of {run.read_bytes / max(run.reads, 1) / 1024:.0f} KiB; "
        f"other processes on the machine used {run.other_cores:.2f} cores meanwhile",
        f"- bare panoramisk runs (median above): {bare}",
        f"- visibility: {run.markers_seen}/{len(summary.markers)} markers seen; arrival = "
        f"{run.arrival}; shown = end of the first live_waiting query listing it, run every "
        f"{poll_s:.2f} s (query p50 {percentile(query_ms, 50):.0f} ms, "
        f"max {max(query_ms, default=0):.0f} ms); worst {max(run.latencies, default=0):.2f} s",
        f"- memory: median RSS sampled every 0.2 s over 10-55% of the stream "
        f"{r.halves[0] / MB:.0f} MB, over 55-100% {r.halves[1] / MB:.0f} MB, highest sample "
        f"{sampler.peak('pipeline') / MB:.0f} MB; peak RSS above is ru_maxrss once every row "
        f"was written (bare runs included); after the store closed (final CHECKPOINT) "
        f"RSS {run.rss_closed / MB:.0f} MB, ru_maxrss {maxrss() / MB:.0f} MB",
    ]


def targets(r: Results) -> list[str]:
    """Each target of the issue, met or missed."""
    ratio = _met(r.ratio >= TARGET_RATIO) if r.bare_rates else "not measured (paced)"
    return [
        f"- target pipeline >= {TARGET_RATIO:.0%} of bare panoramisk: {ratio}",
        f"- target visibility p95 <= {TARGET_P95_S} s: {_met(r.p95 <= TARGET_P95_S)}",
        f"- target memory flat (median RSS over 55-100% of the stream within {FLAT_GROWTH:.0%} "
        f"of the median over 10-55%): {_met(r.flat)}",
    ]


def maxrss() -> int:
    """Peak RSS of this process so far, in bytes (ru_maxrss is KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def revision() -> str:
    """The commit measured (with -dirty when tracked files have changes)."""
    git = ["git", "-C", str(REPO), "describe", "--always", "--dirty"]
    done = subprocess.run(git, capture_output=True, text=True, check=False)
    return done.stdout.strip() or "unknown revision"


def _met(ok: bool) -> str:
    return "met" if ok else "MISSED"
