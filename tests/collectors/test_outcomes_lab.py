"""Every way a queue stay can end on Asterisk 16, produced live in the lab, collected by the real
collector (service.Service) and checked call by call against the queue_log Asterisk wrote in
the same run. Each test also pins the AMI signal that tells the outcome apart (what
collectors/tracker.py relies on), as a test's own AMI session saw it.

Queues and extensions: tests/asterisk/ (`rna`, `empty`, `keys`, 620/630/640, the contexts
`queue-exit` and `transfer-target` exist for these tests).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

import queries
from tests.collectors.lab_helpers import (
    calls_match_queue_log,
    collecting,
    finish,
    members,
    queue_log,
    ring_attempts_match_queue_log,
    stored_calls,
    until,
)
from tests.lab.ami import Event, LabAmi
from tests.lab.asterisk import AsteriskLab

pytestmark = pytest.mark.asterisk

# The caller-channel events that decide an outcome, in the order Asterisk sent them.
_SIGNALS = frozenset({
    "QueueCallerJoin", "HangupRequest", "DTMFEnd", "QueueCallerAbandon", "QueueCallerLeave",
    "AgentConnect", "AgentComplete", "Hangup",
})  # fmt: skip


async def caller_signals(ami: LabAmi, call_id: str) -> list[str]:
    """The deciding AMI events of one caller channel, up to its Hangup, in the order the
    test's own AMI session got them, e.g. "QUEUESTATUS=TIMEOUT" for VarSet QUEUESTATUS.

    An answered call's AgentComplete can come just after the caller's Hangup, and then with no
    channel field at all (app_queue found both channels gone): it is matched by queue and
    member, as collectors/tracker.py does."""
    await ami.wait_event(
        lambda e: e.get("Event") == "Hangup" and e.get("Uniqueid") == call_id,
        what=f"the hang-up of {call_id}",
    )
    connect = next(
        (e for e in ami.events if e.get("Event") == "AgentConnect" and e["Uniqueid"] == call_id),
        None,
    )
    complete = None
    if connect is not None:
        complete = await ami.wait_event(
            lambda e: _completes(e, connect), what=f"the completion of {call_id}", after=connect
        )
    signals = []
    for e in ami.events:
        name = e.get("Event", "")
        if e.get("Uniqueid") != call_id and e is not complete:
            continue
        if name == "VarSet" and e.get("Variable") == "QUEUESTATUS":
            signals.append(f"QUEUESTATUS={e.get('Value')}")
        elif name == "DTMFEnd" and e.get("Direction") == "Received":
            signals.append(f"DTMFEnd {e.get('Digit')}")
        elif name == "AgentComplete":
            signals.append(f"AgentComplete {e.get('Reason')}")
        elif name in _SIGNALS - {"DTMFEnd", "AgentComplete"}:
            signals.append(name)
    return signals


def _completes(e: Event, connect: Event) -> bool:
    """`e` is the AgentComplete of the call that `connect` (its AgentConnect) answered."""
    if e.get("Event") != "AgentComplete":
        return False
    if e.get("Uniqueid"):
        return e["Uniqueid"] == connect["Uniqueid"]
    return (e.get("Queue"), e.get("Interface")) == (connect["Queue"], connect["Interface"])


def connects(lines: list[str]) -> int:
    return sum("|CONNECT|" in line for line in lines)


async def test_answered_agent_and_caller_hang_up(asterisk_lab: AsteriskLab, tmp_path: Path) -> None:
    lab = asterisk_lab
    async with collecting(lab, tmp_path) as service, LabAmi(lab) as ami:
        for ext, answer_after_s in (("1001", 0.5), ("1003", 0.5), ("1004", 2.5)):
            await asyncio.to_thread(lab.start_agent, ext, answer_after_s=answer_after_s, talk_s=3)
        # sales rings Carol and Dave at once (ringall): Carol answers first, Dave's ring is
        # cut (queue_log does not log it); Carol hangs up after 3 s.
        sales = lab.call("601", "74001")
        await asyncio.to_thread(lab.wait_for_queue_log, lambda ls: connects(ls) == 1)
        # support: a free agent takes the first caller and hangs up after 3 s; the second
        # caller waits for a free agent, then hangs up 1 s into the talk, before the agent.
        agent_ends = lab.call("600", "74002")
        await asyncio.to_thread(lab.wait_for_queue_log, lambda ls: connects(ls) == 2)
        caller_ends = lab.call("600", "74003", talk_s=1)
        await finish(sales, agent_ends, caller_ends)
        calls = await stored_calls(service, 3)
        folded = queue_log(lab)
        calls_match_queue_log(calls, folded)
        by_num = calls.set_index("caller_num")
        assert list(by_num.loc[["74001", "74002", "74003"], "ended_by"]) == [
            "agent",
            "agent",
            "caller",
        ]
        assert set(by_num["outcome"]) == {"answered"} and by_num.loc["74001", "agent"] == "Carol"
        attempts = ring_attempts_match_queue_log(service, folded)
        sales_id = by_num.loc["74001", "call_id"]
        sales_attempts = attempts[attempts["call_id"] == sales_id]
        assert sorted(zip(sales_attempts["agent"], sales_attempts["result"], strict=True)) == [
            ("Carol", "answered"),
            ("Dave", "other_answered"),
        ]
        for num, reason in (("74001", "agent"), ("74002", "agent"), ("74003", "caller")):
            signals = await caller_signals(ami, by_num.loc[num, "call_id"])
            assert signals[:3] == ["QueueCallerJoin", "QueueCallerLeave", "AgentConnect"]
            # AgentComplete then the caller's Hangup; rarely the other way round (above)
            assert sorted(signals[3:]) == sorted(
                [*(["HangupRequest"] if reason == "caller" else []), f"AgentComplete {reason}",
                 "Hangup"]
            ), signals  # fmt: skip


async def test_abandon(asterisk_lab: AsteriskLab, tmp_path: Path) -> None:
    """The caller CANCELs while Alice's phone rings: queue_log ABANDON and RINGCANCELED."""
    lab = asterisk_lab
    async with collecting(lab, tmp_path) as service, LabAmi(lab) as ami:
        await asyncio.to_thread(lab.start_agent, "1001", never_answer=True)
        await finish(lab.call("600", "74010", hangup_after_s=2.5))
        calls = await stored_calls(service, 1)
        folded = queue_log(lab)
        calls_match_queue_log(calls, folded)
        assert list(calls["outcome"]) == ["abandoned"]
        attempts = ring_attempts_match_queue_log(service, folded)
        assert list(zip(attempts["agent"], attempts["result"], strict=True)) == [
            ("Alice", "canceled")
        ]
        # the caller's hang-up request comes before the abandon; no QUEUESTATUS is set
        assert await caller_signals(ami, calls["call_id"][0]) == [
            "QueueCallerJoin",
            "HangupRequest",
            "QueueCallerAbandon",
            "QueueCallerLeave",
            "Hangup",
        ]


async def test_timeout(asterisk_lab: AsteriskLab, tmp_path: Path) -> None:
    """610 = Queue(support,r,,,6) with nobody logged in: EXITWITHTIMEOUT after 6 s (603)."""
    lab = asterisk_lab
    async with collecting(lab, tmp_path) as service, LabAmi(lab) as ami:
        await finish(lab.call("610", "74020"))
        calls = await stored_calls(service, 1)
        calls_match_queue_log(calls, queue_log(lab))
        assert list(calls["outcome"]) == ["timeout"]
        # app_queue.c expires the caller at its join's whole second (time(NULL)) + 6: after
        # 5 to 6 real seconds, depending on where in its second the caller joined (a run
        # saw 5.008 s), then up to a poll later.
        assert 5.0 < calls["wait_s"][0] <= 7.5
        assert await caller_signals(ami, calls["call_id"][0]) == [
            "QueueCallerJoin",
            "QueueCallerAbandon",
            "QueueCallerLeave",
            "QUEUESTATUS=TIMEOUT",
            "Hangup",
        ]


async def test_exit_empty(asterisk_lab: AsteriskLab, tmp_path: Path) -> None:
    """Queue `empty` (leavewhenempty=paused): the caller waits while Dave's phone rings
    unanswered; a supervisor pauses Dave (AMI QueuePause), nobody is left to take the call,
    and app_queue sends the caller out: EXITEMPTY. AMI sends QueueCallerAbandon for it, like
    for a timeout; only QUEUESTATUS=LEAVEEMPTY tells them apart."""
    lab = asterisk_lab
    async with collecting(lab, tmp_path) as service, LabAmi(lab) as ami:
        await asyncio.to_thread(lab.start_agent, "1004", never_answer=True)
        caller = lab.call("630", "74030")
        await ami.wait_event(lambda e: e.get("Event") == "AgentCalled", what="Dave ringing")
        await ami.action(
            {"Action": "QueuePause", "Queue": "empty", "Interface": "PJSIP/1004",
             "Paused": "true", "Reason": "Meeting"}
        )  # fmt: skip
        await finish(caller)
        calls = await stored_calls(service, 1)
        folded = queue_log(lab)
        calls_match_queue_log(calls, folded)
        assert list(calls["outcome"]) == ["exitempty"]
        attempts = ring_attempts_match_queue_log(service, folded)
        assert list(zip(attempts["agent"], attempts["result"], strict=True)) == [
            ("Dave", "noanswer")
        ]
        assert await caller_signals(ami, calls["call_id"][0]) == [
            "QueueCallerJoin",
            "QueueCallerAbandon",
            "QueueCallerLeave",
            "QUEUESTATUS=LEAVEEMPTY",
            "Hangup",
        ]


async def test_exit_with_key(asterisk_lab: AsteriskLab, tmp_path: Path) -> None:
    """Queue `keys` has `context = queue-exit`: the caller (answered by 640, on hold music)
    presses 1 (SIP INFO dtmf-relay) and goes to extension 1 there: EXITWITHKEY. AMI sends no
    QueueCallerAbandon and sets no QUEUESTATUS: a leave that nothing follows."""
    lab = asterisk_lab
    async with collecting(lab, tmp_path) as service, LabAmi(lab) as ami:
        await finish(lab.call_with_key("640", "74040", digit="1", key_after_s=1.5))
        calls = await stored_calls(service, 1)
        calls_match_queue_log(calls, queue_log(lab))
        assert list(calls["outcome"]) == ["exitwithkey"]
        assert 1.0 <= calls["wait_s"][0] <= 3.0
        assert any("|EXITWITHKEY|1|" in line for line in lab.queue_log_lines())
        assert await caller_signals(ami, calls["call_id"][0]) == [
            "QueueCallerJoin",
            "DTMFEnd 1",
            "QueueCallerLeave",
            "Hangup",  # after a second in the exit context (Wait(1), Hangup())
        ]
        exits = [e for e in ami.events if e.get("Event") == "Newexten"]
        assert any(e.get("Context") == "queue-exit" and e.get("Exten") == "1" for e in exits)


async def test_ring_no_answer_then_answered(asterisk_lab: AsteriskLab, tmp_path: Path) -> None:
    """Queue `rna` (linear: Carol, then Alice; member timeout 2 s): Carol never answers
    (RINGNOANSWER), Alice answers the next attempt (CONNECT)."""
    lab = asterisk_lab
    async with collecting(lab, tmp_path) as service:
        await asyncio.to_thread(lab.start_agent, "1003", never_answer=True)
        await asyncio.to_thread(lab.start_agent, "1001", answer_after_s=0.5, talk_s=1)
        await finish(lab.call("620", "74050"))
        calls = await stored_calls(service, 1)
        folded = queue_log(lab)
        calls_match_queue_log(calls, folded)
        assert list(zip(calls["outcome"], calls["agent"], calls["ended_by"], strict=True)) == [
            ("answered", "Alice", "agent")
        ]
        attempts = ring_attempts_match_queue_log(service, folded)
        assert list(zip(attempts["agent"], attempts["result"], strict=True)) == [
            ("Carol", "noanswer"),
            ("Alice", "answered"),
        ]
        assert attempts["ring_s"][0] == pytest.approx(2.0, abs=0.1)  # RingTime, milliseconds
        assert calls["ring_attempts"][0] == 2


async def test_blind_transfer(asterisk_lab: AsteriskLab, tmp_path: Path) -> None:
    """A supervisor blind-transfers Alice's call (AMI BlindTransfer of her channel) to 700 in
    `transfer-target`: queue_log BLINDTRANSFER, AgentComplete Reason=transfer."""
    lab = asterisk_lab
    async with collecting(lab, tmp_path) as service, LabAmi(lab) as ami:
        await asyncio.to_thread(lab.start_agent, "1001", answer_after_s=0.5, talk_s=20)
        caller = lab.call("600", "74060")
        connect = await ami.wait_event(lambda e: e.get("Event") == "AgentConnect", what="answer")
        await asyncio.sleep(1.0)
        await ami.action(
            {"Action": "BlindTransfer", "Channel": connect["DestChannel"],
             "Context": "transfer-target", "Exten": "700"}
        )  # fmt: skip
        await finish(caller)
        calls = await stored_calls(service, 1)
        calls_match_queue_log(calls, queue_log(lab))
        assert list(zip(calls["outcome"], calls["agent"], calls["ended_by"], strict=True)) == [
            ("answered", "Alice", "transfer")
        ]
        assert 0.5 <= calls["talk_s"][0] <= 2.5
        assert any("|BLINDTRANSFER|700|transfer-target|" in x for x in lab.queue_log_lines())
        transfers = [e for e in ami.events if e.get("Event") == "BlindTransfer"]
        assert [(e.get("Result"), e.get("Extension")) for e in transfers] == [("Success", "700")]
        signals = await caller_signals(ami, calls["call_id"][0])
        assert signals[-2:] == ["AgentComplete transfer", "Hangup"]


async def test_pause_reason_and_dynamic_members(asterisk_lab: AsteriskLab, tmp_path: Path) -> None:
    """AMI QueuePause with Reason "Lunch", a device change while paused, QueuePause off; then
    QueueAdd (MemberName Dave) and QueueRemove. member_states keeps the reason on every paused
    row (Asterisk clears it on unpause); queue_log has the same pause and membership lines."""
    lab = asterisk_lab
    async with collecting(lab, tmp_path) as service, LabAmi(lab) as ami:
        pause = {"Action": "QueuePause", "Queue": "support", "Interface": "PJSIP/1001"}
        await ami.action({**pause, "Paused": "true", "Reason": "Lunch"})
        # Alice's phone registers while she is paused: a status change with the pause on
        await asyncio.to_thread(lab.start_agent, "1001")
        alice = "queue == 'support' and interface == 'PJSIP/1001'"
        await until(lambda: (members(service).query(alice)["status"] == 1).any(), 10, "Alice")
        live = queries.read("live_members").set_index(["queue", "interface"])
        assert tuple(live.loc[("support", "PJSIP/1001"), ["state", "paused_reason"]]) == (
            "paused",
            "Lunch",
        )
        await ami.action({**pause, "Paused": "false"})
        await ami.action(
            {"Action": "QueueAdd", "Queue": "support", "Interface": "PJSIP/1004",
             "MemberName": "Dave", "Penalty": "2"}
        )  # fmt: skip
        await ami.action({"Action": "QueueRemove", "Queue": "support", "Interface": "PJSIP/1004"})
        dave = "queue == 'support' and interface == 'PJSIP/1004'"
        await until(lambda: (~members(service).query(dave)["present"]).any(), 10, "the removal")

        rows = members(service)
        seen = rows.query(alice)
        states = [
            (bool(p), r if isinstance(r, str) else None)
            for p, r in zip(seen["paused"], seen["paused_reason"], strict=True)
        ]
        assert states[0] == (False, None)  # the login snapshot
        assert states[-1] == (False, None)  # unpaused: Asterisk cleared the reason
        paused = states[1:-1]
        assert len(paused) >= 2 and set(paused) == {(True, "Lunch")}
        assert list(seen["status"])[1:-1] == [5, 1]  # unavailable, then the phone registered
        added = rows.query(dave)
        assert [
            (bool(p), m, n, pen)
            for p, m, n, pen in zip(
                added["present"], added["membership"], added["member_name"], added["penalty"],
                strict=True,
            )
        ] == [(True, "dynamic", "Dave", 2), (False, "dynamic", "Dave", 2)]  # fmt: skip

        verbs = [line.split("|")[2:6] for line in lab.queue_log_lines()]
        assert ["support", "Alice", "PAUSE", "Lunch"] in verbs
        assert ["support", "Alice", "UNPAUSE", ""] in verbs
        assert ["support", "PJSIP/1004", "ADDMEMBER", ""] in verbs
        assert ["support", "PJSIP/1004", "REMOVEMEMBER", ""] in verbs
        pauses = [e for e in ami.events if e.get("Event") == "QueueMemberPause"]
        assert [(e.get("Paused"), e.get("PausedReason")) for e in pauses] == [
            ("1", "Lunch"),
            ("0", ""),
        ]
