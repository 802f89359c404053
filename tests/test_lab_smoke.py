"""The real-Asterisk lab itself: agents register, calls are answered, abandoned, time out and
ring unanswered, queue_log records each, and AMI logs in and sends queue events.
Each test starts its own Asterisk (about 0.5 s) and runs in under 15 s."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest
from panoramisk import Manager

from tests.lab import AsteriskLab, SippProcess

pytestmark = pytest.mark.asterisk


def events_of(lines: list[str], caller_nums: set[str]) -> Counter[str]:
    """Count queue_log events of the calls whose ENTERQUEUE carries one of `caller_nums`.
    Line: time|callid|queue|agent|event|data1|data2|... (ENTERQUEUE: data2 = caller number)."""
    rows = [line.split("|") for line in lines]
    callids = {r[1] for r in rows if r[4] == "ENTERQUEUE" and len(r) > 6 and r[6] in caller_nums}
    events = Counter(r[4] for r in rows if r[1] in callids)
    return Counter({"COMPLETE*" if e.startswith("COMPLETE") else e: n for e, n in events.items()})


def wait_callers(*callers: SippProcess, timeout: float = 20) -> None:
    """Every caller's sipp ends with status 0: its scenario went the way it was meant to."""
    for caller in callers:
        assert caller.wait(timeout) == 0, caller.diagnostics()


def test_answered_and_abandoned_calls(asterisk_lab: AsteriskLab) -> None:
    lab = asterisk_lab
    lab.start_agent("1001", answer_after_s=1, talk_s=3)
    lab.start_agent("1002", answer_after_s=1, talk_s=3)
    answered = [lab.call("600", "72001", "First Caller"), lab.call("600", "72002")]
    # Both agents are busy for the next ~5 s (1 s ringing, 3 s talk, 1 s wrap-up): the third
    # caller finds nobody free and gives up after 3 s.
    lab.wait_busy("Alice", "Bob")
    abandoning = lab.call("600", "72003", hangup_after_s=3)
    wait_callers(*answered, abandoning)

    nums = {"72001", "72002", "72003"}
    lines = lab.wait_for_queue_log(lambda ls: events_of(ls, nums)["COMPLETE*"] == 2)
    assert events_of(lines, nums) == {"ENTERQUEUE": 3, "CONNECT": 2, "COMPLETE*": 2, "ABANDON": 1}


def test_queue_timeout(asterisk_lab: AsteriskLab) -> None:
    """610 = Queue(support,r,,,6): nobody to answer, so after 6 s the caller gets 603."""
    caller = asterisk_lab.call("610", "72010")
    wait_callers(caller, timeout=15)
    lines = asterisk_lab.wait_for_queue_log(
        lambda ls: events_of(ls, {"72010"})["EXITWITHTIMEOUT"] > 0
    )
    assert events_of(lines, {"72010"}) == {"ENTERQUEUE": 1, "EXITWITHTIMEOUT": 1}
    assert "603 Decline" in caller.message_log.read_text()


def test_agent_who_never_answers(asterisk_lab: AsteriskLab) -> None:
    """Carol rings until the member timeout (8 s): RINGNOANSWER; the caller then gives up."""
    asterisk_lab.start_agent("1003", never_answer=True)
    caller = asterisk_lab.call("601", "72020", hangup_after_s=9)
    wait_callers(caller)
    lines = asterisk_lab.wait_for_queue_log(lambda ls: events_of(ls, {"72020"})["ABANDON"] > 0)
    assert events_of(lines, {"72020"}) == {"ENTERQUEUE": 1, "RINGNOANSWER": 1, "ABANDON": 1}
    ring = next(line for line in lines if "|RINGNOANSWER|" in line)
    assert ring.split("|")[2:4] == ["sales", "Carol"]


async def test_ami_login_and_queue_event(asterisk_lab: AsteriskLab) -> None:
    lab = asterisk_lab
    loop = asyncio.get_running_loop()
    logged_in = asyncio.Event()
    joined: asyncio.Future[dict[str, str]] = loop.create_future()

    def on_join(_manager: Manager, event: dict[str, str]) -> None:
        if event.get("CallerIDNum") == "72030" and not joined.done():
            joined.set_result(dict(event))

    manager = Manager(
        loop=loop,
        host=lab.ami_host,
        port=lab.ami_port,
        username=lab.ami_username,
        secret=lab.ami_secret,
        ping_delay=60,
        reconnect_timeout=3600,  # after close(), do not reconnect within the test
        on_login=lambda _manager: logged_in.set(),
    )
    manager.register_event("QueueCallerJoin", on_join)
    await manager.connect()
    try:
        await asyncio.wait_for(logged_in.wait(), 5)
        caller = lab.call("610", "72030", "Ami Caller", hangup_after_s=1)
        event = await asyncio.wait_for(joined, 5)
        assert event["Queue"] == "support"
        assert event["CallerIDName"] == "Ami Caller"
        assert "Timestamp" in event  # timestampevents=yes
        assert await asyncio.to_thread(caller.wait, 10) == 0, caller.diagnostics()
    finally:
        manager.close()
