"""The demo PBX: the contact-center model, Asterisk's view of it, its AMI server, its queue_log.

    async with DemoPbx(DemoSettings(port=5038, speed=10)) as pbx:
        collect from pbx.host, pbx.port with pbx.username / pbx.secret, as from any Asterisk

On entry the model first runs `warmup_s` simulated seconds at once (queue_log gets them, AMI
does not: nobody was connected, as with a PBX that was already busy), then the AMI server
opens and one task pushes what happens as the simulated clock reaches it. The simulated clock
starts at the wall clock and runs `speed` times as fast (`inf`: as fast as the clients read,
for load tests). Event Timestamps, Uniqueids and queue_log epochs are all simulated time, so
durations agree everywhere; with speed > 1 they run ahead of the wall clock. Appending to the
queue_log of an earlier run, the PBX boots after that log's last line (a shorter warm-up), so
no epoch second, hence no Uniqueid, is used twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from pathlib import Path
from typing import TextIO

from demo.asterisk import AsteriskPbx
from demo.config import DemoSettings
from demo.model import ContactCenter
from demo.server import AmiServer
from settings import PbxSettings

log = logging.getLogger(__name__)

UNPACED_SLICE_S = 5.0  # at speed inf, simulated seconds run between two looks at the sockets


class DemoPbx:
    """A simulated Asterisk 16 with queue traffic; see the module docstring."""

    def __init__(self, settings: DemoSettings | None = None) -> None:
        self.settings = settings or DemoSettings()
        self.quiet = asyncio.Event()  # set once arrivals are over and every call has ended
        self.events_generated = 0  # AMI events made (sent to whoever wanted them)
        self._task: asyncio.Task[None] | None = None
        self._queue_log: TextIO | None = None
        self._sim0 = self._wall0 = self._done = 0.0
        self._held = self.settings.hold_until_login

    # -- what a client needs -----------------------------------------------------------------
    @property
    def host(self) -> str:
        return self.settings.host

    @property
    def port(self) -> int:
        return self._server.port

    @property
    def username(self) -> str:
        return self.settings.username

    @property
    def secret(self) -> str:
        return self.settings.secret

    @property
    def queue_log(self) -> Path | None:
        return self.settings.queue_log

    def pbx_settings(self, name: str = "demo", ping_interval_s: float = 10.0) -> PbxSettings:
        """How the collector reaches this PBX: the same settings as for a real one."""
        return PbxSettings(name=name, host=self.host, port=self.port, username=self.username,
                           secret=self.secret, ping_interval_s=ping_interval_s)  # fmt: skip

    def now(self) -> float:
        """The simulated clock (a Unix epoch)."""
        if math.isinf(self.settings.speed) or self._held:
            return self._done
        return self._sim0 + (time.monotonic() - self._wall0) * self.settings.speed

    # -- lifecycle ---------------------------------------------------------------------------
    async def __aenter__(self) -> DemoPbx:
        s = self.settings
        wall = time.time()
        start = self._start_time(wall)
        self.model = ContactCenter(s, start, live_from=wall)
        self.asterisk = AsteriskPbx(s, booted_at=start)
        self._server = AmiServer(s, self.asterisk, self.now)
        if s.queue_log is not None:
            s.queue_log.parent.mkdir(parents=True, exist_ok=True)
            self._queue_log = s.queue_log.open("a", encoding="utf-8")
        self._write(self.asterisk.boot_lines())
        self._step(wall)  # the warm-up, at once: nobody is connected yet
        self._sim0, self._wall0, self._done = wall, time.monotonic(), wall
        try:
            await self._server.start()
        except BaseException:
            self._close_log()
            raise
        self._task = asyncio.create_task(self._drive(), name="demo-pbx")
        return self

    def _start_time(self, wall: float) -> float:
        """When the simulated PBX boots: `warmup_s` ago, but never before the end of the
        queue_log an earlier run left, so a quick restart repeats no epoch second and hence
        no Uniqueid (`epoch.seq`, seq restarting at 0 as on a restarted Asterisk)."""
        start = wall - self.settings.warmup_s
        last = _last_epoch(self.settings.queue_log)
        if last is None or last < start:
            return start
        if last <= wall:  # from the next second on (it may begin a moment after now)
            return last + 1.0
        log.warning("%s ends after now (a run faster than the clock?): its times and Uniqueids "
                    "may repeat", self.settings.queue_log)  # fmt: skip
        return start

    async def __aexit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._server.close()
        self._close_log()

    async def _drive(self) -> None:
        """Push each step when the simulated clock reaches it; the PBX's one running task."""
        unpaced = math.isinf(self.settings.speed)
        if self._held:
            await self._server.first_login.wait()
            self._wall0, self._held = time.monotonic(), False
        while True:
            due = self.model.next_time()
            if math.isinf(due):
                await asyncio.Event().wait()  # nothing will ever happen again: idle until closed
            if unpaced:
                until = due + UNPACED_SLICE_S
                await asyncio.sleep(0)  # let the sessions read their actions
            else:
                delay = (due - self.now()) / self.settings.speed
                if delay > 0:
                    await asyncio.sleep(delay)
                until = max(due, self.now())
            self._step(until)
            await self._server.drain()

    def _step(self, until: float) -> None:
        for happening in self.model.advance(until):
            events, lines = self.asterisk.apply(happening)
            self._write(lines)
            self._server.publish(events)
            self.events_generated += len(events)
        self._done = until
        if self._queue_log is not None:
            self._queue_log.flush()
        if self.model.quiet:
            self.quiet.set()

    def _write(self, lines: list[str]) -> None:
        if self._queue_log is not None and lines:
            self._queue_log.write("".join(f"{line}\n" for line in lines))

    def _close_log(self) -> None:
        if self._queue_log is not None:
            self._queue_log.close()
            self._queue_log = None


def _last_epoch(path: Path | None) -> int | None:
    """The epoch of the last line of a queue_log, if there is one."""
    if path is None or not path.exists():
        return None
    with path.open("rb") as f:
        f.seek(max(0, f.seek(0, 2) - 4096))
        tail = f.read().decode("utf-8", "replace").splitlines()
    for line in reversed(tail):
        epoch = line.split("|", 1)[0]
        if epoch.isdigit():
            return int(epoch)
    return None
