"""A TCP relay on 127.0.0.1 between a collector and a lab Asterisk's AMI port.

What a real network does to a real PBX link, on demand: `cut()` closes every relayed
connection mid-session (and, with `down_for`, refuses new ones for a while, as a network that
is down); `freeze()` keeps the sockets open but stops forwarding (a half-open link: no FIN, no
RST, just silence); `drop_events()` loses chosen AMI events on their way to the collector, as a
lost event would, to create drift the reconciliation poll must find. Asterisk itself is real;
only the wire between it and the collector misbehaves.

The relay runs its own event loop in a thread, so it keeps relaying while the test blocks
(waiting for sipp, running a CLI command).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from tests.lab.ports import free_port
from tests.lab.sipp import LOOPBACK

END = b"\r\n\r\n"
EventFilter = Callable[[dict[str, str]], bool]


@dataclass(eq=False)
class _Link:
    """One collector connection and its connection to Asterisk."""

    down: asyncio.StreamWriter  # to the collector
    up: asyncio.StreamWriter  # to Asterisk
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        self.down.close()
        self.up.close()


class AmiRelay:
    """`with AmiRelay(lab.ami_port) as relay:` point the collector at `relay.port`."""

    def __init__(self, target_port: int, port: int | None = None) -> None:
        self.target_port = target_port
        self.port = port or free_port()
        self.accepted = 0  # connections accepted from the collector
        self.dropped: list[dict[str, str]] = []  # events lost on purpose
        self._drop: EventFilter | None = None
        self._frozen = False
        self._links: set[_Link] = set()
        self._server: asyncio.Server | None = None
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="ami-relay", daemon=True
        )

    # -- control, from the test's thread ----------------------------------------------------
    def start(self) -> AmiRelay:
        """Listen on 127.0.0.1:`port` and relay each connection to Asterisk."""
        if not self._thread.is_alive():
            self._thread.start()
        self._run(self._listen())
        return self

    def stop(self) -> None:
        """Close everything and end the relay's thread."""
        if self._thread.is_alive():
            self._run(self._close(listening=True))
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(5)
        self._loop.close()

    def cut(self, down_for: float = 0.0) -> None:
        """Close every relayed connection now; refuse new ones for `down_for` seconds."""
        self._run(self._close(listening=down_for > 0))
        if down_for > 0:
            self._loop.call_soon_threadsafe(self._loop.call_later, down_for, self._relisten)

    def freeze(self, frozen: bool = True) -> None:
        """Stop (or resume) forwarding in both directions, leaving every socket open."""
        self._frozen = frozen

    def drop_events(self, which: EventFilter | None) -> None:
        """Lose the AMI events for which `which(fields)` is true (None: lose nothing)."""
        self._drop = which

    @property
    def connections(self) -> int:
        """Connections relayed right now."""
        return len(self._links)

    def __enter__(self) -> AmiRelay:
        return self.start()

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- the relay's loop ---------------------------------------------------------------------
    def _run(self, coro: Coroutine[Any, Any, None]) -> None:
        asyncio.run_coroutine_threadsafe(coro, self._loop).result(10)

    def _relisten(self) -> None:
        self._loop.create_task(self._listen())

    async def _listen(self) -> None:
        if self._server is None:
            self._server = await asyncio.start_server(self._accept, LOOPBACK, self.port)

    async def _close(self, listening: bool) -> None:
        if listening and self._server is not None:
            self._server.close()
            self._server = None
        links, self._links = list(self._links), set()
        for link in links:
            link.close()
        await asyncio.gather(*(t for link in links for t in link.tasks), return_exceptions=True)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        try:
            up_reader, up_writer = await asyncio.open_connection(LOOPBACK, self.target_port)
        except OSError:  # Asterisk is down: the collector sees its connection closed
            writer.close()
            return
        link = _Link(writer, up_writer)
        link.tasks = [
            asyncio.create_task(self._forward(reader, up_writer)),
            asyncio.create_task(self._forward_events(up_reader, writer)),
        ]
        self._links.add(link)
        await asyncio.gather(*link.tasks, return_exceptions=True)
        link.close()
        self._links.discard(link)

    async def _forward(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while data := await reader.read(65536):
            await self._while_frozen()
            writer.write(data)
            await writer.drain()

    async def _forward_events(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        writer.write(await reader.readuntil(b"\r\n"))  # the banner: one line
        buffer = b""
        while data := await reader.read(65536):
            buffer += data
            *messages, buffer = buffer.split(END)
            await self._while_frozen()
            writer.write(b"".join(m + END for m in messages if not self._dropped(m)))
            await writer.drain()

    def _dropped(self, message: bytes) -> bool:
        if self._drop is None or not message.startswith(b"Event: "):
            return False
        fields: dict[str, str] = {}
        for line in message.decode("utf-8", "replace").split("\r\n"):
            key, _, value = line.partition(": ")
            fields.setdefault(key, value)
        if self._drop(fields):
            self.dropped.append(fields)
            return True
        return False

    async def _while_frozen(self) -> None:
        while self._frozen:
            await asyncio.sleep(0.02)
