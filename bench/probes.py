"""The ingest benchmark's instruments: RSS over time, marker arrival, marker visibility.

Each one watches the service from outside through what it exposes (the collector's `sink`, the
named queries); only ReadClock reaches into a private class, for want of a hook (see its doc).
"""

from __future__ import annotations

import asyncio
import os
import resource
import statistics
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import collectors.ami
import queries
from collectors.rows import Row, WaitingCaller
from errors import CallboardError

PAGE = resource.getpagesize()
TICK = os.sysconf("SC_CLK_TCK")


def say(text: str) -> None:
    """Progress goes to stderr; the results alone go to stdout."""
    print(text, file=sys.stderr, flush=True)


def rss_bytes() -> int:
    """Resident set size of this process now (/proc/self/statm)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE


def cpu_seconds() -> float:
    """CPU time (user + system) this process has used, all threads."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile (no interpolation: a reported p95 is a measured value)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered) + 0.5) - 1))]


class MachineLoad:
    """CPU the rest of the machine used meanwhile (other processes add noise on 2 cores)."""

    def __init__(self, generator_pid: int | None) -> None:
        self._pid = generator_pid
        self._start = self._sample()

    def _sample(self) -> tuple[float, float, float]:
        with open("/proc/stat") as f:
            ticks = [int(v) for v in f.readline().split()[1:]]
        busy = (sum(ticks) - ticks[3] - ticks[4]) / TICK  # all but idle and iowait
        ours = cpu_seconds()
        if self._pid is not None:
            with open(f"/proc/{self._pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            ours += (int(fields[11]) + int(fields[12])) / TICK  # utime, stime
        return time.monotonic(), busy, ours

    def other_cores(self) -> float:
        """Mean cores busy outside this process and the load generator since construction."""
        (t0, busy0, ours0), (t1, busy1, ours1) = self._start, self._sample()
        return max(0.0, (busy1 - busy0) - (ours1 - ours0)) / max(t1 - t0, 1e-9)


class RssSampler(threading.Thread):
    """Samples RSS every `interval` s; prints progress; keeps RSS at 10% and 50% of a phase."""

    def __init__(self, interval: float = 0.2, every: float = 2.0) -> None:
        super().__init__(name="rss-sampler", daemon=True)
        self.interval, self.every = interval, every
        self.samples: list[tuple[str, float, int]] = []  # (phase, fraction done, rss)
        self.marks: dict[str, int] = {}
        self._phase = "start"
        self._progress: Callable[[], tuple[float, str]] = lambda: (0.0, "")
        self._halt = threading.Event()

    def watch(self, phase: str, progress: Callable[[], tuple[float, str]]) -> None:
        """Follow a new phase; `progress` returns (fraction done, a line of text)."""
        self._phase, self._progress = phase, progress

    def mark(self, name: str) -> None:
        """Keep the RSS now as '<phase> <name>' (e.g. 'pipeline 100%')."""
        self.marks[f"{self._phase} {name}"] = rss_bytes()

    def median(self, phase: str, start: float, end: float) -> int:
        """Median RSS sampled while `phase` was between `start` and `end` (fractions) done."""
        values = [rss for p, done, rss in self.samples if p == phase and start <= done < end]
        return int(statistics.median(values)) if values else 0

    def peak(self, phase: str) -> int:
        return max((rss for p, _, rss in self.samples if p == phase), default=0)

    def stop(self) -> None:
        self._halt.set()
        self.join()

    def run(self) -> None:
        printed = time.monotonic()
        while not self._halt.wait(self.interval):
            rss, phase = rss_bytes(), self._phase
            done, text = self._progress()
            self.samples.append((phase, done, rss))
            for pct in (10, 50):
                if done * 100 >= pct:
                    self.marks.setdefault(f"{phase} {pct}%", rss)
            if time.monotonic() - printed >= self.every:
                printed = time.monotonic()
                say(f"[{phase}] {done:6.1%}  {text}  rss {rss / 2**20:.0f} MB")


class ReadClock:
    """Times the collector's socket reads: a marker 'arrives' with the read that brought it.

    collectors/ami.py has no hook for this, so the bench wraps the protocol's data_received
    (a private class) while it runs. If that class is renamed, arrival falls back to the time
    the marker's row is queued (later than the read by the rest of that read's messages).
    """

    def __init__(self) -> None:
        self.last = 0.0
        self.reads = 0
        self.nbytes = 0
        self._undo: Callable[[], None] | None = None

    def install(self) -> bool:
        protocol: Any = getattr(collectors.ami, "_Protocol", None)
        original = getattr(protocol, "data_received", None)
        if original is None:
            return False

        def data_received(proto: Any, data: bytes) -> None:
            self.last = time.monotonic()
            self.reads += 1
            self.nbytes += len(data)
            original(proto, data)

        protocol.data_received = data_received
        self._undo = lambda: setattr(protocol, "data_received", original)
        return True

    def uninstall(self) -> None:
        if self._undo is not None:
            self._undo()
            self._undo = None

    def now(self) -> float:
        """When the data being handled arrived (or now, without the wrap)."""
        return self.last if self._undo is not None else time.monotonic()


class Probe:
    """Wraps the collector's sink: counts rows, notes when each marker's join row is queued."""

    def __init__(
        self, put: Callable[[Row], None], markers: tuple[str, ...], clock: ReadClock
    ) -> None:
        self._put = put
        self._markers = set(markers)
        self._last = markers[-1]
        self._clock = clock
        self.rows = 0
        self.arrived: dict[str, float] = {}
        self.done = asyncio.Event()  # the stream's last event (a marker) was handled

    def sink(self, row: Row) -> None:
        self._put(row)
        self.rows += 1
        if type(row) is WaitingCaller and row.present and row.call_id in self._markers:
            self.arrived.setdefault(row.call_id, self._clock.now())  # a re-publish is no arrival
            if row.call_id == self._last:
                self.done.set()


class VisibilityPoller(threading.Thread):
    """Runs the realtime page's query (`live_waiting`) in a loop from its own thread and cursor,
    as a page session does; notes when each marker caller is first shown (the query's end)."""

    def __init__(self, markers: tuple[str, ...], interval: float) -> None:
        super().__init__(name="visibility-poller", daemon=True)
        self.pending = set(markers)
        self.interval = interval
        self.seen: dict[str, float] = {}
        self.query_s: list[float] = []
        self.error: str | None = None
        self._halt = threading.Event()

    def stop(self) -> None:
        self._halt.set()
        self.join()

    def run(self) -> None:
        while self.pending and not self._halt.is_set():
            started = time.monotonic()
            try:
                frame = queries.read("live_waiting")
            except CallboardError as e:
                self.error = str(e)
                return
            shown = time.monotonic()
            self.query_s.append(shown - started)
            for call_id in self.pending.intersection(frame["call_id"]):
                self.seen[call_id] = shown
            self.pending.difference_update(self.seen)
            self._halt.wait(self.interval)
