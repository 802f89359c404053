"""The model's happenings as Asterisk 16 reports them: AMI events and queue_log lines.

`AsteriskPbx.apply(happening)` returns the AMI events (in Asterisk's order, with its field
names and units) and the queue_log lines (in app_queue's format) that one happening makes, and
keeps the state QueueStatus and friends report (demo/listing.py). Only the events a queue
collector uses are made: channels' dialplan, bridge, dial and VarSet chatter is not, except the
caller's `VarSet QUEUESTATUS=TIMEOUT` (see ../shared/ASTERISK-NOTES.md).

Orders and units, from the real captures (../shared/ami-captures) and apps/app_queue.c (16):
- answered: AgentCalled; QueueCallerLeave *before* AgentConnect (HoldTime and RingTime in
  seconds); then HangupRequest of the side that ends, AgentComplete (TalkTime, Reason), Hangups.
- abandoned: the caller's HangupRequest (cause 127), QueueCallerAbandon, QueueCallerLeave,
  Hangup of ringing legs (cause 0) and of the caller; queue_log RINGCANCELED then ABANDON.
- timeout: no HangupRequest; a ring in progress ends with AgentRingNoAnswer (RingTime in
  *milliseconds*, cut short); QueueCallerAbandon, QueueCallerLeave, VarSet QUEUESTATUS=TIMEOUT.
- Uniqueid is `epoch.seq` (the channel's creation second, Asterisk's channel counter); every
  agent leg carries the caller's Uniqueid as Linkedid; queue_log's callid is the caller's.
- queue_log durations are differences of whole epoch seconds, as `time(NULL) - qe->start`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from demo.channels import (
    DEVICE_STATE,
    Channel,
    Device,
    Event,
    channel_fields,
    hangup_fields,
    member_fields,
)
from demo.config import DemoSettings, QueueConfig
from demo.model import (
    Abandon,
    Answer,
    Arrival,
    Hangup,
    Happening,
    NoAnswer,
    Pause,
    Ring,
    Timeout,
    Unpause,
)

AGENT, CALL, DIALPLAN = "agent,all", "call,all", "dialplan,all"  # event Privilege classes


@dataclass(eq=False)
class QueueState:
    """app_queue's counters for one queue (QueueParams, QueueSummary)."""

    config: QueueConfig
    waiting: list[int] = field(default_factory=list)  # call numbers, position order
    holdtime: int = 0  # moving averages, as recalc_holdtime and update_queue keep them
    talktime: int = 0
    completed: int = 0
    abandoned: int = 0  # timeouts too, as Asterisk counts them
    completed_in_sl: int = 0
    abandoned_in_sl: int = 0
    available: bool = True  # device state Queue:<name>_avail is NOT_INUSE


@dataclass(eq=False)
class Caller:
    """A caller in (or connected from) a queue."""

    number: int  # the model's call number
    chan: Channel
    queue: QueueState
    entered: float
    opos: int  # position on entry
    legs: dict[int, tuple[Channel, float]] = field(default_factory=dict)  # ringing: leg, start
    agent: int | None = None
    leg: Channel | None = None
    connected_at: float = 0.0
    in_sl: bool = False


class AsteriskPbx:
    """Asterisk's view of the simulated contact center; see the module docstring."""

    def __init__(self, settings: DemoSettings, booted_at: float) -> None:
        self.booted_at = booted_at
        self.queues = {q.name: QueueState(q) for q in settings.queues}
        self.devices = [Device(a, int(booted_at)) for a in settings.agents]
        self.callers: dict[int, Caller] = {}
        self._seq = 0  # Asterisk's channel counter: Uniqueid suffix and channel name suffix
        self._last_stamp = 0.0
        self._events: list[Event] = []
        self._lines: list[str] = []

    def boot_lines(self) -> list[str]:
        """What Asterisk's logger writes to queue_log when it starts."""
        return [f"{int(self.booted_at)}|NONE|NONE|NONE|QUEUESTART|"]

    def fully_booted(self, now: float) -> Event:
        """The event manager.c sends a session right after its login (no Timestamp)."""
        up = str(int(now - self.booted_at))
        return {"Event": "FullyBooted", "Privilege": "system,all", "Uptime": up,
                "LastReload": up, "Status": "Fully Booted"}  # fmt: skip

    def apply(self, h: Happening) -> tuple[list[Event], list[str]]:
        """The AMI events and queue_log lines of one happening, in Asterisk's order."""
        self._events, self._lines = [], []
        match h:
            case Arrival():
                self._arrival(h)
            case Ring():
                self._ring(h)
            case NoAnswer():
                self._no_answer(h)
            case Answer():
                self._answer(h)
            case Hangup():
                self._hangup(h)
            case Abandon():
                self._abandon(h)
            case Timeout():
                self._timeout(h)
            case Pause() | Unpause():
                self._pause(h)
        return self._events, self._lines

    # -- callers -----------------------------------------------------------------------------
    def _arrival(self, h: Arrival) -> None:
        q = self.queues[h.queue]
        chan = self._channel(h.at, "PJSIP/pstn", h.caller_num, h.caller_name, "from-pstn",
                             q.config.exten, "2", None, 4)  # fmt: skip
        q.waiting.append(h.call)
        pos = len(q.waiting)
        self.callers[h.call] = Caller(h.call, chan, q, h.at, pos)
        if pos == 1:
            self._device_state(h.at, f"Queue:{q.config.name}", "RINGING")
        self._emit("QueueCallerJoin", AGENT, h.at, channel_fields(chan),
                   {"Queue": q.config.name, "Position": str(pos), "Count": str(pos)})  # fmt: skip
        self._log(h.at, chan.uniqueid, q.config.name, "NONE", "ENTERQUEUE", "", h.caller_num,
                  str(pos))  # fmt: skip

    def _abandon(self, h: Abandon) -> None:
        caller = self.callers.pop(h.call)
        self._emit("HangupRequest", CALL, h.at, hangup_fields(caller.chan, 127, False))
        for index, (_, started) in caller.legs.items():  # one line per member still ringing
            name = self.devices[index].agent.name
            self._log_call(h.at, caller, name, "RINGCANCELED", _ms(h.at - started))
        pos, wait = self._exit(h.at, caller)
        for index, (leg, _) in caller.legs.items():
            self._emit("Hangup", CALL, h.at, hangup_fields(leg, 0, True))
            self._set_status(h.at, self.devices[index], 1)
        self._emit("Hangup", CALL, h.at, hangup_fields(caller.chan, 127, True))
        caller.queue.abandoned_in_sl += wait <= caller.queue.config.service_level_s
        self._log_call(h.at, caller, "NONE", "ABANDON", str(pos), str(caller.opos), str(wait))

    def _timeout(self, h: Timeout) -> None:
        caller = self.callers.pop(h.call)  # the model sent NoAnswer for a ring it cut
        pos, wait = self._exit(h.at, caller)
        self._emit("VarSet", DIALPLAN, h.at, channel_fields(caller.chan),
                   {"Variable": "QUEUESTATUS", "Value": "TIMEOUT"})  # fmt: skip
        self._emit("Hangup", CALL, h.at, hangup_fields(caller.chan, 16, True))
        caller.queue.abandoned_in_sl += wait <= caller.queue.config.service_level_s
        self._log_call(h.at, caller, "NONE", "EXITWITHTIMEOUT", str(pos), str(caller.opos),
                       str(wait))  # fmt: skip

    def _exit(self, at: float, caller: Caller) -> tuple[int, int]:
        """QueueCallerAbandon then QueueCallerLeave (both for abandons and timeouts)."""
        q = caller.queue
        pos = q.waiting.index(caller.number) + 1
        wait = int(at) - int(caller.entered)
        self._emit("QueueCallerAbandon", AGENT, at, channel_fields(caller.chan),
                   {"Queue": q.config.name, "Position": str(pos),
                    "OriginalPosition": str(caller.opos), "HoldTime": str(wait)})  # fmt: skip
        self._leave(at, caller, pos)
        q.abandoned += 1
        return pos, wait

    def _leave(self, at: float, caller: Caller, pos: int) -> None:
        q = caller.queue
        q.waiting.remove(caller.number)
        if not q.waiting:
            self._device_state(at, f"Queue:{q.config.name}", "NOT_INUSE")
        self._emit("QueueCallerLeave", AGENT, at, channel_fields(caller.chan),
                   {"Queue": q.config.name, "Position": str(pos),
                    "Count": str(len(q.waiting))})  # fmt: skip

    # -- ring attempts -----------------------------------------------------------------------
    def _ring(self, h: Ring) -> None:
        caller, device = self.callers[h.call], self.devices[h.agent]
        agent = device.agent
        leg = self._channel(h.at, agent.interface, agent.extension, agent.name, "from-internal",
                            caller.chan.exten, "1", caller.chan.uniqueid, 0)  # fmt: skip
        leg.connected_num, leg.connected_name = caller.chan.num, caller.chan.cid_name
        caller.legs[h.agent] = (leg, h.at)
        self._emit("AgentCalled", AGENT, h.at, channel_fields(caller.chan),
                   channel_fields(leg, "Dest"), self._member(caller, device))  # fmt: skip
        # The caller's connected line becomes the member rung (NewConnectedLine).
        caller.chan.connected_num, caller.chan.connected_name = agent.extension, agent.name
        leg.state = 5
        self._set_status(h.at, device, 6)

    def _no_answer(self, h: NoAnswer) -> None:
        caller, device = self.callers[h.call], self.devices[h.agent]
        leg, started = caller.legs.pop(h.agent)
        ring_ms = _ms(h.at - started)
        self._emit("AgentRingNoAnswer", AGENT, h.at, channel_fields(caller.chan),
                   channel_fields(leg, "Dest"), self._member(caller, device),
                   {"RingTime": ring_ms})  # fmt: skip
        self._emit("Hangup", CALL, h.at, hangup_fields(leg, 0, True))
        self._set_status(h.at, device, 1)
        self._log_call(h.at, caller, device.agent.name, "RINGNOANSWER", ring_ms)

    def _answer(self, h: Answer) -> None:
        caller, device = self.callers[h.call], self.devices[h.agent]
        q = caller.queue
        leg, started = caller.legs.pop(h.agent)
        leg.state = 6
        self._leave(h.at, caller, q.waiting.index(h.call) + 1)
        hold, ring = int(h.at) - int(caller.entered), int(h.at - started)
        self._emit("AgentConnect", AGENT, h.at, channel_fields(caller.chan),
                   channel_fields(leg, "Dest"), self._member(caller, device),
                   {"HoldTime": str(hold), "RingTime": str(ring)})  # fmt: skip
        # The member's in-use state as the real PBX often reports it: after AgentConnect,
        # with InCall set on the membership that took the call only.
        device.in_call_queue = q.config.name
        self._set_status(h.at, device, 2)
        caller.chan.state = 6
        for index, (other, _) in caller.legs.items():  # ringall: the others stop ringing
            self._emit("Hangup", CALL, h.at, hangup_fields(other, 26, True))
            self._set_status(h.at, self.devices[index], 1)
        caller.legs.clear()
        caller.agent, caller.leg, caller.connected_at = h.agent, leg, h.at
        caller.in_sl = hold <= q.config.service_level_s
        q.holdtime = _average(q.holdtime, hold, q.completed + q.abandoned == 0)
        self._log_call(h.at, caller, device.agent.name, "CONNECT", str(hold), leg.uniqueid,
                       str(ring))  # fmt: skip

    def _hangup(self, h: Hangup) -> None:
        caller = self.callers.pop(h.call)
        assert caller.leg is not None and caller.agent is not None
        device, leg, q = self.devices[caller.agent], caller.leg, caller.queue
        first, second = (leg, caller.chan) if h.by == "agent" else (caller.chan, leg)
        self._emit("HangupRequest", CALL, h.at, hangup_fields(first, 16, False))
        hold, talk = (
            int(caller.connected_at) - int(caller.entered),
            int(h.at) - int(caller.connected_at),
        )
        self._emit("AgentComplete", AGENT, h.at, channel_fields(caller.chan),
                   channel_fields(leg, "Dest"), self._member(caller, device),
                   {"HoldTime": str(hold), "TalkTime": str(talk), "Reason": h.by})  # fmt: skip
        for chan in (first, second):
            self._emit("Hangup", CALL, h.at, hangup_fields(chan, 16, True))
        device.calls += 1  # shared_lastcall: every membership of the device counts it
        device.last_call, device.in_call_queue = int(h.at), None
        self._set_status(h.at, device, 1)
        q.talktime = _average(q.talktime, talk, q.completed == 0)
        q.completed += 1
        q.completed_in_sl += caller.in_sl
        verb = "COMPLETEAGENT" if h.by == "agent" else "COMPLETECALLER"
        self._log_call(
            h.at, caller, device.agent.name, verb, str(hold), str(talk), str(caller.opos)
        )

    # -- members -----------------------------------------------------------------------------
    def _pause(self, h: Pause | Unpause) -> None:
        device = self.devices[h.agent]
        agent = device.agent
        paused = isinstance(h, Pause)
        reason = h.reason if isinstance(h, Pause) else ""
        device.paused, device.reason = paused, reason
        if paused:
            device.last_pause = int(h.at)
        verb = "PAUSE" if paused else "UNPAUSE"
        # QueuePause without a Queue: PAUSEALL on queue NONE, then one line per queue.
        self._log(h.at, "NONE", "NONE", agent.name, f"{verb}ALL", reason)
        for queue in agent.queues:
            self._log(h.at, "NONE", queue, agent.name, verb, reason)
            extra = {"Reason": reason} if reason else {}  # Asterisk omits an empty Reason
            self._emit("QueueMemberPause", AGENT, h.at, member_fields(device, queue), extra)
            self._device_state(h.at, f"Queue:{queue}_pause_{agent.interface}",
                               "INUSE" if paused else "NOT_INUSE")  # fmt: skip
        self._update_available(h.at, agent.queues)

    def _set_status(self, at: float, device: Device, status: int) -> None:
        device.status = status
        self._device_state(at, device.agent.interface, DEVICE_STATE[status])
        for queue in device.agent.queues:  # one QueueMemberStatus per membership
            self._emit("QueueMemberStatus", AGENT, at, member_fields(device, queue))
        self._update_available(at, device.agent.queues)

    def _update_available(self, at: float, queues: tuple[str, ...]) -> None:
        for name in queues:
            q = self.queues[name]
            available = any(d.available for d in self.devices if name in d.agent.queues)
            if available != q.available:
                q.available = available
                self._device_state(at, f"Queue:{name}_avail",
                                   "NOT_INUSE" if available else "INUSE")  # fmt: skip

    # -- helpers -----------------------------------------------------------------------------
    def _channel(
        self, at: float, endpoint: str, num: str, name: str, context: str, exten: str,
        priority: str, linkedid: str | None, state: int,
    ) -> Channel:  # fmt: skip
        seq = self._seq
        self._seq += 1
        uniqueid = f"{int(at)}.{seq}"
        return Channel(uniqueid, f"{endpoint}-{seq:08x}", num, name, context, exten, priority,
                       linkedid or uniqueid, state)  # fmt: skip

    def _member(self, caller: Caller, device: Device) -> Event:
        agent = device.agent
        return {"Queue": caller.queue.config.name, "Interface": agent.interface,
                "MemberName": agent.name}  # fmt: skip

    def _device_state(self, at: float, device: str, state: str) -> None:
        self._emit("DeviceStateChange", CALL, at, {"Device": device, "State": state})

    def _emit(self, name: str, privilege: str, at: float, *blocks: Event) -> None:
        # Events of one instant get strictly increasing microsecond stamps, as on a real PBX.
        stamp = max(at, self._last_stamp + 0.000013)
        self._last_stamp = stamp
        event = {"Event": name, "Privilege": privilege, "Timestamp": f"{stamp:.6f}"}
        for block in blocks:
            event.update(block)
        self._events.append(event)

    def _log_call(self, at: float, caller: Caller, agent: str, verb: str, *data: str) -> None:
        self._log(at, caller.chan.uniqueid, caller.queue.config.name, agent, verb, *data)

    def _log(self, at: float, callid: str, queue: str, agent: str, verb: str, *data: str) -> None:
        self._lines.append("|".join((str(int(at)), callid, queue, agent, verb, *data)))


def _ms(seconds: float) -> str:
    return str(int(seconds * 1000))


def _average(old: int, new: int, first: bool) -> int:
    """app_queue's integer moving average (3/4 old + 1/4 new), seeded by the first value."""
    return new if first else (old * 3 + new) >> 2
