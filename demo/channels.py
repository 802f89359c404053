"""Channels and queue members as Asterisk 16 reports them in AMI events.

The field names, their order and their units are those of the events recorded from a real
Asterisk 16.28 (../shared/ami-captures/EVENT_FIELDS.md); app_queue.c and manager.c of the
16 branch fill the rest (QueueEntry, QueueMemberPause's Reason, ...).
"""

from __future__ import annotations

from dataclasses import dataclass

from demo.config import AgentConfig

Event = dict[str, str]  # an AMI event: fields in the order Asterisk writes them

STATE_DESC = {0: "Down", 4: "Ring", 5: "Ringing", 6: "Up"}  # enum ast_channel_state
CAUSE_TEXT = {
    0: "Unknown",
    16: "Normal Clearing",
    26: "Answered elsewhere",
    127: "Interworking, unspecified",
}  # the Q.850 causes seen in the captures
# QueueMemberStatus Status (enum ast_device_state) and the matching DeviceStateChange State.
DEVICE_STATE = {1: "NOT_INUSE", 2: "INUSE", 6: "RINGING"}
UNKNOWN = "<unknown>"


@dataclass(eq=False)
class Channel:
    """One channel: a caller's inbound leg or one agent leg of a ring attempt."""

    uniqueid: str  # "epoch.seq": creation second, then Asterisk's channel counter
    name: str  # PJSIP/<endpoint>-<counter as 8 hex digits>
    num: str
    cid_name: str
    context: str
    exten: str
    priority: str
    linkedid: str  # the caller's Uniqueid (queue_log's callid) on every leg
    state: int
    connected_num: str = UNKNOWN
    connected_name: str = UNKNOWN


def channel_fields(ch: Channel, prefix: str = "") -> Event:
    """The channel snapshot block of an event; prefix "Dest" for the other party."""
    p = prefix
    return {
        f"{p}Channel": ch.name,
        f"{p}ChannelState": str(ch.state),
        f"{p}ChannelStateDesc": STATE_DESC[ch.state],
        f"{p}CallerIDNum": ch.num,
        f"{p}CallerIDName": ch.cid_name,
        f"{p}ConnectedLineNum": ch.connected_num,
        f"{p}ConnectedLineName": ch.connected_name,
        f"{p}Language": "en",
        f"{p}AccountCode": "",
        f"{p}Context": ch.context,
        f"{p}Exten": ch.exten,
        f"{p}Priority": ch.priority,
        f"{p}Uniqueid": ch.uniqueid,
        f"{p}Linkedid": ch.linkedid,
    }


def hangup_fields(ch: Channel, cause: int, with_text: bool) -> Event:
    """HangupRequest (cause only) or Hangup (cause and its text) of a channel."""
    fields = channel_fields(ch)
    fields["Cause"] = str(cause)
    if with_text:
        fields["Cause-txt"] = CAUSE_TEXT[cause]
    return fields


@dataclass(eq=False)
class Device:
    """A member's phone, shared by all its queue memberships (`shared_lastcall = yes`)."""

    agent: AgentConfig
    login_time: int
    status: int = 1  # AST_DEVICE_NOT_INUSE
    calls: int = 0
    last_call: int = 0
    paused: bool = False
    reason: str = ""
    last_pause: int = 0
    in_call_queue: str | None = None  # the membership whose call is up (QueueMember InCall)

    @property
    def available(self) -> bool:
        return self.status == 1 and not self.paused


def member_fields(device: Device, queue: str) -> Event:
    """The member block of QueueMemberStatus, QueueMemberPause and the like."""
    agent = device.agent
    return {
        "Queue": queue,
        "MemberName": agent.name,
        "Interface": agent.interface,
        "StateInterface": agent.interface,
        "Membership": "static",
        "Penalty": "0",
        "CallsTaken": str(device.calls),
        "LastCall": str(device.last_call),
        "LastPause": str(device.last_pause),
        "LoginTime": str(device.login_time),
        "InCall": "1" if device.in_call_queue == queue else "0",
        "Status": str(device.status),
        "Paused": "1" if device.paused else "0",
        "PausedReason": device.reason,
        "Ringinuse": "0",
        "Wrapuptime": "0",
    }


def queue_member_fields(device: Device, queue: str) -> Event:
    """A QueueStatus `QueueMember` entry (app_queue.c manager_queues_status)."""
    agent = device.agent
    return {
        "Event": "QueueMember",
        "Queue": queue,
        "Name": agent.name,
        "Location": agent.interface,
        "StateInterface": agent.interface,
        "Membership": "static",
        "Penalty": "0",
        "CallsTaken": str(device.calls),
        "LastCall": str(device.last_call),
        "LastPause": str(device.last_pause),
        "LoginTime": str(device.login_time),
        "InCall": "1" if device.in_call_queue == queue else "0",
        "Status": str(device.status),
        "Paused": "1" if device.paused else "0",
        "PausedReason": device.reason,
        "Wrapuptime": "0",
    }


def encode(fields: Event) -> bytes:
    """One AMI message on the wire: `Key: Value` lines, CRLF, a blank line at the end."""
    return ("".join(f"{k}: {v}\r\n" for k, v in fields.items()) + "\r\n").encode()
