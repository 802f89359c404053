"""What the collector asks the PBX at every login and poll, besides the event stream.

- `queue_status`: QueueStatus, the live state of queues: members (status, pause and reason)
  and callers waiting, which the collector rebuilds and reconciles its state from; and each
  queue's QueueParams (its `servicelevel` and app_queue's counters), written as
  `QueueParams` rows (`params_rows`).
- `read_facts`: what an admin needs on the PBX console: Asterisk version (CoreSettings),
  startup and reload time and current calls (CoreStatus), queues and callers (QueueSummary),
  endpoints and contacts (PJSIPShowEndpoints, PJSIPShowContacts).
Every action exists on Asterisk 16 for a manager user with `write = system,reporting` (or all).
A refused action is counted (`snapshot_errors`) and logged by the collector; it never ends the
session.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from collectors.ami import AmiActionError, AmiSession
from collectors.rows import QueueParams
from collectors.status import PbxStatus

log = logging.getLogger(__name__)

Event = dict[str, str]


@dataclass(frozen=True)
class QueueSnapshot:
    """QueueStatus's answer: members and callers waiting, as the PBX has them now."""

    members: list[Event]  # QueueMember events
    entries: list[Event]  # QueueEntry events
    params: tuple[Event, ...] = ()  # QueueParams events, one per queue

    @classmethod
    def of(cls, events: list[Event]) -> QueueSnapshot:
        kind = [e.get("Event") for e in events]
        return cls(
            members=[e for e, k in zip(events, kind, strict=True) if k == "QueueMember"],
            entries=[e for e, k in zip(events, kind, strict=True) if k == "QueueEntry"],
            params=tuple(e for e, k in zip(events, kind, strict=True) if k == "QueueParams"),
        )

    def params_rows(self, pbx: str, at: datetime) -> list[QueueParams]:
        """One QueueParams row per queue that has a name; a field that is not a number is
        stored as NULL (Asterisk 16 prints ServicelevelPerf as e.g. `70.0`)."""
        return [
            QueueParams(
                pbx, e["Queue"], at, _int(e.get("ServiceLevel")), _int(e.get("Max")),
                e.get("Strategy") or None, _int(e.get("Calls")), _int(e.get("Holdtime")),
                _int(e.get("TalkTime")), _int(e.get("Completed")), _int(e.get("Abandoned")),
                _float(e.get("ServicelevelPerf")), _float(e.get("ServicelevelPerf2")),
                _int(e.get("Weight")),
            )
            for e in self.params
            if e.get("Queue")
        ]  # fmt: skip


async def queue_status(session: AmiSession, timeout: float) -> QueueSnapshot:
    """Run QueueStatus; raise AmiActionError if the PBX refuses it (app_queue not loaded)."""
    return QueueSnapshot.of(await session.events_of({"Action": "QueueStatus"}, timeout))


async def live_channels(session: AmiSession, timeout: float) -> set[str]:
    """Uniqueids of the channels up now (CoreShowChannels): after a gap, an answered caller
    whose channel is gone ended while we could not see it."""
    events = await session.events_of({"Action": "CoreShowChannels"}, timeout)
    return {e["Uniqueid"] for e in events if e.get("Event") == "CoreShowChannel" and
            e.get("Uniqueid")}  # fmt: skip


async def read_facts(
    session: AmiSession,
    status: PbxStatus,
    timeout: float,
    refused: Callable[[str, AmiActionError], None],
) -> None:
    """Refresh what `status` says about the PBX itself; each action may be refused on its own
    (then `refused(action, error)` is told, and the others still run)."""
    steps: list[tuple[str, Callable[[AmiSession, PbxStatus, float], Awaitable[None]]]] = [
        ("CoreSettings", _core_settings),
        ("CoreStatus", _core_status),
        ("QueueSummary", _queue_summary),
        ("PJSIPShowEndpoints", _endpoints),
        ("PJSIPShowContacts", _contacts),
    ]
    for action, step in steps:
        try:
            await step(session, status, timeout)
        except AmiActionError as e:
            refused(action, e)


async def _core_settings(session: AmiSession, status: PbxStatus, timeout: float) -> None:
    reply = await session.fields_of({"Action": "CoreSettings"}, timeout)
    status.asterisk_version = reply.get("AsteriskVersion") or None


async def _core_status(session: AmiSession, status: PbxStatus, timeout: float) -> None:
    reply = await session.fields_of({"Action": "CoreStatus"}, timeout)
    started = _stamp(reply, "CoreStartup")
    if status.started is not None and started is not None and started != status.started:
        status.restarts_seen += 1
        log.warning("%s restarted at %s (it had started at %s)", status.name, started,
                    status.started)  # fmt: skip
    status.started = started
    status.reloaded = _stamp(reply, "CoreReload")
    status.current_calls = _int(reply.get("CoreCurrentCalls"))


async def _queue_summary(session: AmiSession, status: PbxStatus, timeout: float) -> None:
    events = await session.events_of({"Action": "QueueSummary"}, timeout)
    queues = [e for e in events if e.get("Event") == "QueueSummary"]
    status.queues = len(queues)
    status.callers_waiting = sum(_int(e.get("Callers")) or 0 for e in queues)


async def _endpoints(session: AmiSession, status: PbxStatus, timeout: float) -> None:
    events = await session.events_of({"Action": "PJSIPShowEndpoints"}, timeout)
    endpoints = [e for e in events if e.get("Event") == "EndpointList"]
    status.endpoints = len(endpoints)
    status.endpoints_unavailable = sum(e.get("DeviceState") == "Unavailable" for e in endpoints)
    status.endpoint_list = [
        {"endpoint": e.get("ObjectName", ""), "state": e.get("DeviceState", ""),
         "contacts": sum(bool(c) for c in e.get("Contacts", "").split(","))}
        for e in endpoints
    ]  # fmt: skip


async def _contacts(session: AmiSession, status: PbxStatus, timeout: float) -> None:
    events = await session.events_of({"Action": "PJSIPShowContacts"}, timeout)
    contacts = [e for e in events if e.get("Event") == "ContactList"]
    status.contacts = len(contacts)
    status.contacts_unreachable = sum(e.get("Status") == "Unreachable" for e in contacts)
    status.contact_list = [
        {"endpoint": e.get("Endpoint", ""), "uri": e.get("Uri", ""),
         "status": e.get("Status", ""), "rtt_ms": _rtt_ms(e.get("RoundtripUsec"))}
        for e in contacts
    ]  # fmt: skip


def _rtt_ms(usec: str | None) -> float | None:
    # Qualify's round trip in microseconds; "N/A" (or 0) when the contact is not qualified.
    try:
        value = int(usec) if usec else 0
    except ValueError:
        return None
    return round(value / 1000, 3) if value > 0 else None


def _stamp(reply: dict[str, str], prefix: str) -> str | None:
    date, clock = reply.get(f"{prefix}Date", ""), reply.get(f"{prefix}Time", "")
    return f"{date} {clock}".strip() or None


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


def _float(value: str | None) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None
