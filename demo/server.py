"""The demo's AMI server: asyncio TCP sessions that answer as Asterisk 16's manager.c does.

Banner `Asterisk Call Manager/5.0.4`; Login checks the user and secret (a wrong one gets
`Response: Error` / `Message: Authentication failed` after a delay, then the link is closed, as
action_login does); anything else before login is `Permission denied`. Events on/off (Login's
`Events` header, the Events action), event Filter whitelists and `!` blacklists (POSIX regexes,
applied with Python's `re` to the whole event text, as match_filter applies regexec), Ping,
Logoff, and the status actions of demo/listing.py. ActionID is echoed on every answer.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import re
import time
from collections.abc import Callable

from demo import listing
from demo.asterisk import AsteriskPbx
from demo.channels import Event, encode
from demo.config import DemoSettings

log = logging.getLogger(__name__)

BANNER = b"Asterisk Call Manager/5.0.4\r\n"
MAX_ACTION_BYTES = 64 * 1024
DRAIN_ABOVE_BYTES = 256 * 1024
WRITE_TIMEOUT_S = 10.0  # a client this slow is dropped (manager.conf writetimeout, generous)
_TRUE = {"yes", "true", "y", "t", "1", "on"}  # ast_true / ast_false
_FALSE = {"no", "false", "n", "f", "0", "off"}
# POSIX bracket classes Asterisk's regcomp knows and Python's re does not.
_POSIX = {"[:space:]": r"\s", "[:digit:]": "0-9", "[:alpha:]": "A-Za-z", "[:upper:]": "A-Z",
          "[:lower:]": "a-z", "[:alnum:]": "A-Za-z0-9", "[:blank:]": r" \t",
          "[:xdigit:]": "0-9A-Fa-f", "[:punct:]": r"!-/:-@\[-`{-~"}  # fmt: skip


def compile_filter(pattern: str) -> re.Pattern[str]:
    """An AMI Filter regex (POSIX extended) as a Python pattern; raises re.error."""
    for posix, python in _POSIX.items():
        pattern = pattern.replace(posix, python)
    return re.compile(pattern)


class _Session:
    """One AMI client: what it asked for, and its socket."""

    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self.writer = writer
        self.authenticated = False
        self.classes: frozenset[str] | None = None  # None: every class; empty: events off
        self.allow: list[re.Pattern[str]] = []
        self.deny: list[re.Pattern[str]] = []

    def wants(self, classes: frozenset[str], text: str) -> bool:
        if not self.authenticated or (self.classes is not None and not classes & self.classes):
            return False
        if self.allow and not any(p.search(text) for p in self.allow):
            return False
        return not any(p.search(text) for p in self.deny)

    def set_events(self, mask: str) -> None:
        """Login's `Events` or the Events action's `EventMask` (manager.c set_eventmask)."""
        value = mask.strip().lower()
        if not value:
            return
        if value in _TRUE or (value.isdigit() and value != "0"):
            self.classes = None
        elif value in _FALSE:
            self.classes = frozenset()
        else:
            self.classes = frozenset(c.strip() for c in value.split(",") if c.strip())


class AmiServer:
    """Serves AMI for one simulated PBX; `publish` pushes its events to every session."""

    def __init__(
        self, settings: DemoSettings, pbx: AsteriskPbx, clock: Callable[[], float]
    ) -> None:
        self._settings = settings
        self._pbx = pbx
        self._clock = clock  # the simulated "now"
        self._sessions: dict[_Session, asyncio.Task[None]] = {}
        self._server: asyncio.Server | None = None
        self.port = settings.port
        self.first_login = asyncio.Event()

    async def start(self) -> None:
        self._server = await asyncio.start_server(
            self._serve, self._settings.host, self._settings.port
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        """Stop listening and end every session (each handler sees EOF and returns)."""
        if self._server is not None:
            self._server.close()
        for session in self._sessions:
            session.writer.close()
        tasks = set(self._sessions.values())
        if tasks:
            _, stuck = await asyncio.wait(tasks, timeout=2.0)
            for task in stuck:
                task.cancel()
            if stuck:
                await asyncio.wait(stuck)
        if self._server is not None:
            await self._server.wait_closed()

    @property
    def sessions(self) -> int:
        return sum(s.authenticated for s in self._sessions)

    def publish(self, events: list[Event]) -> None:
        """Write each event to every logged-in session that wants it (class and filters)."""
        if not self._sessions:
            return
        for event in events:
            data = encode(event)
            text = data.decode()
            classes = frozenset(event["Privilege"].split(",")) - {"all"}
            for session in self._sessions:
                if session.wants(classes, text) and not session.writer.is_closing():
                    session.writer.write(data)

    async def drain(self) -> None:
        """Wait until every session took what was written; drop one that stays stuck."""
        for session in list(self._sessions):
            if session.writer.transport.get_write_buffer_size() < DRAIN_ABOVE_BYTES:
                continue  # nothing to wait for (drain would return at once, at a cost)
            try:
                await asyncio.wait_for(session.writer.drain(), WRITE_TIMEOUT_S)
            except (TimeoutError, ConnectionError):
                log.warning("demo AMI: dropping a client that does not read")
                session.writer.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        session = _Session(writer)
        task = asyncio.current_task()
        assert task is not None
        self._sessions[session] = task
        try:
            writer.write(BANNER)
            while not writer.is_closing():
                raw = await reader.readuntil(b"\r\n\r\n")
                if not await self._handle(session, _parse(raw)):
                    break
                await writer.drain()
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            pass
        finally:
            self._sessions.pop(session, None)
            writer.close()

    async def _handle(self, session: _Session, action: dict[str, str]) -> bool:
        """Answer one action; False when the session must end."""
        name = action.get("action", "").lower()
        if not name:
            session.writer.write(listing.response(action, "Error", "Missing action in request"))
        elif name == "login":
            return await self._login(session, action)
        elif name == "logoff":
            reply = listing.response(action, "Goodbye", "Thanks for all the fish.")
            session.writer.write(reply)
            await session.writer.drain()
            return False
        elif not session.authenticated:
            session.writer.write(listing.response(action, "Error", "Permission denied"))
        else:
            session.writer.write(self._answer(session, name, action))
        return True

    async def _login(self, session: _Session, action: dict[str, str]) -> bool:
        if session.authenticated:
            session.writer.write(listing.response(action, "Success", "Already authenticated"))
            return True
        s = self._settings
        user_ok = hmac.compare_digest(action.get("username", "").encode(), s.username.encode())
        secret_ok = hmac.compare_digest(action.get("secret", "").encode(), s.secret.encode())
        if not (user_ok and secret_ok):
            await asyncio.sleep(s.auth_fail_delay_s)  # action_login sleeps 1 s, then refuses
            session.writer.write(listing.response(action, "Error", "Authentication failed"))
            await session.writer.drain()
            return False
        session.authenticated = True
        self.first_login.set()
        session.set_events(action.get("events", ""))
        session.writer.write(listing.response(action, "Success", "Authentication accepted"))
        now = self._clock()
        if session.classes is None or "system" in session.classes:
            session.writer.write(encode(self._pbx.fully_booted(now)))
        self.publish([self._successful_auth(session, now)])
        return True

    def _answer(self, session: _Session, name: str, action: dict[str, str]) -> bytes:
        pbx, now = self._pbx, self._clock()
        if name == "ping":
            stamp = f"{now:.6f}"
            return encode({"Response": "Success", **_id(action), "Ping": "Pong",
                                   "Timestamp": stamp})  # fmt: skip
        if name == "events":
            session.set_events(action.get("eventmask", ""))
            state = "Off" if session.classes == frozenset() else "On"
            return encode({"Response": "Success", **_id(action), "Events": state})
        if name == "filter":
            return _filter(session, action)
        answers: dict[str, Callable[[], bytes]] = {
            "queuestatus": lambda: listing.queue_status(pbx, action, now),
            "queuesummary": lambda: listing.queue_summary(pbx, action, now),
            "coresettings": lambda: listing.core_settings(action),
            "corestatus": lambda: listing.core_status(pbx, action),
            "pjsipshowendpoints": lambda: listing.pjsip_endpoints(pbx, action),
            "pjsipshowcontacts": lambda: listing.pjsip_contacts(pbx, action),
            "coreshowchannels": lambda: listing.core_show_channels(pbx, action),
        }
        answer = answers.get(name)
        if answer is None:
            message = (f"Invalid/unknown command: {action['action']}. "
                       "Use Action: ListCommands to show available commands.")  # fmt: skip
            return listing.response(action, "Error", message)
        return answer()

    def _successful_auth(self, session: _Session, now: float) -> Event:
        local = session.writer.get_extra_info("sockname") or ("127.0.0.1", self.port)
        remote = session.writer.get_extra_info("peername") or ("127.0.0.1", 0)
        tv = (
            time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now))
            + f".{int(now % 1 * 1000):03d}+0000"
        )
        return {"Event": "SuccessfulAuth", "Privilege": "security,all",
                "Timestamp": f"{now:.6f}", "EventTV": tv, "Severity": "Informational",
                "Service": "AMI", "EventVersion": "1", "AccountID": self._settings.username,
                "SessionID": f"0x{id(session):x}",
                "LocalAddress": f"IPV4/TCP/{local[0]}/{local[1]}",
                "RemoteAddress": f"IPV4/TCP/{remote[0]}/{remote[1]}", "UsingPassword": "0",
                "SessionTV": tv}  # fmt: skip


def _filter(session: _Session, action: dict[str, str]) -> bytes:
    if action.get("operation", "").lower() != "add":
        return listing.response(action, "Error", "Unknown operation")
    pattern = action.get("filter", "")
    deny = pattern.startswith("!")
    try:
        compiled = compile_filter(pattern[1:] if deny else pattern)
    except re.error:
        message = "Filter did not compile.  Check the syntax of the filter given."
        return listing.response(action, "Error", message)
    (session.deny if deny else session.allow).append(compiled)
    return listing.response(action, "Success", "Success")


def _parse(raw: bytes) -> dict[str, str]:
    """An action's `Key: Value` lines; names lower-cased (astman_get_header), first one wins."""
    action: dict[str, str] = {}
    for line in raw.decode("utf-8", "replace").split("\r\n"):
        key, sep, value = line.partition(":")
        if sep:
            action.setdefault(key.strip().lower(), value.strip())
    action.setdefault("action", "")
    return action


def _id(action: dict[str, str]) -> dict[str, str]:
    action_id = action.get("actionid", "")
    return {"ActionID": action_id} if action_id else {}
