"""The demo's AMI server against Asterisk 16's manager: login, refusals, framing, filters.

The framing reference is the recorded answers of a real Asterisk 16.28 in
../shared/ami-captures/*/initial_actions.ami (the same actions, sent the same way).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import re
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from collectors.ami import AmiAuthError, AmiSession, filters_for
from collectors.collector import AsteriskCollector
from collectors.rows import MemberState, QueueParams, Row, WaitingCaller
from collectors.tracker import USED_EVENTS
from demo import DemoPbx, DemoSettings
from tests.demo.sequences import event_fields

Message = list[tuple[str, str]]  # one AMI message's lines, in order


class RawAmi:
    """A bare AMI client: what goes over the wire, byte for byte."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def send(self, **fields: str) -> None:
        text = "".join(f"{k}: {v}\r\n" for k, v in fields.items()) + "\r\n"
        self.writer.write(text.encode())
        await self.writer.drain()

    async def read(self, timeout: float = 5.0) -> Message:
        raw = await asyncio.wait_for(self.reader.readuntil(b"\r\n\r\n"), timeout)
        lines = raw.decode().split("\r\n")[:-2]
        return [(k, v) for k, _, v in (line.partition(": ") for line in lines)]

    async def read_list(self, complete: str) -> list[Message]:
        messages = [await self.read()]
        while dict(messages[-1]).get("Event") != complete:
            messages.append(await self.read())
        return messages

    async def login(self, secret: str = "demo", events: str = "off") -> Message:
        await self.send(Action="Login", ActionID="L", Username="demo", Secret=secret,
                        Events=events)  # fmt: skip
        return await self.read()


@contextlib.asynccontextmanager
async def raw_ami(pbx: DemoPbx) -> AsyncIterator[tuple[RawAmi, bytes]]:
    reader, writer = await asyncio.open_connection(pbx.host, pbx.port)
    try:
        banner = await asyncio.wait_for(reader.readuntil(b"\r\n"), 5)
        yield RawAmi(reader, writer), banner
    finally:
        writer.close()


@pytest.fixture
async def busy_pbx() -> AsyncIterator[DemoPbx]:
    """A demo that has run a busy hour (warm-up): callers waiting, members in calls, paused."""
    settings = DemoSettings(warmup_s=3600, calls_per_hour=400, pause_probability=0.5,
                            seed=3, speed=1.0, auth_fail_delay_s=0.2)  # fmt: skip
    async with DemoPbx(settings) as pbx:
        yield pbx


async def test_a_wrong_secret_is_refused_as_asterisk_refuses_it(busy_pbx: DemoPbx) -> None:
    async with raw_ami(busy_pbx) as (ami, banner):
        assert banner == b"Asterisk Call Manager/5.0.4\r\n"
        await ami.send(Action="QueueStatus", ActionID="q")
        assert await ami.read() == [("Response", "Error"), ("ActionID", "q"),
                                    ("Message", "Permission denied")]  # fmt: skip
        started = time.monotonic()
        refusal = await ami.login(secret="wrong")
        assert time.monotonic() - started >= 0.2  # manager.c sleeps before it answers
        assert refusal == [("Response", "Error"), ("ActionID", "L"),
                           ("Message", "Authentication failed")]  # fmt: skip
        assert await ami.reader.read() == b""  # and then hangs up
    wrong = dataclasses.replace(busy_pbx.pbx_settings(), secret="nope")
    with pytest.raises(AmiAuthError):  # the collector's own login reports it as a refusal
        await AmiSession.open(wrong, lambda e: None)


async def test_login_ping_unknown_action_and_logoff(busy_pbx: DemoPbx) -> None:
    async with raw_ami(busy_pbx) as (ami, _):
        assert await ami.login() == [("Response", "Success"), ("ActionID", "L"),
                                     ("Message", "Authentication accepted")]  # fmt: skip
        await ami.send(Action="Ping", ActionID="p")
        pong = await ami.read()
        assert [k for k, _ in pong] == ["Response", "ActionID", "Ping", "Timestamp"]
        assert re.fullmatch(r"[0-9]+\.[0-9]{6}", dict(pong)["Timestamp"])
        await ami.send(Action="Nonsense", ActionID="n")
        assert dict(await ami.read())["Message"] == (
            "Invalid/unknown command: Nonsense. Use Action: ListCommands to show available "
            "commands."
        )
        await ami.send(Action="Logoff", ActionID="o")
        assert await ami.read() == [("Response", "Goodbye"), ("ActionID", "o"),
                                    ("Message", "Thanks for all the fish.")]  # fmt: skip
        assert await ami.reader.read() == b""


def _recorded(captures: Path) -> list[Message]:
    """Every message of the recorded answers to QueueStatus, QueueSummary, CoreStatus, ..."""
    messages: list[Message] = []
    for name in ("initial_actions.ami", "final_actions.ami"):
        text = (captures / "b_mixed" / name).read_bytes().decode()
        for block in text.split("\r\n", 1)[1].split("\r\n\r\n"):
            lines = [line.partition(": ") for line in block.split("\r\n") if line]
            if lines:
                messages.append([(k, v) for k, _, v in lines])
    return messages


def _layout(message: Message) -> tuple[str, ...]:
    return tuple(k for k, _ in message)


@pytest.mark.parametrize(
    ("action", "complete"),
    [("QueueStatus", "QueueStatusComplete"), ("QueueSummary", "QueueSummaryComplete"),
     ("PJSIPShowEndpoints", "EndpointListComplete")],
)  # fmt: skip
async def test_event_lists_are_framed_as_asterisk_frames_them(
    busy_pbx: DemoPbx, captures: Path, action: str, complete: str
) -> None:
    recorded = _recorded(captures)
    async with raw_ami(busy_pbx) as (ami, _):
        await ami.login()
        await ami.send(Action=action, ActionID="snap0-25")
        answer = await ami.read_list(complete)
    head, items, tail = answer[0], answer[1:-1], answer[-1]
    assert _layout(head) == ("Response", "ActionID", "EventList", "Message")
    assert dict(head)["EventList"] == "start" and dict(head)["ActionID"] == "snap0-25"
    heads = {(_layout(m), dict(m)["Message"]) for m in recorded if ("EventList", "start") in m}
    assert (_layout(head), dict(head)["Message"]) in heads
    assert tail == [("Event", complete), ("ActionID", "snap0-25"),
                    ("EventList", "Complete"), ("ListItems", str(len(items)))]  # fmt: skip
    layouts = {_layout(m) for m in recorded}
    for item in items:
        assert dict(item)["ActionID"] == "snap0-25"
        if dict(item)["Event"] == "QueueEntry":  # app_queue.c manager_queues_status (16)
            assert _layout(item) == ("Event", "Queue", "Position", "Channel", "Uniqueid",
                "CallerIDNum", "CallerIDName", "ConnectedLineNum", "ConnectedLineName",
                "Wait", "Priority", "ActionID")  # fmt: skip
        else:
            assert _layout(item) in layouts, item


async def test_core_status_and_settings(busy_pbx: DemoPbx, captures: Path) -> None:
    recorded = {_layout(m) for m in _recorded(captures)}
    async with raw_ami(busy_pbx) as (ami, _):
        await ami.login()
        await ami.send(Action="CoreStatus", ActionID="snap0-27")
        assert _layout(await ami.read()) in recorded
        await ami.send(Action="CoreSettings", ActionID="s")
        assert dict(await ami.read())["AMIversion"] == "5.0.4"


async def test_queue_status_at_login_lists_paused_members_and_waiting_callers(
    busy_pbx: DemoPbx,
) -> None:
    rows: list[Row] = []
    collector = AsteriskCollector(busy_pbx.pbx_settings(), rows.append)
    task = asyncio.create_task(collector.run())
    try:
        async with asyncio.timeout(5):
            while not collector.ready:
                await asyncio.sleep(0.02)
        await collector.reconcile()  # a poll: unchanged queues write no QueueParams again
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    pbx = busy_pbx.asterisk
    waiting = {pbx.callers[n].chan.uniqueid for q in pbx.queues.values() for n in q.waiting}
    paused = {(d.agent.interface, d.reason) for d in pbx.devices if d.paused}
    assert waiting and paused and any(d.status == 2 for d in pbx.devices)
    seen = {r.call_id for r in rows if isinstance(r, WaitingCaller) and r.present}
    assert waiting <= seen  # the snapshot's callers (later arrivals may add more)
    members = {(r.interface, r.paused_reason) for r in rows if isinstance(r, MemberState)}
    assert paused <= members
    # QueueStatus's QueueParams become queue_params rows: each queue's servicelevel.
    written = [r.queue for r in rows if isinstance(r, QueueParams)]
    params = {r.queue: r for r in rows if isinstance(r, QueueParams)}
    assert sorted(written) == sorted(pbx.queues)  # once each, at login
    for name, q in pbx.queues.items():
        assert params[name].servicelevel == q.config.service_level_s
        assert params[name].strategy == q.config.strategy


async def test_filters_events_off_and_classes(captures: Path) -> None:
    settings = DemoSettings(warmup_s=600, calls_per_hour=400, speed=60.0, seed=5)
    async with DemoPbx(settings) as pbx:
        await _filtered(pbx, captures)


async def _filtered(pbx: DemoPbx, captures: Path) -> None:
    # The collector's own whitelist ([[:space:]] and all): only what it uses comes through.
    async with raw_ami(pbx) as (ami, _), raw_ami(pbx) as (quiet, _):
        assert dict(await ami.login(events="on"))["Response"] == "Success"
        await quiet.login(events="off")
        for i, rule in enumerate(filters_for(USED_EVENTS)):
            await ami.send(Action="Filter", ActionID=f"f{i}", Operation="Add", Filter=rule)
        await ami.send(Action="Filter", ActionID="bad", Operation="Add", Filter="Event: (")
        await ami.send(Action="Filter", ActionID="op", Operation="Remove", Filter="x")
        replies: dict[str, str] = {}
        pushed: list[dict[str, str]] = []
        while len(replies) < len(filters_for(USED_EVENTS)) + 2 or len(pushed) < 3:
            message = dict(await ami.read(timeout=10))
            if "Response" in message:
                replies[message["ActionID"]] = message["Message"]
            elif replies:  # once the filters are in
                pushed.append(message)
        assert replies["f0"] == "Success" and replies["op"] == "Unknown operation"
        assert replies["bad"].startswith("Filter did not compile")
        assert {m["Event"] for m in pushed} <= USED_EVENTS
        await quiet.send(Action="Ping", ActionID="p")
        assert dict(await quiet.read())["Ping"] == "Pong"  # no event came before the answer
    reference = event_fields(captures / "EVENT_FIELDS.md")
    async with raw_ami(pbx) as (ami, _):
        await ami.login(events="system")
        booted = await ami.read()
        assert _layout(booted) == tuple(reference["FullyBooted"])
