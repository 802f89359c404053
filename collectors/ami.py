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
A frame that is not an AMI message is counted (`malformed`) and skipped; it never ends a session.
A field longer than MAX_FIELD_CHARS is cut to it and counted (`long_fields`).
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from panoramisk.ami_protocol import AMIProtocol
from panoramisk.manager import Manager
from panoramisk.message import Message

from collectors.framing import MAX_FIELD_CHARS, FrameReader, cut_long_fields, parse_message
from settings import PbxSettings

log = logging.getLogger(__name__)


class AmiEvent(dict[str, str]):
    """An event's fields, with `text`: the event as received (the collector keeps it raw,
    cheaper and truer than re-encoding the fields)."""

    __slots__ = ("text",)

    def __init__(self, fields: dict[str, str], text: str) -> None:
        super().__init__(fields)
        self.text = text


EventCallback = Callable[[AmiEvent], None]
# Asterisk answers a list action that has nothing to list with an error ("No Contacts found").
_EMPTY_LIST = re.compile(r"^No .* found", re.IGNORECASE)


class AmiError(Exception):
    """The AMI session failed; the message is fit for the admin page (no secret in it)."""


class AmiAuthError(AmiError):
    """The PBX refused our username or secret: retrying with the same ones cannot succeed."""


class AmiUnreachable(AmiError):
    """No AMI session could be set up (no TCP connection, or no answer to the login)."""


class AmiLost(AmiError):
    """An established session ended (peer closed, reset, shut down, or stopped answering)."""


class AmiActionError(AmiError):
    """The PBX answered an action with an error (unknown action, no permission, ...)."""


class AmiCounters(Protocol):
    """What a session counts as it reads; the collector's PbxStatus is one."""

    bytes_received: int
    malformed: int
    long_fields: int
    handler_errors: int
    ping_rtt_ms: float | None  # the last Ping's round trip


@dataclass
class SessionCounters:
    """AmiCounters for a session used on its own (tests, tools)."""

    bytes_received: int = 0
    malformed: int = 0
    long_fields: int = 0
    handler_errors: int = 0
    ping_rtt_ms: float | None = None


class _Protocol(AMIProtocol):
    """panoramisk's protocol with byte framing, a guarded handler and our own Shutdown."""

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
        counters = self.factory.counters
        counters.bytes_received += len(data)
        oversized = self.frames.oversized
        texts = self.frames.feed(data)
        counters.malformed += self.frames.oversized - oversized
        for text in texts:
            if len(text) > MAX_FIELD_CHARS:  # only such a message can hold a field that long
                text, cut = cut_long_fields(text)
                counters.long_fields += cut
            try:
                if _plain_event(text):
                    # The hot path (bench/README.md): an event that answers no action needs
                    # no panoramisk Message; it goes to the collector as a plain dict.
                    self.factory.deliver(parse_message(text), text)
                    continue
                message = Message.from_line(text)
                if message is None:  # no Event/Response header: count it, keep the link
                    counters.malformed += 1
                    continue
                self.handle_message(message)
            except Exception:  # a bug in a handler must not end the session (defect 4)
                counters.handler_errors += 1
                log.exception("AMI message handler failed on %r", text[:80])

    def handle_message(self, message: Message) -> None:
        # panoramisk treats Shutdown as a lost connection with the Message as the "exception";
        # we pass the event on, then end the session with a plain reason and close the socket.
        if message.get("event", "").lower() == "shutdown":
            self.factory.dispatch(message)
            restart = " to restart" if message.get("restart", "").lower() == "true" else ""
            self.factory.end(AmiLost(f"the PBX is shutting down{restart}"))
            return
        super().handle_message(message)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed:
            self.closed = True
            reason = _reason(exc) if exc else "closed"
            self.factory.end(AmiLost(f"connection closed by peer: {reason}"))


class _Manager(Manager):
    """panoramisk's Manager used for action matching only: no reconnect, no pinger."""

    def __init__(self, on_event: EventCallback, counters: AmiCounters) -> None:
        super().__init__(ping_delay=0, ping_interval=0)
        self._on_event = on_event
        self.counters = counters
        # Set once, with the reason the session ended; every waiter raises it.
        self.lost: asyncio.Future[AmiLost] = asyncio.get_running_loop().create_future()

    def attach(self, protocol: _Protocol) -> None:
        """What panoramisk's connection_made does, minus its Login and pinger."""
        self.protocol = protocol
        protocol.factory = self
        protocol.log = log
        protocol.encoding = self.encoding = "utf-8"
        self.responses = protocol.responses = {}

    def dispatch(self, event: Message) -> list[str]:
        # One callback for every event: no patterns, so no event is delivered twice (defect 3).
        fields = dict(event.items())
        self._on_event(AmiEvent(fields, "\r\n".join(f"{k}: {v}" for k, v in fields.items())))
        return []

    def deliver(self, fields: dict[str, str], text: str) -> None:
        """An event parsed on the fast path (see `_Protocol.data_received`)."""
        self._on_event(AmiEvent(fields, text))

    def end(self, reason: AmiLost) -> None:
        """The session is over: record why (first reason wins) and close the socket."""
        if not self.lost.done():
            self.lost.set_result(reason)
        protocol = getattr(self, "protocol", None)
        if protocol is not None and not protocol.transport.is_closing():
            protocol.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:  # panoramisk's hook: unused
        self.end(AmiLost(f"connection closed: {_reason(exc)}"))


class AmiSession:
    """An authenticated AMI session; `async with` closes it on exit."""

    def __init__(self, pbx: PbxSettings, manager: _Manager, version: str) -> None:
        self.pbx = pbx
        self._manager = manager
        self.version = version

    @classmethod
    async def open(
        cls,
        pbx: PbxSettings,
        on_event: EventCallback,
        counters: AmiCounters | None = None,
        timeout: float = 10.0,
    ) -> AmiSession:
        """Connect and log in; raise AmiUnreachable or AmiAuthError with a plain message."""
        loop = asyncio.get_running_loop()
        manager = _Manager(on_event, counters or SessionCounters())
        try:
            # asyncio.timeout, not wait_for: Python 3.11's wait_for returns (here: raises) the
            # connect's own result when a cancel arrives as the connect fails, so the stop is
            # lost and the collector retries forever (a service stop hung on it once).
            async with asyncio.timeout(timeout):
                _, protocol = await loop.create_connection(
                    lambda: _Protocol(manager), pbx.host, pbx.port
                )
        except (OSError, TimeoutError) as e:
            raise AmiUnreachable(f"cannot reach {pbx.host}:{pbx.port}: {_reason(e)}") from None
        session = cls(pbx, manager, version="")
        try:
            reply = await session.action(
                {"Action": "Login", "Username": pbx.username, "Secret": pbx.secret,
                 "Events": "on"}, timeout=timeout,
            )  # fmt: skip
        except AmiLost as e:  # accepted the connection, never answered the login
            session.close()
            raise AmiUnreachable(f"{pbx.host}:{pbx.port}: {e}") from None
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
        """End the session from our side (idempotent)."""
        self._manager.end(AmiLost("closed by the collector"))

    @property
    def closed(self) -> bool:
        return self._manager.lost.done()

    async def action(self, fields: Mapping[str, str], timeout: float = 10.0) -> Any:
        """Send an action; return its response (a list of messages for event lists).

        Raise AmiLost, with the reason the session ended, if it ends before the answer; a
        peer that does not answer within `timeout` is dead, so the session is ended then too.
        """
        lost = self._manager.lost
        if lost.done():
            raise AmiLost(str(lost.result()))
        future = self._manager.send_action(dict(fields))
        done, _ = await asyncio.wait(
            {future, lost}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
        )
        if future in done:
            return future.result()
        if lost not in done:
            self._manager.end(AmiLost(f"no answer to {fields.get('Action')} within {timeout:g} s"))
        raise AmiLost(str(lost.result()))

    async def events_of(
        self, fields: Mapping[str, str], timeout: float = 30.0
    ) -> list[dict[str, str]]:
        """Run a list action (QueueStatus, ...) and return its events as plain dicts.

        Raise AmiActionError when the PBX refuses it; an empty listing is an empty list.
        """
        reply = await self.action(fields, timeout)
        if not isinstance(reply, list):
            if not reply.success:
                message = str(reply.get("message", "")).strip()
                if _EMPTY_LIST.match(message):
                    return []
                raise AmiActionError(f"{fields.get('Action')}: {message or 'refused'}")
            return []
        return [dict(m.items()) for m in reply if "event" in m]

    async def fields_of(self, fields: Mapping[str, str], timeout: float = 10.0) -> dict[str, str]:
        """Run a one-response action (CoreStatus, ...) and return the response's fields."""
        reply = await self.action(fields, timeout)
        if isinstance(reply, list) or not reply.success:
            message = "" if isinstance(reply, list) else str(reply.get("message", "")).strip()
            raise AmiActionError(f"{fields.get('Action')}: {message or 'unexpected answer'}")
        return dict(reply.items())

    async def ping(self, timeout: float = 10.0) -> float:
        """Send one AMI Ping; return its round trip in ms, also kept as `ping_rtt_ms`."""
        sent = time.perf_counter()
        await self.action({"Action": "Ping"}, timeout=timeout)
        rtt = round((time.perf_counter() - sent) * 1000, 2)
        self._manager.counters.ping_rtt_ms = rtt
        return rtt

    async def run(self) -> None:
        """Ping until the session ends; raise AmiLost saying why it ended.

        A half-open TCP link or a hung Asterisk never closes the socket: only a ping with a
        deadline finds it, within two intervals of the last answer (defect 5).
        """
        interval = self.pbx.ping_interval_s
        lost = self._manager.lost
        while True:
            try:
                async with asyncio.timeout(interval):  # not wait_for: see open()
                    reason = await asyncio.shield(lost)
            except TimeoutError:
                await self.ping(timeout=interval)
            else:
                raise AmiLost(str(reason))


def filters_for(events: frozenset[str]) -> list[str]:
    """AMI `Filter` whitelist regexes asking the PBX for just these events (no VarSet flood)."""
    plain = sorted(e for e in events if e != "VarSet")
    # Asterisk matches each regex against the whole event text; [[:space:]] ends the name
    # (it matches the CR), so "Agent(Called)" does not also let "AgentCalledX" through.
    rules = [f"Event: ({'|'.join(plain)})[[:space:]]"]
    if "VarSet" in events:
        rules.append("Variable: QUEUESTATUS[[:space:]]")  # the only VarSet the tracker reads
    return rules


def _plain_event(text: str) -> bool:
    # Events listed in answer to an action carry its ActionID and go to panoramisk's matching;
    # Shutdown goes through handle_message, which ends the session.
    return (
        text.startswith("Event: ")
        and "\nActionID:" not in text
        and not text.startswith("Event: Shutdown")
    )


def _reason(e: BaseException | None) -> str:
    if e is None:
        return "closed"
    if isinstance(e, TimeoutError):
        return "timed out"
    return getattr(e, "strerror", None) or str(e) or type(e).__name__
