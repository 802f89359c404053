"""A test's own AMI connection to the lab: send actions (QueuePause, QueueAdd, BlindTransfer,
...) the way a supervisor's tool would, and keep every event Asterisk sends, so a test can
show and check which AMI signal a scenario produced.

It is a plain panoramisk Manager, separate from the collector under test: what the test
does here never goes through the code it checks.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any

from panoramisk import Manager

from tests.lab.asterisk import AsteriskLab
from tests.lab.sipp import LabError

Event = dict[str, str]


class LabAmi:
    """`async with LabAmi(lab) as ami:` logs in; `ami.events` grows as events arrive."""

    def __init__(self, lab: AsteriskLab) -> None:
        self.lab = lab
        self.events: list[Event] = []
        self._manager: Manager | None = None

    async def __aenter__(self) -> LabAmi:
        loop = asyncio.get_running_loop()
        logged_in = asyncio.Event()
        manager = Manager(
            loop=loop,
            host=self.lab.ami_host,
            port=self.lab.ami_port,
            username=self.lab.ami_username,
            secret=self.lab.ami_secret,
            ping_delay=3600,  # no pings: the session lives for one test
            reconnect_timeout=3600,  # after close(), no reconnect within the test
            on_login=lambda _manager: logged_in.set(),
        )
        manager.register_event("*", self._keep)
        self._manager = manager
        await manager.connect()
        try:
            await asyncio.wait_for(logged_in.wait(), 10)
        except TimeoutError:
            manager.close()
            raise LabError("the test's AMI connection did not log in within 10 s") from None
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._manager is not None:
            self._manager.close()
            self._manager = None

    async def action(
        self, fields: Mapping[str, str], timeout: float = 10.0, as_list: bool = False
    ) -> Any:
        """Send one action; raise LabError unless Asterisk answers `Response: Success`.

        `as_list` says whether events follow the response (QueueStatus, ...): panoramisk's
        guess takes QueueAdd's "Added interface to queue" for a list and waits forever."""
        if self._manager is None:
            raise LabError("LabAmi is not connected")
        sent = self._manager.send_action(dict(fields), as_list=as_list)
        reply = await asyncio.wait_for(sent, timeout)
        first = reply[0] if isinstance(reply, list) else reply
        if first.get("Response") != "Success":
            raise LabError(f"AMI {fields.get('Action')} failed: {dict(first.items())}")
        return reply

    async def wait_event(
        self,
        match: Callable[[Event], bool],
        timeout: float = 10.0,
        what: str = "an event",
        after: Event | None = None,
    ) -> Event:
        """The first event kept so far (or arriving within `timeout`) that `match`es; with
        `after`, the first one that came after that event."""
        deadline = time.monotonic() + timeout
        start = 0 if after is None else next(i for i, e in enumerate(self.events) if e is after)
        while True:
            for event in self.events[start:]:
                if match(event):
                    return event
            if time.monotonic() > deadline:
                raise LabError(f"no AMI event for {what} within {timeout} s")
            await asyncio.sleep(0.05)

    def _keep(self, _manager: Manager, event: Any) -> None:
        self.events.append({str(k): str(v) for k, v in event.items()})
