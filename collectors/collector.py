"""The Asterisk collector: one per PBX, from connect to reconnect, read top to bottom.

    run():      forever: one session -> (it ends) -> backoff with jitter -> again
    a session:  connect + log in -> ping (a task) | Filter -> rebuild from QueueStatus -> events
    reconcile(): the scheduled poll: QueueStatus against what we published; drift is counted

A refused login is reported once (state, last_error, one log line, a connection_sessions row)
and retried slowly; an unreachable PBX likewise, with capped exponential backoff and jitter.
Gaps: when a session ends, every stay still open is marked `gap`; at the next login the
QueueStatus snapshot brings back callers still waiting and closes, as unknown, those that
ended out of sight (collectors/reconcile.py). Nothing is invented: a stay is only written with
what was seen. Every row goes to `sink` (the store's queue); the collector never touches DuckDB.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import random
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from collectors import snapshot
from collectors.ami import (
    AmiActionError,
    AmiAuthError,
    AmiError,
    AmiEvent,
    AmiSession,
    filters_for,
)
from collectors.reconcile import (
    SETTLE_GRACE_S,
    Plan,
    Published,
    Touches,
    close_stays,
    mark_gap,
    plan,
)
from collectors.rows import ConnectionSession, RawEvent, Row, WaitingCaller
from collectors.status import PbxStatus
from collectors.tracker import SYSTEM_EVENTS, USED_EVENTS, CallTracker
from settings import PbxSettings

log = logging.getLogger(__name__)

BACKOFF_FIRST_S = 1.0
BACKOFF_CAP_S = 60.0
AUTH_RETRY_S = 60.0  # wrong credentials: retry slowly (the admin may fix them), loudly once
LOGIN_TIMEOUT_S = 10.0
ACTION_TIMEOUT_S = 30.0  # a list action on a large PBX; a dead peer is found by the pings

# The fields rows are keyed on: an event without one is counted and skipped (never guessed).
_CALLER, _MEMBER = ("Queue", "Uniqueid"), ("Queue", "Interface")
_REQUIRED: dict[str, tuple[str, ...]] = {
    "QueueCallerJoin": _CALLER, "QueueCallerLeave": _CALLER, "QueueCallerAbandon": _CALLER,
    "AgentCalled": ("Queue",), "AgentRingNoAnswer": ("Queue",), "AgentConnect": ("Queue",),
    "AgentComplete": ("Queue",),  # seen without the caller's Uniqueid: the tracker falls back
    "QueueMemberStatus": _MEMBER, "QueueMemberAdded": _MEMBER, "QueueMemberRemoved": _MEMBER,
    "QueueMemberPause": _MEMBER, "QueueMemberPenalty": _MEMBER, "QueueMemberRinginuse": _MEMBER,
    "HangupRequest": ("Uniqueid",), "Hangup": ("Uniqueid",), "VarSet": ("Uniqueid",),
    "DeviceStateChange": ("Device", "State"),
}  # fmt: skip


class Backoff:
    """Capped exponential backoff with jitter: each delay is drawn in [d/2, d], d doubling
    from `first` up to `cap`; `reset()` after a session that worked."""

    def __init__(self, first: float = BACKOFF_FIRST_S, cap: float = BACKOFF_CAP_S) -> None:
        self.first, self.cap = first, cap
        self._next = first

    def reset(self) -> None:
        self._next = self.first

    def next(self) -> float:
        delay, self._next = self._next, min(self._next * 2, self.cap)
        return delay * random.uniform(0.5, 1.0)


class AsteriskCollector:
    """Collects one Asterisk PBX into rows; survives disconnects; see the module docstring."""

    def __init__(self, pbx: PbxSettings, sink: Callable[[Row], None]) -> None:
        self.pbx = pbx
        self.sink = sink
        self.status = PbxStatus(pbx.name)
        self.tracker = CallTracker(pbx.name)
        self.published = Published()
        self._session_id = int(time.time() * 1000)
        self._session: AmiSession | None = None
        self._ready = False  # logged in and rebuilt: the poll may run
        self._touches: Touches | None = None  # recording while a snapshot is judged
        self._lock = asyncio.Lock()  # one snapshot at a time (login rebuild or poll)
        self._last_logged: str | None = None
        # queue -> (servicelevel, max, strategy, weight) of the last QueueParams row written
        self._params_written: dict[str, tuple[object, ...]] = {}
        self._warned: set[tuple[str, str]] = set()
        self.backoff = Backoff()
        self.auth_retry_s = AUTH_RETRY_S

    @property
    def ready(self) -> bool:
        """Logged in, subscribed and rebuilt from QueueStatus: no event can be missed now."""
        return self._ready

    async def run(self) -> None:
        """Collect until cancelled, reconnecting with capped exponential backoff and jitter."""
        try:
            while True:
                await asyncio.sleep(await self._attempt())
        except asyncio.CancelledError:
            self._forget_waiting()
            raise

    async def _attempt(self) -> float:
        """One session from connect to its end; return how long to wait before the next."""
        try:
            await self._one_session()
        except AmiAuthError as e:
            self._failed("auth_failed", str(e), logging.ERROR)
            return self.auth_retry_s
        except AmiError as e:
            lost = self.status.state == "connected"
            if lost:  # a session that worked: the first retry comes soon
                self.backoff.reset()
            self._failed("disconnected" if lost else "unreachable", str(e))
        except Exception as e:  # a bug of ours: logged with its traceback, counted, retried
            log.exception("%s: collector failed", self.pbx.describe())
            self._failed("disconnected", f"internal error: {e!r}")
        return self.backoff.next()

    async def _one_session(self) -> None:
        if self.status.state == "starting":
            self.status.set("connecting")
        self._touches = Touches()  # from the session's first event on (see _rebuild)
        session = await AmiSession.open(self.pbx, self._on_event, self.status, LOGIN_TIMEOUT_S)
        started = self._begin(session)
        pinger = asyncio.create_task(session.run(), name=f"ping:{self.pbx.name}")
        try:
            async with session:
                await self._subscribe(session)
                await self._rebuild(session)
                await pinger  # until the session ends: raises AmiLost saying why
        except Exception as e:  # the session's end, or a bug of ours: the row says which
            self._end(started, "closed", str(e) if isinstance(e, AmiError) else f"error: {e!r}")
            raise
        except asyncio.CancelledError:
            self._end(started, "closed", "service stopped")
            raise
        finally:
            pinger.cancel()
            await asyncio.gather(pinger, return_exceptions=True)
            self._session, self._ready, self._touches = None, False, None
            mark_gap(self.tracker, _now())  # what is open now lives through a gap

    def _begin(self, session: AmiSession) -> datetime:
        self._session = session
        self._params_written.clear()  # a new session writes every queue's params once
        self._session_id += 1
        self._last_logged = None
        status = self.status
        status.session_id, status.version = self._session_id, session.version
        status.sessions += 1
        status.reconnects += status.sessions > 1
        status.set("connected")
        log.info("connected to %s (AMI %s)", self.pbx.describe(), session.version)
        started = _now()
        self.sink(
            ConnectionSession(self.pbx.name, self._session_id, started, None, "connected", None)
        )
        return started

    async def _subscribe(self, session: AmiSession) -> None:
        for rule in filters_for(USED_EVENTS):
            reply = await session.action({"Action": "Filter", "Operation": "Add", "Filter": rule})
            if not reply.success:  # we still drop unused events, after they crossed the wire
                self._refused("Filter", AmiActionError(str(reply.get("message", ""))))

    async def _rebuild(self, session: AmiSession) -> None:
        """Live state from QueueStatus after login: members, callers waiting, stays settled."""
        async with self._lock:
            queues = await self._queue_status(session)
            await snapshot.read_facts(session, self.status, ACTION_TIMEOUT_S, self._refused)
            await asyncio.sleep(SETTLE_GRACE_S)  # events in flight arrive
            if queues is not None:
                todo = self._apply(queues, after_gap=True)
                log.info("%s: live state rebuilt (%d corrections)", self.pbx.name, len(todo))
            await self._close_gone(session)
            self._touches = None
            self._ready = True

    async def reconcile(self) -> None:
        """The scheduled poll: correct and count drift between QueueStatus and our state."""
        session = self._session
        if session is None or not self._ready or self._lock.locked():
            return
        async with self._lock:
            touches = self._touches = Touches()
            try:
                queues = await self._queue_status(session)
                await asyncio.sleep(SETTLE_GRACE_S)
                if self._session is not session:
                    return  # the session ended meanwhile: the next login rebuilds
                if queues is not None:
                    todo = self._apply(queues, after_gap=False)
                    self.status.drift_corrections += len(todo)
                    for note in todo.notes:  # a drift is a bug to find, not to hide
                        log.warning("%s: drift corrected: %s", self.pbx.name, note)
                await snapshot.read_facts(session, self.status, ACTION_TIMEOUT_S, self._refused)
            except AmiError as e:  # the session is over; run() reports and reconnects
                log.debug("%s: poll ended with the session: %s", self.pbx.name, e)
            finally:
                if self._touches is touches:
                    self._touches = None

    async def _close_gone(self, session: AmiSession) -> None:
        # Answered stays whose caller hung up during the gap: written answered + gap, with
        # their end left unknown (never invented).
        try:
            live = await snapshot.live_channels(session, ACTION_TIMEOUT_S)
        except AmiActionError as e:
            self._refused("CoreShowChannels", e)
            return
        self._emit(self.tracker.close_gone(live, _now()))

    async def _queue_status(self, session: AmiSession) -> snapshot.QueueSnapshot | None:
        try:
            queues = await snapshot.queue_status(session, ACTION_TIMEOUT_S)
        except AmiActionError as e:
            self._refused("QueueStatus", e)
            return None
        self._write_params(queues)
        return queues

    def _write_params(self, queues: snapshot.QueueSnapshot) -> None:
        """Each queue's QueueParams as history (its servicelevel is the SL threshold's
        default), at the first answer of a session and when the queue's settings change: the
        KPI queries resolve thresholds from this table on every run, so it must stay small (a
        row per poll would be 525,600 per queue and year; scanning 175k took 40 ms)."""
        for row in queues.params_rows(self.pbx.name, _now()):
            setup = (row.servicelevel, row.max, row.strategy, row.weight)
            if self._params_written.get(row.queue) != setup:
                self._params_written[row.queue] = setup
                self.sink(row)

    def _refused(self, action: str, error: AmiActionError) -> None:
        self.status.snapshot_errors += 1
        level = logging.DEBUG if (action, str(error)) in self._warned else logging.WARNING
        self._warned.add((action, str(error)))  # each refusal logged once, counted always
        log.log(level, "%s refused %s: %s", self.pbx.name, action, error)

    def _apply(self, queues: snapshot.QueueSnapshot, after_gap: bool) -> Plan:
        touched = self._touches.keys if self._touches is not None else set()
        todo = plan(queues, self.published, self.tracker, touched, after_gap)
        at = _now()
        for event in todo.feed:
            self._emit(self.tracker.feed(event, at))
        self._emit(close_stays(self.tracker, todo.close, at))
        return todo

    def _on_event(self, event: AmiEvent) -> None:
        # Small and synchronous: translate to rows and enqueue (STYLE rule 7).
        if self._touches is not None:
            self._touches.add(event)
        name = event.get("Event", "")
        if name not in USED_EVENTS:
            self.status.unused_events += 1  # a PBX that ignored our Filter, or before it
            return
        received = time.time()
        self.status.events += 1
        self.status.last_event_at = received
        at = datetime.fromtimestamp(received, UTC)
        uniqueid = event.get("Uniqueid") or None
        self.sink(RawEvent(self.pbx.name, self._session_id, at, name, uniqueid, event.text))
        missing = next((f for f in _REQUIRED.get(name, ()) if not event.get(f)), None)
        if missing is not None:
            self._missing(name, missing)
            return
        if name in SYSTEM_EVENTS:
            self._system_event(name, event, received)
        self._emit(self.tracker.feed(event, at))

    def _emit(self, rows: Iterable[Row]) -> None:
        for row in rows:
            self.published.apply(row)
            self.sink(row)

    def _missing(self, name: str, field: str) -> None:
        self.status.missing_fields += 1
        level = logging.DEBUG if (name, field) in self._warned else logging.WARNING
        self._warned.add((name, field))
        log.log(level, "%s: %s without %s: counted and skipped", self.pbx.name, name, field)

    def _system_event(self, name: str, event: dict[str, str], received: float) -> None:
        if name == "FullyBooted":
            uptime, reload = event.get("Uptime", ""), event.get("LastReload", "")
            if uptime.isdigit():
                self.status.booted_at = received - int(uptime)
            if reload.isdigit():
                self.status.reloaded_at = received - int(reload)
        elif name == "Reload":
            self.status.reloaded_at = received
        elif name == "Shutdown":  # the session then ends (collectors/ami.py) and we reconnect
            log.info("%s is shutting down (%s)", self.pbx.describe(), event.get("Shutdown"))

    def _end(self, started: datetime, state: str, detail: str | None) -> None:
        self.sink(
            ConnectionSession(self.pbx.name, self._session_id, started, _now(), state, detail)
        )

    def _failed(self, state: str, message: str, log_level: int = logging.WARNING) -> None:
        self.status.failures += 1
        self.status.set(state, message)
        if message == self._last_logged:  # each new failure once, not on every retry
            return
        self._last_logged = message
        log.log(log_level, "%s: %s", self.pbx.describe(), message)
        if state != "disconnected":  # a lost session already has its closing row
            self._session_id += 1
            now = _now()
            self.sink(ConnectionSession(self.pbx.name, self._session_id, now, now, state, message))

    def forget_members(self) -> None:
        """The PBX is no longer watched (removed on the console): take its queue members off
        the live view. Call once its task has ended; their history is kept."""
        at = _now()
        for member in list(self.published.members.values()):
            if member.present:
                self.sink(dataclasses.replace(member, present=False, since=at))

    def _forget_waiting(self) -> None:
        """The service stops: take the callers we saw waiting off the live view.

        Their stays are not written (their outcome is not known yet): a caller still waiting
        at the next start comes back from the login snapshot as a gap stay, written once.
        """
        at = _now()
        for stay in self.tracker.waiting():
            if stay.answered_at is None and stay.left_at is None:
                self.sink(WaitingCaller(
                    self.pbx.name, stay.queue, stay.call_id, stay.caller_num, stay.caller_name,
                    stay.position, stay.entered_at, present=False, seen_at=at,
                ))  # fmt: skip


def _now() -> datetime:
    return datetime.now(UTC)
