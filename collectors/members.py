"""Queue members, devices and SIP contacts from AMI events: the member side of
collectors/tracker.py (CallTracker hands these events here).

Pure and synchronous like the tracker: each method returns the rows one event completes.
A member's row is written when its state (device status, paused, in a call, present) changes,
or when something else about it changes with the state kept (`since` stays then).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime

from collectors.rows import ContactState, DeviceState, MemberState, Row

Event = Mapping[str, str]

# QueueMemberStatus "Status" is the device state (enum ast_device_state, 0-8).
DEVICE_STATES = {
    0: "unknown", 1: "not in use", 2: "in use", 3: "busy", 4: "invalid",
    5: "unavailable", 6: "ringing", 7: "ring+in use", 8: "on hold",
}  # fmt: skip


class MemberTracker:
    """The last state of each (queue, interface) of one PBX, and the rows its events make."""

    def __init__(self, pbx: str) -> None:
        self.pbx = pbx
        self._members: dict[tuple[str, str], MemberState] = {}

    def member(self, e: Event, at: datetime) -> list[Row]:
        """QueueMemberStatus/Added/Removed/Pause/Penalty/Ringinuse, or a snapshot's
        QueueMember (which names the interface `Location` and the member `Name`)."""
        queue, interface = e.get("Queue", ""), e.get("Interface") or e.get("Location", "")
        if not queue or not interface:
            return []
        key = (queue, interface)
        old = self._members.get(key)
        paused = e.get("Paused") == "1"
        reason = as_text(e.get("PausedReason"))
        if paused and reason is None and old is not None and old.paused:
            # Asterisk 16 repeats the reason in every event while paused and clears it on
            # unpause; an event without one during the same pause keeps the one we had.
            reason = old.paused_reason
        row = MemberState(
            pbx=self.pbx, queue=queue, interface=interface,
            member_name=as_text(e.get("MemberName") or e.get("Name")),
            status=as_int(e.get("Status")) or 0, paused=paused,
            paused_reason=reason if paused else None, in_call=e.get("InCall") == "1",
            calls_taken=as_int(e.get("CallsTaken")) or 0, since=at,
            present=e.get("Event") != "QueueMemberRemoved",
            penalty=as_int(e.get("Penalty")) or 0, ringinuse=e.get("Ringinuse") == "1",
            membership=e.get("Membership") or "static",
        )  # fmt: skip
        if old is not None and _same_state(old, row):
            row = replace(row, since=old.since)
            self._members[key] = row
            return [] if row == old else [row]
        self._members[key] = row
        return [row]

    def device(self, e: Event, at: datetime) -> list[Row]:
        """DeviceStateChange, e.g. PJSIP/1001 NOT_INUSE."""
        device = e.get("Device", "")
        return [DeviceState(self.pbx, device, e.get("State", ""), at)] if device else []

    def contact(self, e: Event, at: datetime) -> list[Row]:
        """ContactStatus, with the qualify round trip in milliseconds."""
        usec = as_int(e.get("RoundtripUsec"))
        return [ContactState(self.pbx, e.get("AOR", ""), e.get("URI", ""),
                             e.get("ContactStatus", ""), None if usec is None else usec / 1000,
                             at)]  # fmt: skip


def _same_state(a: MemberState, b: MemberState) -> bool:
    return (a.status, a.paused, a.in_call, a.present) == (b.status, b.paused, b.in_call, b.present)


def as_int(value: str | None) -> int | None:
    """An AMI field as an int; None when absent, empty or not a number."""
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        return None


def as_text(value: str | None) -> str | None:
    """An AMI text field; None when absent, empty or "<unknown>" (Asterisk's absent caller id)."""
    return None if value in (None, "", "<unknown>") else value
