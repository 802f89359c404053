"""The service lifecycle, shared by the web app (dashboard.py) and `python -m collectors run`.

    async with Service(settings) as service:   # open store -> start collectors -> scheduler
        ...                                    # serve pages / wait for a signal
    # on exit: scheduler stops -> collectors cancelled -> rows flushed -> CHECKPOINT -> close

Pages reach the running service through `current()`: they read through `store.cursor()`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Coroutine
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from apscheduler.schedulers.asyncio import AsyncIOScheduler

import connections
from collectors.collector import AsteriskCollector
from demo import DemoPbx, DemoSettings
from errors import CallboardError, ConfigError, StoreError
from live.board import LiveBoard
from live.snapshot import Link
from settings import PbxSettings, Settings
from storage.backfill import backfill_file
from storage.export import ExportReport, export
from storage.follower import QueueLogFollower
from storage.retention import prune_raw_events
from storage.store import Store

DEMO_PBX_NAME = "demo"
DEMO_NOTE = (
    "**Demo data.** No PBX is configured, so Callboard watches its built-in demo PBX: a "
    "simulated contact center spoken over AMI exactly as Asterisk 16 speaks it. Add a "
    "`[[pbx]]` table to `callboard.toml` (see `callboard.example.toml`) to watch your own."
)
RETENTION_EVERY_H = 6
EXPORT_FIRST_AFTER_S = 60  # the first export after a start: once the demo history is loaded
CONSOLE_CALL_TIMEOUT_S = 30.0  # a page waits this long for a start/stop it asked for
T = TypeVar("T")

log = logging.getLogger(__name__)

_current: Service | None = None


def current() -> Service | None:
    """The service running in this process, if any (pages use it to reach the store)."""
    return _current


class Service:
    """Owns the store, one collector task per PBX and the scheduler.

    PBXs come from the settings file (read-only here) and from the PBX console
    (`apply_pbx` / `remove_pbx`, kept by connections.py); the console's are started, restarted
    and stopped while the service runs. `collectors` is replaced, never mutated, so a page
    thread reading it always sees a whole list.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.store = Store(
            settings.db_path,
            settings.flush_interval_s,
            settings.agents,
            settings.store_buffer_rows,
            queues=settings.queues,
        )
        self.connections_path = connections.connections_file(settings)
        self.file_pbx = frozenset(p.name for p in settings.pbx)
        self.console_pbx = {
            p.name: p for p in connections.load(self.connections_path) if self._console_may(p)
        }
        pbxs = [*settings.pbx, *self.console_pbx.values()]
        self.collectors = [AsteriskCollector(p, self.store.put) for p in pbxs]
        self.started_at = time.time()
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._scheduler = AsyncIOScheduler()
        self._stack = contextlib.AsyncExitStack()
        self._demo_stack = contextlib.AsyncExitStack()  # closed early once a PBX is added
        self._loop: asyncio.AbstractEventLoop | None = None
        self._changing = asyncio.Lock()  # one console change at a time
        # An export runs on a worker thread with its own cursor: the stop asks it to end at
        # its next partition, and the store is closed only once it has.
        self._export_stop = threading.Event()
        self._export_idle = threading.Lock()
        wanted = settings.demo
        self.demo = wanted == "on" or (wanted == "auto" and not pbxs)
        self.live = LiveBoard(self.store, settings, self.links, self.demo)
        self._live_task: asyncio.Task[None] | None = None

    def _console_may(self, pbx: PbxSettings) -> bool:
        if pbx.name in self.file_pbx:
            log.warning("saved PBX connection %r ignored: %s defines a PBX of that name",
                        pbx.name, self.settings.source)  # fmt: skip
            return False
        return True

    async def __aenter__(self) -> Service:
        global _current
        self._loop = asyncio.get_running_loop()
        self.store.open()
        if self.demo:
            await self._start_demo()
        for collector in self.collectors:
            self._start(collector)
        # One live snapshot for every open realtime page (live/board.py).
        self._live_task = asyncio.create_task(self.live.run(), name="live-board")
        self._scheduler.add_job(
            self._prune,
            "interval",
            hours=RETENTION_EVERY_H,
            id="raw-retention",
            max_instances=1,
            coalesce=True,
        )
        if self.settings.export:
            self._scheduler.add_job(
                self._export,
                "interval",
                minutes=self.settings.export_every_min,
                next_run_time=datetime.now(UTC) + timedelta(seconds=EXPORT_FIRST_AFTER_S),
                id="parquet-export",
                max_instances=1,
                coalesce=True,
            )
        self._scheduler.start()
        if not self.collectors:
            log.warning(
                "no PBX configured: add a [[pbx]] table to callboard.toml "
                "(see callboard.example.toml)"
            )
        _current = self
        log.info("Callboard started: store %s, %d PBX", self.settings.db_path, len(self.collectors))
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        global _current
        _current = None
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        tasks = [*self._tasks.values(), *([self._live_task] if self._live_task else [])]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()
        await self._demo_stack.aclose()  # the demo PBX, if it runs
        await self._stack.aclose()
        self._export_stop.set()
        await asyncio.to_thread(self._export_idle.acquire)  # a running export has ended
        self._export_idle.release()
        # Every row the collectors produced is in the store's queue; close() writes it all.
        await asyncio.to_thread(self.store.close)
        log.info("Callboard stopped; store flushed and checkpointed")

    def _start(self, collector: AsteriskCollector) -> None:
        """Run one PBX's collector and its QueueStatus poll (one job per PBX: a slow PBX
        delays no other), and the follower of its queue_log if it has one."""
        name = collector.pbx.name
        self._tasks[name] = asyncio.create_task(collector.run(), name=f"collector:{name}")
        if collector.pbx.queue_log_path is not None:
            self._tasks[f"queue-log:{name}"] = asyncio.create_task(
                self._follow(collector, collector.pbx.queue_log_path), name=f"queue-log:{name}"
            )
        self._scheduler.add_job(
            self._poll_queues,
            "interval",
            args=(collector,),
            seconds=self.settings.poll_interval_s,
            id=f"queue-status-poll:{name}",
            max_instances=1,
            coalesce=True,
            replace_existing=True,
        )

    async def _follow(self, collector: AsteriskCollector, path: Path) -> None:
        """Follow a PBX's queue_log (storage/follower.py) every queue_log_poll_s. The
        collector's open stays are read here, on the loop that changes them; the file and
        the store are worked in a thread."""
        follower = await asyncio.to_thread(QueueLogFollower, self.store, collector.pbx.name, path)
        log.info("%s: following %s", collector.pbx.name, path)
        try:
            while True:
                try:
                    await asyncio.to_thread(follower.poll, collector.tracker.open_keys())
                except (OSError, CallboardError) as e:  # logged, and tried again next round
                    log.warning("%s: following %s failed: %s", collector.pbx.name, path, e)
                await asyncio.sleep(self.settings.queue_log_poll_s)
        finally:
            follower.close()

    async def _stop(self, name: str, forget: bool = False) -> None:
        """Stop one PBX's poll and collector (its session row is closed, as at shutdown);
        with `forget`, its members also leave the live view (it is no longer watched)."""
        with contextlib.suppress(Exception):  # apscheduler's JobLookupError: no such job
            self._scheduler.remove_job(f"queue-status-poll:{name}")
        stopped = [c for c in self.collectors if c.pbx.name == name]
        self.collectors = [c for c in self.collectors if c.pbx.name != name]
        popped = (self._tasks.pop(name, None), self._tasks.pop(f"queue-log:{name}", None))
        tasks = [t for t in popped if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for collector in stopped if forget else []:
            collector.forget_members()

    async def _stop_demo(self) -> None:
        """A PBX was added while the demo ran only for want of one (demo = auto): the demo
        stops now, as it would not start again; its rows stay, tagged pbx = demo."""
        await self._stop(DEMO_PBX_NAME, forget=True)
        await self._demo_stack.aclose()
        self.demo = self.live.demo = False
        log.info("demo PBX stopped: a PBX was added on the console")

    def source_of(self, name: str) -> str:
        """Where a PBX's settings come from: "file", "console" or "demo"."""
        if name in self.file_pbx:
            return "file"
        return "console" if name in self.console_pbx else "demo"

    async def apply_pbx(self, pbx: PbxSettings) -> None:
        """Add or change a console PBX: saved first (0600, connections.py), then its
        collector is started, or restarted with the new settings; no service restart."""
        self._editable(pbx.name)
        verb = "changed" if pbx.name in self.console_pbx else "added"
        async with self._changing:
            saved = {**self.console_pbx, pbx.name: pbx}
            await asyncio.to_thread(connections.save, self.connections_path,
                                    tuple(saved.values()))  # fmt: skip
            self.console_pbx = saved
            if self.demo and self.settings.demo == "auto":
                await self._stop_demo()
            await self._stop(pbx.name)
            collector = AsteriskCollector(pbx, self.store.put)
            self.collectors = [*self.collectors, collector]
            self._start(collector)
        log.info("PBX %s %s on the console", pbx.describe(), verb)

    async def remove_pbx(self, name: str) -> None:
        """Stop a console PBX's collector and forget its settings (its rows stay)."""
        self._editable(name)
        async with self._changing:
            if name not in self.console_pbx:
                raise ConfigError(f"no PBX named {name!r} was added on the console")
            kept = {n: p for n, p in self.console_pbx.items() if n != name}
            await asyncio.to_thread(connections.save, self.connections_path,
                                    tuple(kept.values()))  # fmt: skip
            self.console_pbx = kept
            await self._stop(name, forget=True)
        log.info("PBX %s removed from the console", name)

    def _editable(self, name: str) -> None:
        if name in self.file_pbx:
            raise ConfigError(
                f"PBX {name!r} is defined in {self.settings.source}: edit it there (read-only "
                "on this page)"
            )
        if name == DEMO_PBX_NAME:  # even once the demo stopped: its rows carry that name
            raise ConfigError(f"{DEMO_PBX_NAME!r} is the built-in demo PBX's name")

    def call(self, work: Coroutine[Any, Any, T], timeout: float = CONSOLE_CALL_TIMEOUT_S) -> T:
        """Run `work` on the service's event loop from another thread (a page's) and wait."""
        if self._loop is None:
            work.close()
            raise ConfigError("the service is not running")
        return asyncio.run_coroutine_threadsafe(work, self._loop).result(timeout)

    async def _start_demo(self) -> None:
        """The built-in demo PBX on loopback, collected by the same code as a real one; the
        history it simulated before we connected comes in through its queue_log."""
        queue_log = self.settings.db_path.parent / "demo_queue_log"
        pbx = await self._demo_stack.enter_async_context(DemoPbx(DemoSettings(queue_log=queue_log)))
        settings = pbx.pbx_settings(name=DEMO_PBX_NAME)
        self.collectors.append(AsteriskCollector(settings, self.store.put))
        report = await asyncio.to_thread(backfill_file, self.store, queue_log, DEMO_PBX_NAME)
        log.info("demo PBX on %s:%d; %d calls of its history loaded from its queue_log",
                 pbx.host, pbx.port, report.calls_added)  # fmt: skip

    async def _prune(self) -> None:
        deleted = await asyncio.to_thread(
            prune_raw_events, self.store, self.settings.raw_retention_days
        )
        log.info("retention: %d raw events older than %g days deleted", deleted,
                 self.settings.raw_retention_days)  # fmt: skip

    async def _export(self) -> None:
        try:
            report = await asyncio.to_thread(self.export_now)
        except CallboardError as e:  # another export running, or the service stopping
            log.warning("export: %s", e)
            return
        except Exception:  # a bug of ours: logged; the next run tries again
            log.exception("export into %s failed", self.settings.export_path)
            return
        log.info("export %s: version %d, %d partitions written (%d rows, %.1f MB), %d unchanged, "
                 "%d files deleted, %.1f s", self.settings.export_path, report.version,
                 report.written, report.rows, report.bytes / 1e6, report.unchanged,
                 report.files_deleted, report.seconds)  # fmt: skip

    def export_now(self) -> ExportReport:
        """Export the closed days that changed into `export_path` (blocking; a worker thread)."""
        with self._export_idle:
            if self._export_stop.is_set():
                raise StoreError("export skipped: the service is stopping")
            cursor = self.store.cursor()
            try:
                return export(
                    cursor,
                    self.settings.export_path,
                    raw_retention_days=self.settings.raw_retention_days,
                    grace_s=self.settings.export_grace_min * 60,
                    progress=self._export_progress,
                )
            finally:
                cursor.close()

    def _export_progress(self, done: int, total: int, table: str) -> None:
        if self._export_stop.is_set():  # files written so far are removed by the next export
            raise StoreError("export stopped: the service is stopping")

    async def _poll_queues(self, collector: AsteriskCollector) -> None:
        # Reconciliation poll of one PBX: its QueueStatus against what we published;
        # corrections are counted as drift (collectors/reconcile.py).
        try:
            await collector.reconcile()
        except asyncio.CancelledError:  # the scheduler's shutdown: the next login rebuilds
            log.debug("QueueStatus poll of %s cancelled: stopping", collector.pbx.name)
        except Exception:  # a bug of ours: logged; the next poll runs as usual
            log.exception("QueueStatus poll of %s failed", collector.pbx.name)

    def links(self) -> tuple[Link, ...]:
        """Each PBX link's state, for the live snapshot (is what the pages show live?)."""
        out = []
        for c in self.collectors:
            s = c.status
            age = None if s.last_event_at is None else time.time() - s.last_event_at
            out.append(Link(s.name, s.state, s.since, s.last_error, age))
        return tuple(out)

    def health(self) -> dict[str, object]:
        """What /healthz returns: each PBX's state and last event age; never a secret."""
        pbxs = [{**c.status.as_dict(), "source": self.source_of(c.pbx.name)}
                for c in self.collectors]  # fmt: skip
        ok = all(p["state"] == "connected" for p in pbxs) and self.store.last_error is None
        return {
            "status": "ok" if ok else "degraded",
            "message": _health_message(self),
            "uptime_s": round(time.time() - self.started_at, 1),
            "store": self.store.health(),
            "pbx": pbxs,
        }


def _health_message(service: Service) -> str:
    store = service.store
    if store.last_error is not None:  # nothing else matters as much: data is at risk
        dropped = store.overflow.total
        return f"{store.last_error}; {store.rows_waiting} rows waiting to be written" + (
            f", {dropped} dropped (buffer full: see store_gaps)" if dropped else ""
        )
    if service.demo:
        return "demo data: the built-in demo PBX runs because no [[pbx]] is configured"
    if not service.collectors:
        return "no PBX configured: add a [[pbx]] table to callboard.toml"
    return ""


# PbxStatus fields exported per PBX: (metric name = field [+ _total], type, help).
_PBX_METRICS = (
    ("sessions_total", "counter", "AMI logins that succeeded."),
    ("failures_total", "counter", "AMI connection attempts that failed or sessions lost."),
    ("malformed_total", "counter", "AMI frames skipped: not a message, or oversized."),
    ("long_fields_total", "counter", "AMI fields cut to their bound (4096 characters)."),
    ("unused_events_total", "counter", "AMI events skipped: a type the collector does not use."),
    ("missing_fields_total", "counter", "AMI events skipped: a field the rows key on missing."),
    ("handler_errors_total", "counter", "Exceptions while handling an AMI message (a bug)."),
    ("snapshot_errors_total", "counter", "Snapshot or poll actions the PBX refused."),
    ("drift_corrections_total", "counter", "Differences the QueueStatus poll found and fixed."),
    ("restarts_seen_total", "counter", "PBX restarts found at a login (new startup time)."),
    ("current_calls", "gauge", "Calls on the PBX (CoreStatus), at the last snapshot."),
    ("ping_rtt_ms", "gauge", "Round trip of the last AMI Ping, in milliseconds."),
)


def metrics_text(service: Service) -> str:
    """Prometheus text exposition of the service's counters."""
    lines = [
        "# HELP callboard_pbx_up 1 when the AMI session to the PBX is connected.",
        "# TYPE callboard_pbx_up gauge",
    ]
    per_pbx = [c.status for c in service.collectors]
    lines += [f'callboard_pbx_up{{pbx="{s.name}"}} {int(s.state == "connected")}' for s in per_pbx]
    lines += [
        "# HELP callboard_ami_events_total AMI events used.",
        "# TYPE callboard_ami_events_total counter",
    ]
    lines += [f'callboard_ami_events_total{{pbx="{s.name}"}} {s.events}' for s in per_pbx]
    lines += [
        "# HELP callboard_ami_reconnects_total Reconnections after a lost session.",
        "# TYPE callboard_ami_reconnects_total counter",
    ]
    lines += [f'callboard_ami_reconnects_total{{pbx="{s.name}"}} {s.reconnects}' for s in per_pbx]
    for name, kind, help_text in _PBX_METRICS:
        lines += [f"# HELP callboard_{name} {help_text}", f"# TYPE callboard_{name} {kind}"]
        attribute = name.removesuffix("_total")
        for s in per_pbx:
            value = getattr(s, attribute)
            if value is not None:
                lines.append(f'callboard_{name}{{pbx="{s.name}"}} {value}')
    lines += [
        "# HELP callboard_store_rows_written_total Rows appended to DuckDB.",
        "# TYPE callboard_store_rows_written_total counter",
        f"callboard_store_rows_written_total {service.store.rows_written}",
        "# HELP callboard_store_rows_waiting Rows received and not yet written.",
        "# TYPE callboard_store_rows_waiting gauge",
        f"callboard_store_rows_waiting {service.store.rows_waiting}",
        "# HELP callboard_store_rows_dropped_total Rows dropped: the store's buffer was full.",
        "# TYPE callboard_store_rows_dropped_total counter",
        f"callboard_store_rows_dropped_total {service.store.overflow.total}",
        "# HELP callboard_store_up 0 while the database cannot be written.",
        "# TYPE callboard_store_up gauge",
        f"callboard_store_up {int(service.store.last_error is None)}",
    ]
    return "\n".join(lines) + "\n"
