"""One AMI session with one Asterisk, on panoramisk with its 1.4 defects wrapped.

panoramisk stays the AMI client (its Action/response matching and Message type are used as
they are). What is replaced, and why (each has a regression test in tests/collectors/):
- framing: `_Protocol.data_received` frames on bytes (collectors/framing.py), so split UTF-8
  survives and large messages cost linear time (defects 1, 2);
- dispatch: one callback for every event, no glob patterns, so an event is never delivered
  twice (defect 3); an exception in it is counted and logged, never drops the link (defect 4);
- liveness: our own Ping with a deadline; a peer that stops answering is declared dead within
  two ping intervals (defect 5); panoramisk's pinger and silent reconnect loop are not used;
- login: we send Login ourselves and raise `AmiAuthError` on a refusal (defect 6), so the
  collector can report it instead of reconnecting forever;
- `save_stream` is never used (defect 7: it writes bytes to a text file).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from typing import Any

from panoramisk.ami_protocol import AMIProtocol
from panoramisk.manager import Manager
from panoramisk.message import Message

from collectors.framing import FrameReader
from settings import PbxSettings

log = logging.getLogger(__name__)

EventCallback = Callable[[dict[str, str]], None]


class AmiError(Exception):
    """The AMI session failed; the message is fit for the admin page (no secret in it)."""


class AmiAuthError(AmiError):
    """The PBX refused our username or secret: retrying with the same ones cannot succeed."""


class AmiUnreachable(AmiError):
    """No TCP connection could be made."""


class AmiLost(AmiError):
    """An established session ended (peer closed, reset, or stopped answering pings)."""


class _Protocol(AMIProtocol):
    """panoramisk's protocol with byte framing and a guarded message handler."""

    factory: _Manager
    closed: bool

    def __init__(self, manager: _Manager) -> None:
        super().__init__()
        self._manager = manager

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self.frames = FrameReader()
        # Attach now, not after create_connection returns: the banner may already be here.
        self._manager.attach(self)

    def data_received(self, data: bytes) -> None:
        self.factory.bytes_received += len(data)
        for text in self.frames.feed(data):
            message = Message.from_line(text)
            if message is None:  # no Event/Response header: count it, keep the link
                self.factory.malformed += 1
                continue
            try:
                self.handle_message(message)
            except Exception:  # a bug in a handler must not end the session
                self.factory.handler_errors += 1
                log.exception("AMI message handler failed on %s", message.get("event"))

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed:
            self.closed = True
            self.factory.connection_lost(exc)


class _Manager(Manager):
    """panoramisk's Manager used for action matching only: no reconnect, no pinger."""

    def __init__(self, on_event: EventCallback) -> None:
        super().__init__(ping_delay=0, ping_interval=0)
        self._on_event = on_event
        self.lost: asyncio.Future[Exception | None] = asyncio.get_running_loop().create_future()
        self.bytes_received = 0
        self.malformed = 0
        self.handler_errors = 0

    def attach(self, protocol: _Protocol) -> None:
        """What panoramisk's connection_made does, minus its Login and pinger."""
        self.protocol = protocol
        protocol.factory = self
        protocol.log = log
        protocol.encoding = self.encoding = "utf-8"
        self.responses = protocol.responses = {}

    def dispatch(self, event: Message) -> list[str]:
        self._on_event(dict(event.items()))
        return []

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.lost.done():
            self.lost.set_result(exc)


class AmiSession:
    """An authenticated AMI session; `async with AmiSession.open(...)` closes it on exit."""

    def __init__(self, pbx: PbxSettings, manager: _Manager, version: str) -> None:
        self.pbx = pbx
        self._manager = manager
        self.version = version

    @classmethod
    async def open(
        cls, pbx: PbxSettings, on_event: EventCallback, timeout: float = 10.0
    ) -> AmiSession:
        """Connect and log in; raise AmiUnreachable or AmiAuthError with a plain message."""
        loop = asyncio.get_running_loop()
        manager = _Manager(on_event)
        try:
            _, protocol = await asyncio.wait_for(
                loop.create_connection(lambda: _Protocol(manager), pbx.host, pbx.port), timeout
            )
        except (OSError, TimeoutError) as e:
            raise AmiUnreachable(f"cannot reach {pbx.host}:{pbx.port}: {_reason(e)}") from None
        session = cls(pbx, manager, version="")
        try:
            reply = await session.action(
                {"Action": "Login", "Username": pbx.username, "Secret": pbx.secret,
                 "Events": "on"}, timeout=timeout,
            )  # fmt: skip
        except AmiError:
            session.close()
            raise
        if not reply.success:
            session.close()
            raise AmiAuthError(f"authentication failed for user {pbx.username!r}")
        session.version = protocol.frames.version or ""
        return session

    async def __aenter__(self) -> AmiSession:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        protocol = getattr(self._manager, "protocol", None)
        if protocol is not None and not protocol.closed:
            protocol.transport.close()

    @property
    def counters(self) -> dict[str, int]:
        m = self._manager
        return {"bytes": m.bytes_received, "malformed": m.malformed, "errors": m.handler_errors}

    async def action(self, fields: Mapping[str, str], timeout: float = 10.0) -> Any:
        """Send an action; return its response (a list of messages for event lists)."""
        if self._manager.lost.done():
            raise AmiLost("the AMI connection is closed")
        future = self._manager.send_action(dict(fields))
        lost = self._manager.lost
        done, _ = await asyncio.wait(
            {future, lost}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
        )
        if future in done:
            return future.result()
        if lost in done:
            raise AmiLost("the AMI connection closed during an action")
        raise AmiLost(f"no answer to {fields.get('Action')} within {timeout:.0f} s")

    async def events_of(
        self, fields: Mapping[str, str], timeout: float = 30.0
    ) -> list[dict[str, str]]:
        """Run a list action (QueueStatus, ...) and return its events as plain dicts."""
        reply = await self.action(fields, timeout)
        messages = reply if isinstance(reply, list) else [reply]
        return [dict(m.items()) for m in messages if "event" in m]

    async def run(self) -> None:
        """Ping until the session ends; raise AmiLost saying why it ended."""
        interval = self.pbx.ping_interval_s
        while True:
            lost = self._manager.lost
            try:
                await asyncio.wait_for(asyncio.shield(lost), timeout=interval)
            except TimeoutError:
                pass
            else:
                exc = lost.result()
                raise AmiLost(f"connection closed by peer{': ' + _reason(exc) if exc else ''}")
            # A half-open TCP link or a hung Asterisk never closes the socket: only a ping
            # with a deadline finds it (within two intervals of the last sign of life).
            await self.action({"Action": "Ping"}, timeout=interval)


def filters_for(events: frozenset[str]) -> list[str]:
    """AMI `Filter` whitelist regexes asking the PBX for just these events (no VarSet flood)."""
    plain = sorted(e for e in events if e != "VarSet")
    # Asterisk matches each regex against the whole event text; [[:space:]] ends the name
    # (it matches the CR), so "Agent(Called)" does not also let "AgentCalledX" through.
    rules = [f"Event: ({'|'.join(plain)})[[:space:]]"]
    if "VarSet" in events:
        rules.append("Variable: QUEUESTATUS[[:space:]]")  # the only VarSet the tracker reads
    return rules


def _reason(e: BaseException | None) -> str:
    if e is None:
        return "closed"
    if isinstance(e, TimeoutError):
        return "timed out"
    return getattr(e, "strerror", None) or str(e) or type(e).__name__
