"""panoramisk 1.4's defects 3 to 7, each shown on bare panoramisk and fixed in collectors/ami.py
(defects 1 and 2, the framing, are in test_framing.py). Where a real Asterisk can show the
behaviour, the test runs against the lab (marked `asterisk`); the scripted peer stands in only
for frames no Asterisk sends."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

import pytest
from panoramisk import Manager

from collectors.ami import AmiAuthError, AmiLost, AmiSession, SessionCounters
from settings import PbxSettings
from tests.collectors.ami_peer import ScriptedPeer
from tests.lab.asterisk import AsteriskLab
from tests.lab.control import hung, lab_ports_released  # noqa: F401 (a fixture)

lab = pytest.mark.asterisk
pytestmark = pytest.mark.usefixtures("lab_ports_released")
Event = dict[str, str]


def pbx_of(lab: AsteriskLab, secret: str | None = None, ping_s: float = 1.0) -> PbxSettings:
    secret = lab.ami_secret if secret is None else secret
    return PbxSettings("lab", lab.ami_host, lab.ami_port, lab.ami_username, secret, ping_s)


async def until(check: Callable[[], object], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


class BarePanoramisk:
    """A bare panoramisk 1.4 Manager on the lab, its callbacks recorded; it reconnects as
    panoramisk does during the test, and never after it."""

    def __init__(self, lab: AsteriskLab, secret: str | None = None, **config: Any) -> None:
        self.connects: list[float] = []
        self.logins: list[float] = []
        self.disconnects: list[float] = []
        config = {"ping_delay": 3600, "reconnect_timeout": 3600, **config}
        self.manager = Manager(
            loop=asyncio.get_running_loop(), host=lab.ami_host, port=lab.ami_port,
            username=lab.ami_username, secret=lab.ami_secret if secret is None else secret,
            on_connect=lambda _m: self.connects.append(time.monotonic()),
            on_login=lambda _m: self.logins.append(time.monotonic()),
            on_disconnect=lambda _m, _e: self.disconnects.append(time.monotonic()),
            **config,
        )  # fmt: skip

    async def __aenter__(self) -> BarePanoramisk:
        await self.manager.connect()
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.manager.connect = lambda *args, **kwargs: None  # no reconnection after the test
        self.manager.close()

    async def logged_in(self) -> None:
        await until(lambda: self.logins)


def user_events(into: list[str]) -> Callable[[Event], None]:
    """Our session's callback: keep the UserEvent names it receives."""

    def keep(event: Event) -> None:
        if event.get("Event") == "UserEvent":
            into.append(event["UserEvent"])

    return keep


@lab
async def test_3_overlapping_patterns_deliver_one_event_twice_ours_once(
    asterisk_lab: AsteriskLab,
) -> None:
    bare_seen: list[str] = []
    async with BarePanoramisk(asterisk_lab) as bare:
        for pattern in ("UserEvent", "User*"):  # both match "UserEvent"
            bare.manager.register_event(pattern, lambda _m, e: bare_seen.append(e["UserEvent"]))
        await bare.logged_in()
        await bare.manager.send_action({"Action": "UserEvent", "UserEvent": "Three"})
        await until(lambda: bare_seen)
        await asyncio.sleep(0.3)
    assert bare_seen == ["Three", "Three"]  # one event, delivered twice

    ours: list[str] = []
    async with await AmiSession.open(pbx_of(asterisk_lab), user_events(ours)) as session:
        await session.action({"Action": "UserEvent", "UserEvent": "Three"})
        await until(lambda: ours)
        await asyncio.sleep(0.3)
    assert ours == ["Three"]


@lab
async def test_4_exception_in_a_callback_drops_the_connection_ours_counts_it(
    asterisk_lab: AsteriskLab,
) -> None:
    def boom(_manager: Manager, _event: Event) -> None:
        raise RuntimeError("a bug in a callback")

    async with BarePanoramisk(asterisk_lab) as bare:
        bare.manager.register_event("UserEvent", boom)
        await bare.logged_in()
        await bare.manager.send_action({"Action": "UserEvent", "UserEvent": "Boom"})
        await until(lambda: bare.disconnects)  # the whole AMI connection is gone

    seen: list[str] = []

    def handler(event: Event) -> None:
        user_events(seen)(event)
        if event.get("UserEvent") == "Boom":
            raise RuntimeError("a bug in a handler")

    counters = SessionCounters()
    async with await AmiSession.open(pbx_of(asterisk_lab), handler, counters) as session:
        await session.action({"Action": "UserEvent", "UserEvent": "Boom"})
        await session.action({"Action": "UserEvent", "UserEvent": "After"})
        await until(lambda: "After" in seen)
        assert (await session.action({"Action": "Ping"})).success
        assert not session.closed
    assert seen == ["Boom", "After"]
    assert counters.handler_errors == 1


@lab
async def test_5_a_hung_asterisk_is_never_noticed_ours_within_two_ping_intervals(
    asterisk_lab: AsteriskLab,
) -> None:
    interval = 1.0
    async with BarePanoramisk(asterisk_lab, ping_delay=1, ping_interval=1) as bare:
        await bare.logged_in()
        session = await AmiSession.open(pbx_of(asterisk_lab, ping_s=interval), lambda e: None)
        pinger = asyncio.create_task(session.run())
        await asyncio.sleep(1.5 * interval)  # pings answered: both sessions are healthy
        with hung(asterisk_lab) as stopped_at:
            with pytest.raises(AmiLost, match="no answer to Ping within 1 s"):
                await asyncio.wait_for(pinger, 4 * interval)
            detected_s = time.monotonic() - stopped_at
            await asyncio.sleep(3 * interval - detected_s)
            assert bare.disconnects == []  # panoramisk's ping never waits for an answer
    print(f"hung Asterisk detected after {detected_s:.2f} s (ping interval {interval} s)")
    assert detected_s <= 2 * interval + 0.1


@lab
async def test_6_a_wrong_secret_reconnects_forever_silently_ours_raises(
    asterisk_lab: AsteriskLab, caplog: pytest.LogCaptureFixture
) -> None:
    async with BarePanoramisk(asterisk_lab, secret="wrong", reconnect_timeout=1) as bare:
        await until(lambda: len(bare.connects) >= 2, timeout=8)
    assert bare.logins == [] and not bare.manager.authenticated
    # What it logged: "Connection lost" and nothing naming the cause.
    said = " ".join(r.getMessage() for r in caplog.records if r.name.startswith("panoramisk"))
    assert "Connection lost" in said and "auth" not in said.lower()

    with pytest.raises(AmiAuthError, match=r"^authentication failed for user 'callboard'$"):
        await AmiSession.open(pbx_of(asterisk_lab, secret="wrong"), lambda e: None)


@lab
async def test_7_save_stream_writes_bytes_to_a_text_file_and_drops_the_connection(
    asterisk_lab: AsteriskLab, tmp_path: Path
) -> None:
    bare_file = tmp_path / "bare.ami"
    async with BarePanoramisk(asterisk_lab, save_stream=str(bare_file)) as bare:
        await until(lambda: bare.disconnects)  # TypeError on the banner: connection dropped
    assert bare.logins == [] and bare_file.read_bytes() == b""

    ours_file = tmp_path / "ours.ami"
    seen: list[str] = []
    async with await AmiSession.open(pbx_of(asterisk_lab), user_events(seen)) as session:
        session._manager.save_stream = str(ours_file)  # as if someone set it: never used
        await session.action({"Action": "UserEvent", "UserEvent": "Seven"})
        await until(lambda: seen)
    assert not ours_file.exists()


async def test_frames_no_asterisk_sends_are_counted_and_skipped() -> None:
    async with ScriptedPeer() as peer:
        pbx = PbxSettings("peer", "127.0.0.1", peer.port, "u", peer.secret, ping_interval_s=0.5)
        events: list[Event] = []
        counters = SessionCounters()
        async with await AmiSession.open(pbx, events.append, counters) as session:
            peer.send(
                b"no header: in this frame\r\n\r\n"  # neither Event nor Response
                + b"Event: QueueCallerJoin\r\nCallerIDName: Jos\xe9\r\n\r\n"  # Latin-1, not UTF-8
                + b"Event: Huge\r\nX: "
                + b"y" * (5 * 1024 * 1024)
                + b"\r\n\r\n"  # over 4 MB
                + b"Event: After\r\n\r\n"
            )
            await until(lambda: any(e.get("Event") == "After" for e in events))
            await asyncio.sleep(1.2)  # two pings answered after all that
            assert not session.closed
    assert [e["Event"] for e in events] == ["QueueCallerJoin", "After"]
    assert events[0]["CallerIDName"] == "Jos\ufffd"
    assert counters.malformed == 2  # the headerless frame and the oversized one


async def test_a_refused_login_says_so_and_no_secret(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    async with ScriptedPeer(secret="right") as peer:
        pbx = PbxSettings("peer", "127.0.0.1", peer.port, "agent", "wr0ng-s3cret")
        with pytest.raises(AmiAuthError) as refused:
            await AmiSession.open(pbx, lambda e: None)
    assert str(refused.value) == "authentication failed for user 'agent'"
    assert "wr0ng-s3cret" not in caplog.text
