"""The collector's lifecycle without a PBX to hand: what it skips and counts, how it retries,
and how a QueueStatus answer is judged against what it published (collectors/reconcile.py).
The real-Asterisk versions of these are in test_resilience_lab.py."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from collectors.collector import AsteriskCollector, Backoff
from collectors.reconcile import Published, close_stays, plan
from collectors.rows import ConnectionSession, MemberState, QueueCall, Row, WaitingCaller
from collectors.snapshot import QueueSnapshot
from collectors.tracker import CallTracker
from settings import PbxSettings
from tests.collectors.ami_peer import ScriptedPeer
from tests.lab.ports import free_port

AT = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


async def until(check: Callable[[], object], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


async def running(collector: AsteriskCollector, seconds: float) -> None:
    """Run the collector for `seconds`, then cancel it as the service does."""
    task = asyncio.create_task(collector.run())
    await asyncio.sleep(seconds)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


def sessions(rows: list[Row]) -> list[ConnectionSession]:
    return [r for r in rows if isinstance(r, ConnectionSession)]


async def test_unusable_frames_and_events_are_counted_and_the_session_goes_on() -> None:
    rows: list[Row] = []
    async with ScriptedPeer() as peer:
        pbx = PbxSettings("peer", "127.0.0.1", peer.port, "u", peer.secret, ping_interval_s=0.5)
        collector = AsteriskCollector(pbx, rows.append)
        task = asyncio.create_task(collector.run())
        await until(lambda: collector.ready)
        peer.send(
            b"not an AMI message\r\n\r\n"
            b"Event: SomethingNew\r\nQueue: support\r\n\r\n"
            b"Event: QueueCallerJoin\r\nQueue: support\r\nPosition: 1\r\n\r\n"  # no Uniqueid
            b"Event: QueueMemberPause\r\nQueue: support\r\nPaused: 1\r\n\r\n"  # no Interface
            b"Event: QueueCallerJoin\r\nQueue: support\r\nUniqueid: 1.5\r\nPosition: 1\r\n\r\n"
        )
        await until(lambda: any(isinstance(r, WaitingCaller) for r in rows))
        await asyncio.sleep(1.2)  # pings keep being answered
        status = collector.status
        assert (status.state, status.sessions, peer.connections) == ("connected", 1, 1)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert (status.malformed, status.unused_events, status.missing_fields) == (1, 1, 2)
    assert status.handler_errors == 0
    (waiting,) = [r for r in rows if isinstance(r, WaitingCaller) and r.present]
    assert waiting.call_id == "1.5"
    closing = sessions(rows)[-1]
    assert (closing.state, closing.detail) == ("closed", "service stopped")


async def test_refused_snapshot_actions_are_counted_and_the_session_goes_on() -> None:
    refused = frozenset({"QueueStatus", "CoreSettings", "PJSIPShowContacts"})
    async with ScriptedPeer(refuse=refused) as peer:
        pbx = PbxSettings("peer", "127.0.0.1", peer.port, "u", peer.secret, ping_interval_s=0.5)
        collector = AsteriskCollector(pbx, lambda row: None)
        task = asyncio.create_task(collector.run())
        await until(lambda: collector.ready)
        await collector.reconcile()  # the poll: QueueStatus refused again
        await asyncio.sleep(0.6)
        status = collector.status
        assert (status.state, status.sessions, peer.connections) == ("connected", 1, 1)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    # login: QueueStatus, CoreSettings, PJSIPShowContacts; poll: the same three again
    assert status.snapshot_errors == 6
    assert status.asterisk_version is None and status.queues == 0


async def test_a_refused_login_is_logged_once_recorded_once_and_retried_slowly(
    caplog: pytest.LogCaptureFixture,
) -> None:
    rows: list[Row] = []
    async with ScriptedPeer(secret="right") as peer:
        collector = AsteriskCollector(
            PbxSettings("peer", "127.0.0.1", peer.port, "callboard", "wrong"), rows.append
        )
        collector.auth_retry_s = 0.2
        await running(collector, 1.0)
        attempts = peer.connections
    assert attempts >= 3  # it did retry, at the pace it was given
    assert (collector.status.state, collector.status.last_error) == (
        "auth_failed",
        "authentication failed for user 'callboard'",
    )
    logged = [r for r in caplog.records if "authentication failed" in r.getMessage()]
    assert [r.levelno for r in logged] == [logging.ERROR]
    assert [(s.state, s.detail) for s in sessions(rows)] == [
        ("auth_failed", "authentication failed for user 'callboard'")
    ]


async def test_an_unreachable_pbx_is_retried_with_backoff_and_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    rows: list[Row] = []
    port = free_port()  # nothing listens there
    collector = AsteriskCollector(PbxSettings("down", "127.0.0.1", port, "u", "s"), rows.append)
    collector.backoff = Backoff(first=0.05, cap=0.2)
    await running(collector, 1.5)
    status = collector.status
    # 0.05, 0.1, 0.2, 0.2, ... jittered to half or more: at least 7 attempts, at most ~16
    assert 7 <= status.failures <= 20
    assert status.state == "unreachable" and f"cannot reach 127.0.0.1:{port}" in str(
        status.last_error
    )
    assert len([r for r in caplog.records if "cannot reach" in r.getMessage()]) == 1
    assert [s.state for s in sessions(rows)] == ["unreachable"]


def test_backoff_doubles_up_to_its_cap_with_jitter_and_resets() -> None:
    backoff = Backoff(first=1.0, cap=8.0)
    delays = [backoff.next() for _ in range(6)]
    for delay, ceiling in zip(delays, [1, 2, 4, 8, 8, 8], strict=True):
        assert ceiling / 2 <= delay <= ceiling
    assert len(set(delays)) > 1  # jittered
    backoff.reset()
    assert backoff.next() <= 1.0


# -- judging a QueueStatus answer (collectors/reconcile.py) --------------------------------------
def member_event(
    interface: str, paused: bool = False, reason: str = "", status: int = 1
) -> dict[str, str]:
    return {
        "Event": "QueueMember", "Queue": "support", "Location": interface, "Name": interface,
        "Status": "1", "Paused": "1" if paused else "0", "PausedReason": reason,
        "Membership": "static", "Penalty": "0", "CallsTaken": "0", "InCall": "0",
    }  # fmt: skip


def join(call_id: str, queue: str = "support") -> dict[str, str]:
    return {"Event": "QueueCallerJoin", "Queue": queue, "Uniqueid": call_id, "Position": "1"}


def fed(tracker: CallTracker, published: Published, *events: dict[str, str]) -> list[Row]:
    rows = [row for event in events for row in tracker.feed(event, AT)]
    for row in rows:
        published.apply(row)
    return rows


def test_a_member_that_differs_is_corrected_unless_an_event_touched_it() -> None:
    tracker, published = CallTracker("lab"), Published()
    fed(tracker, published, member_event("PJSIP/1001"), member_event("PJSIP/1002"))
    snapshot = QueueSnapshot(
        members=[member_event("PJSIP/1001", paused=True, reason="lunch"),
                 member_event("PJSIP/1002", paused=True)],
        entries=[],
    )  # fmt: skip
    todo = plan(snapshot, published, tracker, {("support", "PJSIP/1002")}, after_gap=False)
    assert [e["Location"] for e in todo.feed] == ["PJSIP/1001"] and not todo.close
    (row,) = fed(tracker, published, *todo.feed)
    assert isinstance(row, MemberState) and (row.paused, row.paused_reason) == (True, "lunch")
    assert len(plan(snapshot, published, tracker, set(), after_gap=False).feed) == 1  # 1002


def test_a_member_gone_from_the_queue_is_removed() -> None:
    tracker, published = CallTracker("lab"), Published()
    fed(tracker, published, member_event("PJSIP/1001"), member_event("PJSIP/1003"))
    todo = plan(QueueSnapshot([member_event("PJSIP/1001")], []), published, tracker, set(), False)
    (row,) = fed(tracker, published, *todo.feed)
    assert isinstance(row, MemberState) and (row.interface, row.present) == ("PJSIP/1003", False)
    assert not plan(
        QueueSnapshot([member_event("PJSIP/1001")], []), published, tracker, set(), False
    )


def test_callers_waiting_unseen_are_followed_and_callers_gone_are_closed_as_gap() -> None:
    tracker, published = CallTracker("lab"), Published()
    fed(tracker, published, join("1.1"), join("1.2"), join("1.3"))
    fed(tracker, published, {"Event": "QueueCallerLeave", "Queue": "support", "Uniqueid": "1.2"})
    entries = [{"Event": "QueueEntry", "Queue": "support", "Uniqueid": "1.9", "Wait": "4"}]
    # 1.1 is waiting for us and gone for the PBX; 1.2 left (it awaits its hang-up or
    # QUEUESTATUS); 1.3 was touched by an event; 1.9 waits and we never saw it join.
    poll = plan(QueueSnapshot([], entries), published, tracker, {"1.3"}, after_gap=False)
    assert poll.close == {"1.1"} and [e["Uniqueid"] for e in poll.feed] == ["1.9"]
    assert plan(QueueSnapshot([], entries), published, tracker, {"1.3"}, True).close == {
        "1.1",
        "1.2",
    }

    rows = [*fed(tracker, published, *poll.feed), *close_stays(tracker, poll.close, AT)]
    (closed,) = [r for r in rows if isinstance(r, QueueCall)]
    assert (closed.call_id, closed.outcome, closed.gap) == ("1.1", "unknown", True)
    assert {s.call_id: s.gap for s in tracker.waiting()} == {
        "1.2": False,
        "1.3": False,
        "1.9": True,
    }


def test_a_call_already_written_is_never_followed_again() -> None:
    tracker, published = CallTracker("lab"), Published()
    fed(tracker, published, join("1.1"))
    for row in close_stays(tracker, {"1.1"}, AT):
        published.apply(row)
    entries = [{"Event": "QueueEntry", "Queue": "support", "Uniqueid": "1.1", "Wait": "9"}]
    assert not plan(QueueSnapshot([], entries), published, tracker, set(), after_gap=True)
