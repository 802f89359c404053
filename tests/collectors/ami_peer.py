"""A scripted AMI peer on 127.0.0.1, for what a real Asterisk cannot be made to do.

It stands in for a broken peer: one that sends frames no Asterisk sends (a frame with no
Event or Response header, invalid UTF-8, an event missing the field its rows are keyed on, an
event type nobody knows). Everything a real Asterisk can show (a wrong secret, a hung or
restarted PBX, a cut socket, an exception in our own handler) is tested against the real lab
instead (tests/collectors/test_ami.py, test_resilience_lab.py).

It answers every action: Login with Success (or Error for a wrong secret), the actions in
`refuse` with an Error, list actions with an empty list, anything else with a plain Success;
`send()` writes raw bytes to every client.
"""

from __future__ import annotations

import asyncio
from types import TracebackType

BANNER = b"Asterisk Call Manager/5.0.4\r\n"
END = b"\r\n\r\n"
_LISTS = {"queuestatus", "queuesummary", "pjsipshowendpoints", "pjsipshowcontacts"}


class ScriptedPeer:
    """`async with ScriptedPeer() as peer:` connect to 127.0.0.1:`peer.port`."""

    def __init__(self, secret: str = "s3cret", refuse: frozenset[str] = frozenset()) -> None:
        self.secret = secret
        self.refuse = {name.lower() for name in refuse}  # actions answered with an Error
        self.port = 0
        self.connections = 0
        self.actions: list[dict[str, str]] = []
        self._writers: list[asyncio.StreamWriter] = []
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> ScriptedPeer:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        for writer in self._writers:
            writer.close()
        if self._server is not None:
            self._server.close()

    def send(self, data: bytes) -> None:
        """Write raw bytes to every connected client."""
        for writer in self._writers:
            writer.write(data)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self._writers.append(writer)
        writer.write(BANNER)
        try:
            while True:
                action = _fields(await reader.readuntil(END))
                self.actions.append(action)
                writer.write(self._reply(action))
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self._writers.remove(writer)
            writer.close()

    def _reply(self, action: dict[str, str]) -> bytes:
        name = action.get("action", "").lower()
        aid = f"ActionID: {action.get('actionid', '')}\r\n"
        if name == "login" and action.get("secret") != self.secret:
            return f"Response: Error\r\n{aid}Message: Authentication failed\r\n\r\n".encode()
        if name in self.refuse:
            return f"Response: Error\r\n{aid}Message: Permission denied\r\n\r\n".encode()
        if name in _LISTS:
            return (
                f"Response: Success\r\n{aid}EventList: start\r\nMessage: list follows\r\n\r\n"
                f"Event: {action['action']}Complete\r\n{aid}EventList: Complete\r\n"
                "ListItems: 0\r\n\r\n"
            ).encode()
        return f"Response: Success\r\n{aid}Message: ok\r\n\r\n".encode()


def _fields(raw: bytes) -> dict[str, str]:
    fields: dict[str, str] = {}
    for line in raw.decode("utf-8", "replace").split("\r\n"):
        key, sep, value = line.partition(": ")
        if sep:
            fields[key.lower()] = value
    return fields
