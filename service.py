"""The service lifecycle, shared by the web app (dashboard.py) and `python -m collectors run`.

    async with Service(settings) as service:   # open store -> start collectors -> scheduler
        ...                                    # serve pages / wait for a signal
    # on exit: scheduler stops -> collectors cancelled -> rows flushed -> CHECKPOINT -> close

Pages reach the running service through `current()`: they read through `store.cursor()`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from types import TracebackType

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from collectors.collector import AsteriskCollector
from settings import Settings
from storage.store import Store

log = logging.getLogger(__name__)

_current: Service | None = None


def current() -> Service | None:
    """The service running in this process, if any (pages use it to reach the store)."""
    return _current


class Service:
    """Owns the store, one collector task per PBX and the scheduler."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.store = Store(settings.db_path, settings.flush_interval_s, settings.agents)
        self.collectors = [AsteriskCollector(p, self.store.put) for p in settings.pbx]
        self.started_at = time.time()
        self._tasks: list[asyncio.Task[None]] = []
        self._scheduler: AsyncIOScheduler | None = None

    async def __aenter__(self) -> Service:
        global _current
        self.store.open()
        for collector in self.collectors:
            name = f"collector:{collector.pbx.name}"
            self._tasks.append(asyncio.create_task(collector.run(), name=name))
        self._scheduler = AsyncIOScheduler()
        self._scheduler.add_job(
            self._poll_queues,
            "interval",
            seconds=self.settings.poll_interval_s,
            id="queue-status-poll",
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
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        # Every row the collectors produced is in the store's queue; close() writes it all.
        await asyncio.to_thread(self.store.close)
        log.info("Callboard stopped; store flushed and checkpointed")

    async def _poll_queues(self) -> None:
        # Reconciliation poll: QueueStatus rebuilds member state and settles drifted stays.
        for collector in self.collectors:
            try:
                await collector.snapshot()
            except Exception as e:  # one PBX failing never stops the others' polls
                log.warning("QueueStatus poll of %s failed: %s", collector.pbx.name, e)

    def health(self) -> dict[str, object]:
        """What /healthz returns: each PBX's state and last event age; never a secret."""
        pbxs = [c.status.as_dict() for c in self.collectors]
        ok = all(p["state"] == "connected" for p in pbxs)
        return {
            "status": "ok" if ok else "degraded",
            "message": "" if pbxs else "no PBX configured: add a [[pbx]] table to callboard.toml",
            "uptime_s": round(time.time() - self.started_at, 1),
            "store": {"path": str(self.settings.db_path), "rows_written": self.store.rows_written,
                      "last_error": self.store.last_error},
            "pbx": pbxs,
        }  # fmt: skip


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
    lines += [
        "# HELP callboard_store_rows_written_total Rows appended to DuckDB.",
        "# TYPE callboard_store_rows_written_total counter",
        f"callboard_store_rows_written_total {service.store.rows_written}",
    ]
    return "\n".join(lines) + "\n"
