"""Answers to the status actions, framed as Asterisk 16's manager.c frames them.

An event list is `Response: Success`, `EventList: start` and a `Message`, then one event per
item carrying the ActionID, then a `...Complete` event with `EventList: Complete` and
`ListItems: N` (astman_send_listack / astman_send_list_complete_start; the recorded
../shared/ami-captures/*/initial_actions.ami show it byte for byte). The field lists are those
of app_queue.c, manager.c and res_pjsip of the 16 branch.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping

from demo.asterisk import AsteriskPbx, QueueState
from demo.channels import UNKNOWN, Event, encode, queue_member_fields

AMI_VERSION = "5.0.4"
ASTERISK_VERSION = "16.28.0 (Callboard demo PBX)"
_DEVICE_TEXT = {1: "Not in use", 2: "In use", 6: "Ringing"}

Action = Mapping[str, str]  # an action's headers, names lower-cased


def response(action: Action, status: str, message: str | None, **extra: str) -> bytes:
    """A plain response: Response, ActionID (when the action had one), Message, extras."""
    fields = {"Response": status, **_action_id(action)}
    if message is not None:
        fields["Message"] = message
    fields.update(extra)
    return encode(fields)


def event_list(
    action: Action, message: str, complete: str, items: Iterable[Event], id_first: bool = False
) -> bytes:
    """A whole event list as one write, so no pushed event lands inside it."""
    action_id = _action_id(action)
    head = {"Response": "Success", **action_id, "EventList": "start", "Message": message}
    parts, count = [encode(head)], 0
    for item in items:
        fields = (
            {"Event": item["Event"], **action_id, **item} if id_first else {**item, **action_id}
        )
        parts.append(encode(fields))
        count += 1
    tail = {"Event": complete, **action_id, "EventList": "Complete", "ListItems": str(count)}
    parts.append(encode(tail))
    return b"".join(parts)


def queue_status(pbx: AsteriskPbx, action: Action, now: float) -> bytes:
    """QueueStatus: QueueParams, then its QueueMember and QueueEntry events, per queue."""
    wanted, member = action.get("queue", ""), action.get("member", "")
    items: list[Event] = []
    for name, q in pbx.queues.items():
        if wanted and wanted.lower() != name.lower():
            continue
        items.append(_params(q))
        for device in pbx.devices:
            agent = device.agent
            if name in agent.queues and member in ("", agent.interface, agent.name):
                items.append(queue_member_fields(device, name))
        items.extend(_entries(pbx, q, now))
    return event_list(action, "Queue status will follow", "QueueStatusComplete", items)


def _params(q: QueueState) -> Event:
    done = q.completed + q.abandoned
    sl = 100.0 * q.completed_in_sl / q.completed if q.completed else 0.0
    sl2 = 100.0 * (q.completed_in_sl + q.abandoned_in_sl) / done if done else 0.0
    c = q.config
    return {"Event": "QueueParams", "Queue": c.name, "Max": "0", "Strategy": c.strategy,
            "Calls": str(len(q.waiting)), "Holdtime": str(q.holdtime),
            "TalkTime": str(q.talktime), "Completed": str(q.completed),
            "Abandoned": str(q.abandoned), "ServiceLevel": str(c.service_level_s),
            "ServicelevelPerf": f"{sl:.1f}", "ServicelevelPerf2": f"{sl2:.1f}",
            "Weight": "0"}  # fmt: skip


def _entries(pbx: AsteriskPbx, q: QueueState, now: float) -> Iterable[Event]:
    for pos, number in enumerate(q.waiting, 1):
        caller = pbx.callers[number]
        chan = caller.chan
        yield {"Event": "QueueEntry", "Queue": q.config.name, "Position": str(pos),
               "Channel": chan.name, "Uniqueid": chan.uniqueid, "CallerIDNum": chan.num,
               "CallerIDName": chan.cid_name,
               "ConnectedLineNum": _known(chan.connected_num),
               "ConnectedLineName": _known(chan.connected_name),
               "Wait": str(int(now) - int(caller.entered)), "Priority": "0"}  # fmt: skip


def queue_summary(pbx: AsteriskPbx, action: Action, now: float) -> bytes:
    wanted = action.get("queue", "")
    items: list[Event] = []
    for name, q in pbx.queues.items():
        if wanted and wanted.lower() != name.lower():
            continue
        members = [d for d in pbx.devices if name in d.agent.queues]
        longest = max((int(now) - int(pbx.callers[n].entered) for n in q.waiting), default=0)
        items.append({"Event": "QueueSummary", "Queue": name, "LoggedIn": str(len(members)),
                      "Available": str(sum(d.available for d in members)),
                      "Callers": str(len(q.waiting)), "HoldTime": str(q.holdtime),
                      "TalkTime": str(q.talktime), "LongestHoldTime": str(longest)})  # fmt: skip
    return event_list(action, "Queue summary will follow", "QueueSummaryComplete", items)


def core_settings(action: Action) -> bytes:
    return encode({"Response": "Success", **_action_id(action), "AMIversion": AMI_VERSION,
                   "AsteriskVersion": ASTERISK_VERSION, "SystemName": "",
                   "CoreMaxCalls": "0", "CoreMaxLoadAvg": "0.000000",
                   "CoreRunUser": "asterisk", "CoreRunGroup": "asterisk",
                   "CoreMaxFilehandles": "0", "CoreRealTimeEnabled": "No",
                   "CoreCDRenabled": "No", "CoreHTTPenabled": "No"})  # fmt: skip


def core_status(pbx: AsteriskPbx, action: Action) -> bytes:
    booted = time.localtime(pbx.booted_at)
    date, clock = time.strftime("%Y-%m-%d", booted), time.strftime("%H:%M:%S", booted)
    channels = sum(1 + len(c.legs) + (c.leg is not None) for c in pbx.callers.values())
    return encode({"Response": "Success", **_action_id(action), "CoreStartupDate": date,
                   "CoreStartupTime": clock, "CoreReloadDate": date, "CoreReloadTime": clock,
                   "CoreCurrentCalls": str(channels)})  # fmt: skip


def core_show_channels(pbx: AsteriskPbx, action: Action) -> bytes:
    """The channels up now (callers, the agent legs ringing or bridged), as CoreShowChannel
    events; the collector reads their Uniqueids after a gap."""
    items: list[Event] = []
    for c in pbx.callers.values():
        legs = [c.chan, *(leg for leg, _ in c.legs.values())] + ([c.leg] if c.leg else [])
        for chan in legs:
            items.append({"Event": "CoreShowChannel", "Channel": chan.name,
                          "Uniqueid": chan.uniqueid, "Linkedid": chan.linkedid,
                          "Context": chan.context, "Extension": chan.exten,
                          "Priority": chan.priority, "ChannelState": str(chan.state),
                          "CallerIDNum": chan.num, "Application": "Queue"})  # fmt: skip
    message = "Channels will follow"
    return event_list(action, message, "CoreShowChannelsComplete", items)


def pjsip_endpoints(pbx: AsteriskPbx, action: Action) -> bytes:
    items: list[Event] = []
    for d in pbx.devices:
        ext = d.agent.extension
        items.append({"Event": "EndpointList", "ObjectType": "endpoint", "ObjectName": ext,
                      "Transport": "transport-udp", "Aor": ext, "Auths": "",
                      "OutboundAuths": "", "Contacts": f"{ext}/{_uri(ext)},",
                      "DeviceState": _DEVICE_TEXT[d.status], "ActiveChannels": ""})  # fmt: skip
    items.append({"Event": "EndpointList", "ObjectType": "endpoint", "ObjectName": "pstn",
                  "Transport": "transport-udp", "Aor": "", "Auths": "", "OutboundAuths": "",
                  "DeviceState": "Unavailable", "ActiveChannels": ""})  # fmt: skip
    message = "A listing of Endpoints follows, presented as EndpointList events"
    return event_list(action, message, "EndpointListComplete", items, id_first=True)


def pjsip_contacts(pbx: AsteriskPbx, action: Action) -> bytes:
    items: list[Event] = []
    for d in pbx.devices:
        ext = d.agent.extension
        items.append({"Event": "ContactList", "ObjectType": "contact",
                      "ObjectName": f"{ext};@{ext}", "ViaAddr": "127.0.0.1",
                      "ViaPort": _port(ext), "QualifyTimeout": "3.000000", "CallId": "",
                      "RegServer": "", "PruneOnBoot": "false", "Path": "", "Endpoint": ext,
                      "AuthenticateQualify": "false", "Uri": _uri(ext),
                      "QualifyFrequency": "0", "UserAgent": f"demo-phone-{ext}",
                      "ExpirationTime": str(int(pbx.booted_at) + 3600), "OutboundProxy": "",
                      "Status": "NonQualified", "RoundtripUsec": "N/A"})  # fmt: skip
    message = "A listing of Contacts follows, presented as ContactList events"
    return event_list(action, message, "ContactListComplete", items, id_first=True)


def _uri(ext: str) -> str:
    return f"sip:{ext}@127.0.0.1:{_port(ext)}"


def _port(ext: str) -> str:
    return str(5060 + int(ext) % 1000)


def _known(value: str) -> str:
    # QueueEntry prints "unknown" (no brackets) for an absent caller or connected line.
    return "unknown" if value == UNKNOWN else value


def _action_id(action: Action) -> dict[str, str]:
    action_id = action.get("actionid", "")
    return {"ActionID": action_id} if action_id else {}
