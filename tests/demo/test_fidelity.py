"""The demo's AMI events and queue_log against what a real Asterisk 16 sent and wrote.

The reference is ../shared/ami-captures: two scenarios recorded from Asterisk 16.28 with real
SIP calls, each with the queue_log written at the same time. A few simulated hours of the demo
(the model and its Asterisk rendering, without the socket) are cut into calls the same way
(tests/demo/sequences.py) and compared call shape by call shape.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from collectors.tracker import USED_EVENTS
from storage.queue_log import fold_calls
from tests.demo.conftest import Run
from tests.demo.sequences import (
    Call,
    Event,
    base_shape,
    base_verbs,
    calls_of,
    capture_events,
    event_fields,
    exact_shape,
    unit_problems,
)

SCENARIOS = ("a_all_answered", "b_mixed")
# The call shapes the real captures hold, as queue_log names them (ring-no-answers folded).
ANSWERED_AGENT = ("ENTERQUEUE", "CONNECT", "COMPLETEAGENT")
ANSWERED_CALLER = ("ENTERQUEUE", "CONNECT", "COMPLETECALLER")
ABANDONED = ("ENTERQUEUE", "ABANDON")
ABANDONED_RINGING = ("ENTERQUEUE", "RINGCANCELED", "ABANDON")
TIMEOUT = ("ENTERQUEUE", "EXITWITHTIMEOUT")
TIMEOUT_RINGING = ("ENTERQUEUE", "RINGNOANSWER", "EXITWITHTIMEOUT")
NO_ANSWER_THEN_ANSWERED = ("ENTERQUEUE", "RINGNOANSWER", "CONNECT", "COMPLETEAGENT")
SHAPES = (ANSWERED_AGENT, ANSWERED_CALLER, ABANDONED, ABANDONED_RINGING, TIMEOUT,
          TIMEOUT_RINGING, NO_ANSWER_THEN_ANSWERED)  # fmt: skip


@pytest.fixture(scope="module")
def real(captures_dir: Path) -> dict[str, Call]:
    calls: dict[str, Call] = {}
    for scenario in SCENARIOS:
        folder = captures_dir / scenario
        queue_log = (folder / "queue_log").read_text().splitlines()
        calls.update(calls_of(capture_events(folder), queue_log))
    return calls


def test_every_real_call_shape_comes_out_of_the_demo_event_for_event(
    real: dict[str, Call], demo: dict[str, Call]
) -> None:
    # Event names in order, which leg hangs up with which cause, AgentComplete's Reason,
    # QUEUESTATUS; ringall losers' hang-ups are checked on their own below.
    real_shapes: dict[tuple[str, ...], set[tuple[str, ...]]] = defaultdict(set)
    for call in real.values():
        real_shapes[call.verbs].add(exact_shape(call))
    assert set(real_shapes) == set(SHAPES)
    seen: Counter[tuple[str, ...]] = Counter()
    for call in demo.values():
        if call.verbs in real_shapes:
            assert exact_shape(call) in real_shapes[call.verbs], (call.verbs, call.shape)
            seen[call.verbs] += 1
    assert set(seen) == set(SHAPES), seen
    assert min(seen.values()) >= 3, seen


def test_every_demo_call_is_a_real_outcome_with_real_ring_cycles(
    real: dict[str, Call], demo: dict[str, Call]
) -> None:
    # Combinations the captures do not hold (ring-no-answer then abandon, a ringall loser on a
    # call the caller ends, ...) still decompose into a recorded outcome plus ring-no-answer
    # cycles (AgentCalled, AgentRingNoAnswer, the leg's Hangup cause 0) and losers' hang-ups.
    outcomes: dict[tuple[str, ...], set[tuple[str, ...]]] = defaultdict(set)
    for call in real.values():
        outcomes[base_verbs(call.verbs)].add(base_shape(call.shape))
    kinds = Counter(base_verbs(call.verbs) for call in demo.values())
    assert set(kinds) == set(outcomes), kinds
    for call in demo.values():
        assert base_shape(call.shape) in outcomes[base_verbs(call.verbs)], call.shape


@pytest.mark.parametrize("side", ["real", "demo"])
def test_units_and_queue_log_agree_with_the_events(
    side: str, real: dict[str, Call], demo: dict[str, Call]
) -> None:
    # The same checks pass on the real PBX's calls: they encode Asterisk's units, not ours.
    calls = real if side == "real" else demo
    problems = [p for call in calls.values() for p in unit_problems(call)]
    assert problems == []


@pytest.mark.parametrize("side", ["real", "demo"])
def test_ringall_losers_hang_up_with_answered_elsewhere(
    side: str, real: dict[str, Call], demo: dict[str, Call]
) -> None:
    calls = real if side == "real" else demo
    losers = 0
    for call in calls.values():
        names = [e["Event"] for e in call.events]
        for i, e in enumerate(call.events):
            if e["Event"] != "Hangup" or e["Cause"] != "26":
                continue
            losers += 1
            rung = {c["DestUniqueid"] for c in call.events[:i] if c["Event"] == "AgentCalled"}
            connect = next(c for c in call.events if c["Event"] == "AgentConnect")
            assert e["Uniqueid"] in rung and e["Uniqueid"] != connect["DestUniqueid"]
            assert e["Cause-txt"] == "Answered elsewhere"
            assert "HangupRequest" not in names[:i], "a loser stops before the call ends"
    assert losers > 0


def test_fields_names_order_and_privilege_are_asterisks(captures_dir: Path, demo_run: Run) -> None:
    reference = event_fields(captures_dir / "EVENT_FIELDS.md")
    events, _ = demo_run
    kinds = Counter(e["Event"] for e in events)
    assert set(kinds) <= USED_EVENTS
    for event in events:
        expected = list(reference[event["Event"]])
        if event["Event"] == "QueueMemberPause" and event["Paused"] == "0":
            expected.remove("Reason")  # app_queue omits an empty Reason; unpause clears it
        assert list(event) == expected, event["Event"]
        assert event["Privilege"] == reference[event["Event"]]["Privilege"]
        assert re.fullmatch(r"[0-9]{10}\.[0-9]{6}", event["Timestamp"])
    stamps = [float(e["Timestamp"]) for e in events]
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)


def _member_transitions(events: list[Event]) -> set[tuple[str, str, str]]:
    """(status before, status after, InCall after) of each queue membership's status events."""
    last: dict[tuple[str, str], str] = {}
    seen: set[tuple[str, str, str]] = set()
    for e in events:
        if e["Event"] != "QueueMemberStatus" or e["Status"] == "5":  # 5: phone unregistered
            continue
        key = (e["Queue"], e["Interface"])
        if key in last:
            seen.add((last[key], e["Status"], e["InCall"]))
        last[key] = e["Status"]
    return seen


def test_member_and_device_states_move_as_on_the_real_pbx(
    captures_dir: Path, demo_run: Run
) -> None:
    real_events = [e for s in SCENARIOS for e in capture_events(captures_dir / s)]
    events, _ = demo_run
    assert _member_transitions(events) <= _member_transitions(real_events)

    def device_states(stream: list[Event]) -> set[tuple[str, str]]:
        states = set()
        for e in stream:
            if e["Event"] == "DeviceStateChange" and e["State"] != "UNAVAILABLE":
                kind = re.sub(r"[0-9]+$", "N", re.sub(r"Queue:[a-z]+", "Queue:Q", e["Device"]))
                states.add((kind, e["State"]))
        return states

    pauses = {("Queue:Q_pause_PJSIP/N", "INUSE"), ("Queue:Q_pause_PJSIP/N", "NOT_INUSE")}
    real_states = {s for s in device_states(real_events) if not s[0].startswith("PJSIP/caller")}
    assert device_states(events) - pauses == real_states


def test_pauses_as_app_queue_reports_them(demo_run: Run) -> None:
    # No capture holds a pause: EVENT_FIELDS.md (checked above), ASTERISK-NOTES.md and
    # app_queue.c's set_queue_member_pause are the reference: PausedReason and Reason carry
    # the reason, an unpause clears it; queue_log has PAUSEALL (queue NONE) then one PAUSE per
    # queue, with the member name as agent and NONE as callid.
    events, lines = demo_run
    pauses = [e for e in events if e["Event"] == "QueueMemberPause"]
    assert {e["Paused"] for e in pauses} == {"0", "1"}
    for e in pauses:
        if e["Paused"] == "1":
            assert e["PausedReason"] == e["Reason"] != "" and int(e["LastPause"]) > 0
        else:
            assert e["PausedReason"] == "" and "Reason" not in e
    logged = [line.split("|") for line in lines if "PAUSE" in line.split("|")[4]]
    assert {p[4] for p in logged} == {"PAUSEALL", "PAUSE", "UNPAUSEALL", "UNPAUSE"}
    for p in logged:
        assert p[1] == "NONE" and (p[2] == "NONE") == p[4].endswith("ALL") and len(p) == 6
    reasons = Counter(p[5] for p in logged if p[4] == "PAUSE")
    assert reasons and all(reasons)


def test_queue_log_folds_cleanly_into_the_calls(demo_run: Run, demo: dict[str, Call]) -> None:
    _, lines = demo_run
    parsed = fold_calls(lines, pbx="demo")
    assert parsed.bad_lines == [] and parsed.orphan_lines == parsed.late_lines == 0
    assert parsed.unknown_verbs == Counter() and parsed.open_calls == 0
    assert {c.call_id for c in parsed.calls} == set(demo)
    assert lines[0].endswith("|NONE|NONE|NONE|QUEUESTART|")
    epochs = [int(line.split("|")[0]) for line in lines]
    assert epochs == sorted(epochs)
