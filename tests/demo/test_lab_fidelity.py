"""The demo's call shapes against a live Asterisk 16 (tests/lab), shape by shape.

test_fidelity.py compares the demo with two recorded captures; this test records, in the lab,
one call of each shape the demo makes (answered and ended by the agent, abandoned, timed
out, a ring-no-answer then answered) and an agent's pause with a reason and unpause, through
a test's own AMI session, and checks that the demo run (tests/demo/conftest.py) holds the same
per-call sequence, cut and normalised by the same functions (tests/demo/sequences.py).
"""

from __future__ import annotations

import asyncio
import difflib
from collections.abc import Sequence

import pytest

from collectors.tracker import USED_EVENTS
from tests.collectors.lab_helpers import finish
from tests.demo.conftest import Run
from tests.demo.sequences import Call, Event, calls_of, exact_shape, fold_repeats
from tests.lab.ami import LabAmi
from tests.lab.asterisk import AsteriskLab

pytestmark = pytest.mark.asterisk

# queue_log verbs (repeats folded) of each call shape the lab plays, as test_fidelity names them
SHAPES = {
    "answered, agent hangs up": ("ENTERQUEUE", "CONNECT", "COMPLETEAGENT"),
    "abandoned": ("ENTERQUEUE", "ABANDON"),
    "timeout": ("ENTERQUEUE", "EXITWITHTIMEOUT"),
    "ring-no-answer then answered": ("ENTERQUEUE", "RINGNOANSWER", "CONNECT", "COMPLETEAGENT"),
}


def pause_shape(events: Sequence[Event], paused: str, devices: bool) -> tuple[str, ...]:
    """The events of the first (un)pause in `events`: its QueueMemberPause, one per queue, with
    its Privilege and field names in order, and, with `devices`, the member's
    `Queue:<queue>_pause_<interface>` device state; repeats folded (the number of queues is
    the agent's). `Queue:<queue>_avail` is left out: it moves only when no other member of the
    queue is available, which depends on the others, not on the pause."""
    start = next(
        i
        for i, e in enumerate(events)
        if e["Event"] == "QueueMemberPause" and e["Paused"] == paused
    )
    interface = events[start]["Interface"]
    tokens = []
    for e in events[start:]:
        if e["Event"] == "QueueMemberPause" and e["Paused"] != paused:
            break
        if e["Event"] == "QueueMemberPause" and e["Interface"] == interface:
            reason = "reason" if e.get("Reason") else "no Reason"
            names = ",".join(k for k in e if k != "content")  # panoramisk's raw text
            tokens.append(f"QueueMemberPause(Paused={e['Paused']},{reason},{e['Privilege']})")
            tokens.append(f"  fields: {names}")
        elif e["Event"] == "DeviceStateChange" and e["Device"].endswith(f"_pause_{interface}"):
            if devices:
                tokens.append(f"DeviceStateChange(pause,{e['State']})")
        elif not (e["Event"] == "DeviceStateChange" and e["Device"].endswith("_avail")):
            break
    return fold_repeats(tokens)


def pause_verbs(lines: Sequence[str], paused: bool) -> tuple[str, ...]:
    """queue_log's (UN)PAUSE* verbs, with whether the line has the queue NONE, repeats folded."""
    verbs = ("PAUSEALL", "PAUSE") if paused else ("UNPAUSEALL", "UNPAUSE")
    parts = [line.split("|") for line in lines]
    return fold_repeats([f"{p[4]}({p[2] == 'NONE'})" for p in parts if p[4] in verbs])


def hangups_unordered(seq: tuple[str, ...]) -> tuple[str, ...]:
    """Both legs' Hangup events in a row come in either order on a real Asterisk (the
    captures hold both), and so does an AgentComplete next to them (the queue's bridge
    publishes it while the agent leg hangs up: seen both before and after that leg's Hangup
    in the lab); the demo uses one order. Sort such runs before comparing."""
    out: list[str] = []
    run: list[str] = []
    for token in (*seq, ""):
        if token.startswith(("Hangup(", "AgentComplete(")):
            run.append(token)
            continue
        out += sorted(run)
        run = []
        if token:
            out.append(token)
    return tuple(out)


def differences(name: str, live: tuple[str, ...], demo: set[tuple[str, ...]]) -> list[str]:
    """Nothing when the demo has the live sequence; else a diff against each demo sequence."""
    if hangups_unordered(live) in {hangups_unordered(seq) for seq in demo}:
        return []
    if not demo:
        return [f"{name}: the demo never makes this shape; live: {live}"]
    out = [f"{name}: live sequence not among the demo's {len(demo)}:"]
    for seq in sorted(demo):
        out += difflib.unified_diff(seq, live, "demo", "live", lineterm="", n=99)
    return out


def raced(events: Sequence[Event]) -> bool:
    """Asterisk 16 sometimes publishes AgentComplete after both legs are gone, with no channel
    fields at all (tests/collectors/test_outcomes_lab.py): that call's events cannot be
    tied to it, so its shape is not comparable."""
    return any(e.get("Event") == "AgentComplete" and not e.get("Uniqueid") for e in events)


async def answered_call(lab: AsteriskLab, ami: LabAmi, exten: str, prefix: str) -> None:
    """An answered call; placed again (at most 3 times) when the AgentComplete race hit."""
    for attempt in range(3):
        seen = len(ami.events)
        await finish(lab.call(exten, f"{prefix}{attempt}"))
        await asyncio.sleep(0.5)  # its AgentComplete, however late
        if not raced(ami.events[seen:]):
            return


async def record(lab: AsteriskLab) -> Run:
    """One call of each shape and a pause, live; the USED_EVENTS events and queue_log."""
    async with LabAmi(lab) as ami:
        # Nobody logged in: one caller hangs up after 1.5 s, one times out (610: 6 s).
        await finish(lab.call("600", "75001", hangup_after_s=1.5), lab.call("610", "75002"))
        # Alice alone answers support after 0.5 s and hangs up after 1 s.
        await asyncio.to_thread(lab.start_agent, "1001", answer_after_s=0.5, talk_s=1)
        await answered_call(lab, ami, "600", "7510")
        # Queue rna (linear, 2 s member timeout): Carol never answers, then Alice does.
        await asyncio.to_thread(lab.start_agent, "1003", never_answer=True)
        await answered_call(lab, ami, "620", "7520")
        # A supervisor pauses Alice in all her queues (no Queue) with a reason, then unpauses.
        pause = {"Action": "QueuePause", "Interface": "PJSIP/1001"}
        await ami.action({**pause, "Paused": "true", "Reason": "Lunch"})
        await asyncio.sleep(0.5)  # the pause's device states, before the unpause
        await ami.action({**pause, "Paused": "false"})
        unpaused = lambda e: e.get("Event") == "QueueMemberPause" and e.get("Paused") == "0"  # noqa: E731
        await ami.wait_event(unpaused, what="the unpause")
        await asyncio.sleep(0.5)  # the last device states and agent-leg hang-ups
        events = [e for e in ami.events if e.get("Event") in USED_EVENTS]
    return events, lab.queue_log_lines()


async def test_live_shapes_are_the_demos(asterisk_lab: AsteriskLab, demo_run: Run) -> None:
    events, lines = await record(asterisk_lab)
    live = calls_of(events, lines)
    demo = calls_of(*demo_run)
    problems: list[str] = []
    by_verbs: dict[tuple[str, ...], list[Call]] = {}
    for call in live.values():
        by_verbs.setdefault(call.verbs, []).append(call)
    for name, verbs in SHAPES.items():
        complete = any(v.startswith("COMPLETE") for v in verbs)
        calls = [
            c
            for c in by_verbs.get(verbs, [])
            if not (complete and not any(e["Event"] == "AgentComplete" for e in c.events))
        ]
        if len(calls) != 1:
            problems.append(f"{name}: {len(calls)} live calls; live verbs: {list(by_verbs)}")
            continue
        demo_shapes = {exact_shape(c) for c in demo.values() if c.verbs == verbs}
        problems += differences(name, exact_shape(calls[0]), demo_shapes)
    demo_events, demo_lines = demo_run
    # The lab loads no res_manager_devicestate (tests/asterisk/modules.conf): no
    # DeviceStateChange at all, so the pause's device states are compared only if it sends any.
    devices = any(e["Event"] == "DeviceStateChange" for e in events)
    for paused in ("1", "0"):
        name = "pause with a reason" if paused == "1" else "unpause"
        live_pause = pause_shape(events, paused, devices)
        demo_pause = pause_shape(demo_events, paused, devices)
        problems += differences(f"{name} (events)", live_pause, {demo_pause})
        problems += differences(
            f"{name} (queue_log)",
            pause_verbs(lines, paused == "1"),
            {pause_verbs(demo_lines, paused == "1")},
        )
    assert problems == [], "\n".join(problems)
