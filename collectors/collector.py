"""The Asterisk collector: one per PBX, from connect to reconnect, read top to bottom.

    run():  forever: connect + login -> subscribe -> snapshot -> pump events -> (lost) -> backoff
            an authentication failure is reported once and retried slowly, never silently.

Every row goes to `sink` (the store's queue); the collector never touches DuckDB. `status` is
what /healthz, /metrics and the admin page show.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from collectors.ami import AmiAuthError, AmiError, AmiSession, filters_for
from collectors.rows import ConnectionSession, RawEvent, Row
from collectors.tracker import SYSTEM_EVENTS, USED_EVENTS, CallTracker
from settings import PbxSettings

log = logging.getLogger(__name__)

BACKOFF_FIRST_S = 1.0
BACKOFF_CAP_S = 60.0
AUTH_RETRY_S = 60.0  # wrong credentials: retry slowly (the admin may fix them), loudly once


@dataclass
class PbxStatus:
    """What an admin needs to know about one PBX link, updated as things happen."""

    name: str
    state: str = "starting"  # starting|connecting|connected|disconnected|auth_failed|unreachable
    since: float = field(default_factory=time.time)
    last_event_at: float | None = None
    events: int = 0
    reconnects: int = 0
    last_error: str | None = None
    version: str | None = None
    malformed: int = 0
    booted_at: float | None = None  # from FullyBooted Uptime
    reloaded_at: float | None = None  # from FullyBooted LastReload, or a Reload event

    def set(self, state: str, error: str | None = None) -> None:
        if state != self.state:
            self.state, self.since = state, time.time()
        if error is not None:
            self.last_error = error

    def as_dict(self) -> dict[str, object]:
        """Every field, plus the last event's age; nothing secret is ever held here."""
        fields = dataclasses.asdict(self)
        age = None if self.last_event_at is None else round(time.time() - self.last_event_at, 3)
        return {**fields, "last_event_age_s": age}


class AsteriskCollector:
    """Collects one Asterisk PBX into rows; survives disconnects; see the module docstring."""

    def __init__(self, pbx: PbxSettings, sink: Callable[[Row], None]) -> None:
        self.pbx = pbx
        self.sink = sink
        self.status = PbxStatus(pbx.name)
        self.tracker = CallTracker(pbx.name)
        self._session_id = int(time.time() * 1000)
        self._session: AmiSession | None = None
        self._last_logged: str | None = None

    async def run(self) -> None:
        """Collect until cancelled, reconnecting with capped exponential backoff and jitter."""
        delay = BACKOFF_FIRST_S
        while True:
            try:
                await self._one_session()
            except AmiAuthError as e:
                self._failed("auth_failed", str(e), log_level=logging.ERROR)
                await asyncio.sleep(AUTH_RETRY_S)
                continue
            except AmiError as e:
                state = "unreachable" if self.status.state == "connecting" else "disconnected"
                self._failed(state, str(e), log_level=logging.WARNING)
            else:
                delay = BACKOFF_FIRST_S
            await asyncio.sleep(delay * random.uniform(0.5, 1.0))
            delay = min(delay * 2, BACKOFF_CAP_S)
            self.status.reconnects += 1

    async def _one_session(self) -> None:
        self.status.set("connecting")
        session = await AmiSession.open(self.pbx, self._on_event)
        self._session_id += 1
        started = _now()
        self.sink(
            ConnectionSession(self.pbx.name, self._session_id, started, None, "connected", None)
        )
        self._session = session
        try:
            async with session:
                self.status.version = session.version
                self.status.set("connected")
                self._last_logged = None
                log.info("connected to %s (AMI %s)", self.pbx.describe(), session.version)
                for rule in filters_for(USED_EVENTS):
                    await session.action({"Action": "Filter", "Operation": "Add", "Filter": rule})
                await self.snapshot()
                await session.run()
        except AmiError as e:
            self._end_session(started, "closed", str(e))
            raise
        finally:
            self._session = None
            self.status.malformed += session.counters["malformed"]

    async def snapshot(self) -> None:
        """Rebuild live state from QueueStatus: members (with pause reasons) and callers waiting.

        Stays we followed that are no longer waiting, and were not answered, ended while we
        could not see them: they are closed as unknown and marked as a gap.
        """
        if self._session is None:
            return
        events = await self._session.events_of({"Action": "QueueStatus"})
        at = _now()
        waiting = {e.get("Uniqueid", "") for e in events if e.get("Event") == "QueueEntry"}
        for row in self.tracker.settle_after_gap(waiting, at):
            self.sink(row)
        for event in events:
            for row in self.tracker.feed(event, at):
                self.sink(row)

    def _on_event(self, event: dict[str, str]) -> None:
        # Small and synchronous: translate to rows and enqueue (STYLE rule 7).
        name = event.get("Event", "")
        if name not in USED_EVENTS:
            return  # a PBX that ignored our Filter: drop what we do not use
        received = time.time()
        self.status.events += 1
        self.status.last_event_at = received
        at = datetime.fromtimestamp(received, UTC)
        self.sink(
            RawEvent(
                self.pbx.name,
                self._session_id,
                at,
                name,
                event.get("Uniqueid") or None,
                json.dumps(event),
            )
        )
        if name in SYSTEM_EVENTS:
            self._system_event(name, event, received)
        for row in self.tracker.feed(event, at):
            self.sink(row)

    def _system_event(self, name: str, event: dict[str, str], received: float) -> None:
        if name == "FullyBooted":
            uptime, reload = event.get("Uptime", ""), event.get("LastReload", "")
            if uptime.isdigit():
                self.status.booted_at = received - int(uptime)
            if reload.isdigit():
                self.status.reloaded_at = received - int(reload)
        elif name == "Reload":
            self.status.reloaded_at = received
        elif name == "Shutdown":  # panoramisk then ends the session; we reconnect
            self.status.set("disconnected", f"the PBX is shutting down ({event.get('Shutdown')})")

    def _end_session(self, started: datetime, state: str, detail: str | None) -> None:
        self.sink(
            ConnectionSession(self.pbx.name, self._session_id, started, _now(), state, detail)
        )

    def _failed(self, state: str, message: str, log_level: int) -> None:
        self.status.set(state, message)
        if message != self._last_logged:  # log each new failure once, not on every retry
            self._last_logged = message
            log.log(log_level, "%s: %s", self.pbx.describe(), message)
        if state == "auth_failed":
            self._session_id += 1
            now = _now()
            self.sink(ConnectionSession(self.pbx.name, self._session_id, now, now, state, message))


def _now() -> datetime:
    return datetime.now(UTC)
