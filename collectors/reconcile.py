"""Reconciliation: the PBX's QueueStatus against what the collector has published.

Used at every login (to rebuild live state after a gap) and by the scheduled poll (to find and
correct drift). The comparison is not naive, because QueueStatus reads app_queue's state
directly while events reach AMI through Stasis a few milliseconds later: an answer can show a
change whose event is still on its way (or miss a caller whose join is). So a difference only
counts for a member or caller that no event mentioned since QueueStatus was asked, judged after
a grace period in which such events arrive (`Touches`, `SETTLE_GRACE_S`).

What a correction does, by kind:
- member state differs, or member unknown: the snapshot's QueueMember goes to the tracker;
- member published but no longer in the queue: a QueueMemberRemoved built from what we had;
- caller waiting that we do not follow: its QueueEntry goes to the tracker (a gap stay);
- caller we follow, unanswered, no longer waiting: closed as unknown and marked as a gap.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from collectors.rows import MemberState, QueueCall, Row
from collectors.snapshot import QueueSnapshot
from collectors.tracker import CallTracker

SETTLE_GRACE_S = 1.0  # events older than a QueueStatus answer arrive well within this
_FINISHED_KEPT = 10_000

Event = Mapping[str, str]
Key = str | tuple[str, str]  # a call id, or (queue, interface) for a member


class Published:
    """What the collector has written so far: newest state per member, stays written."""

    def __init__(self) -> None:
        self.members: dict[tuple[str, str], MemberState] = {}
        self.finished: OrderedDict[tuple[str, str], None] = OrderedDict()

    def apply(self, row: Row) -> None:
        """Follow one row on its way to the store."""
        if isinstance(row, MemberState):
            self.members[(row.queue, row.interface)] = row
        elif isinstance(row, QueueCall):
            self.finished[(row.queue, row.call_id)] = None
            if len(self.finished) > _FINISHED_KEPT:
                self.finished.popitem(last=False)


@dataclass
class Touches:
    """Call ids and members that events mentioned since a reconciliation began."""

    keys: set[Key] = field(default_factory=set)

    def add(self, event: Event) -> None:
        for name in ("Uniqueid", "Linkedid", "DestLinkedid"):
            if event.get(name):
                self.keys.add(event[name])
        queue, interface = event.get("Queue"), event.get("Interface")
        if queue and interface:
            self.keys.add((queue, interface))


@dataclass
class Plan:
    """The corrections one QueueStatus answer calls for, with a line each for the log."""

    feed: list[dict[str, str]] = field(default_factory=list)  # events for the tracker
    close: set[str] = field(default_factory=set)  # call ids to close as unknown + gap
    notes: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.feed) + len(self.close)


def plan(
    snapshot: QueueSnapshot,
    published: Published,
    tracker: CallTracker,
    touched: set[Key],
    after_gap: bool,
) -> Plan:
    """Compare the snapshot with our state, leaving out everything an event touched.

    After a gap every unanswered stay the PBX no longer lists ended out of sight. On a poll
    only those we believe are still waiting are drift: one that left the queue is waiting
    for its caller's hang-up or QUEUESTATUS, which the stream will bring.
    """
    result = Plan()
    _plan_members(snapshot, published, touched, result)
    _plan_callers(snapshot, published, tracker, touched, after_gap, result)
    return result


def _plan_members(
    snapshot: QueueSnapshot, published: Published, touched: set[Key], result: Plan
) -> None:
    listed: set[tuple[str, str]] = set()
    for e in snapshot.members:
        key = (e.get("Queue", ""), e.get("Location", ""))
        listed.add(key)
        if key in touched:
            continue
        ours = published.members.get(key)
        paused = e.get("Paused") == "1"
        reason = (e.get("PausedReason") or None) if paused else None
        theirs = (_int(e.get("Status")), paused, reason)
        if ours is None or not ours.present:
            result.feed.append(dict(e))
            result.notes.append(f"member {key[0]}/{key[1]} not followed: {theirs}")
        elif _state(ours) != theirs:
            result.feed.append(dict(e))
            result.notes.append(f"member {key[0]}/{key[1]} is {theirs}, we had {_state(ours)}")
    for key, ours in published.members.items():
        if ours.present and key not in listed and key not in touched:
            result.feed.append(_removed(ours))
            result.notes.append(f"member {key[0]}/{key[1]} is no longer in the queue")


def _plan_callers(
    snapshot: QueueSnapshot,
    published: Published,
    tracker: CallTracker,
    touched: set[Key],
    after_gap: bool,
    result: Plan,
) -> None:
    waiting = {e.get("Uniqueid", ""): e for e in snapshot.entries}
    stays = {s.call_id: s for s in tracker.waiting()}
    for call_id, e in waiting.items():
        queue = e.get("Queue", "")
        if call_id in stays or call_id in touched or (queue, call_id) in published.finished:
            continue
        result.feed.append(dict(e))
        result.notes.append(f"caller {call_id} waits in {queue}, not followed")
    for call_id, stay in stays.items():
        if stay.answered_at is not None or call_id in waiting or call_id in touched:
            continue
        if after_gap or stay.left_at is None:
            result.close.add(call_id)
            result.notes.append(f"caller {call_id} no longer waits in {stay.queue}")


def close_stays(tracker: CallTracker, call_ids: Iterable[str], at: datetime) -> list[Row]:
    """Close these open, unanswered stays as unknown + gap; leave every other stay as it was.

    CallTracker.settle_after_gap closes every unanswered stay it is not told is waiting and
    marks all the others as gap. Until the tracker offers a targeted close, keep the others
    by naming them, and undo the mark on those that were not marked before.
    """
    closing = set(call_ids)
    stays = tracker.waiting()
    marked = {s.call_id: s.gap for s in stays}
    rows = tracker.settle_after_gap({s.call_id for s in stays} - closing, at)
    for stay in tracker.waiting():
        stay.gap = marked.get(stay.call_id, stay.gap)
    return rows


def mark_gap(tracker: CallTracker, at: datetime) -> None:
    """Every stay open now lives through a gap: mark them all, close none."""
    tracker.settle_after_gap({s.call_id for s in tracker.waiting()}, at)


def _state(row: MemberState) -> tuple[int, bool, str | None]:
    return (row.status, row.paused, row.paused_reason if row.paused else None)


def _int(value: str | None) -> int:
    try:
        return int(value or 0)
    except ValueError:
        return 0


def _removed(row: MemberState) -> dict[str, str]:
    # QueueMemberRemoved as Asterisk would have sent it, from the state we had.
    return {
        "Event": "QueueMemberRemoved", "Queue": row.queue, "Interface": row.interface,
        "MemberName": row.member_name or "", "Status": str(row.status),
        "Paused": "1" if row.paused else "0", "InCall": "0",
        "CallsTaken": str(row.calls_taken), "Penalty": str(row.penalty),
        "Ringinuse": "1" if row.ringinuse else "0", "Membership": row.membership,
    }  # fmt: skip
