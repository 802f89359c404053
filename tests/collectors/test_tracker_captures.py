"""The tracker on AMI streams recorded from a real Asterisk 16, call by call against the
queue_log that Asterisk wrote at the same time (../shared/ami-captures)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from collectors.rows import QueueCall, RingAttempt, WaitingCaller
from storage.queue_log import fold_calls
from tests.replay import replay

# queue_log times are whole epoch seconds, so its waits and talks can be off by one second;
# its instants are truncated (up to 1 s early) and the AMI event follows the line by some ms.
TOLERANCE_S = 1.0
INSTANT_TOLERANCE_S = 1.1


def ami_and_queue_log(
    folder: Path,
) -> tuple[dict[str, QueueCall], dict[str, QueueCall], list[RingAttempt]]:
    rows, tracker = replay(folder)
    ami = {r.call_id: r for r in rows if isinstance(r, QueueCall)}
    attempts = [r for r in rows if isinstance(r, RingAttempt)]
    qlog = {
        c.call_id: c
        for c in fold_calls((folder / "queue_log").read_text().splitlines(), pbx="lab").calls
    }
    assert tracker.unmatched == 0 and tracker.waiting() == []
    return ami, qlog, attempts


@pytest.mark.parametrize("scenario", ["a_all_answered", "b_mixed"])
def test_every_call_agrees_with_queue_log(captures: Path, scenario: str) -> None:
    ami, qlog, attempts = ami_and_queue_log(captures / scenario)
    assert sorted(ami) == sorted(qlog) and len(ami) == 20
    for call_id, a in ami.items():
        q = qlog[call_id]
        where = f"{scenario} call {call_id}"
        assert (a.queue, a.outcome, a.agent, a.ended_by) == (
            q.queue,
            q.outcome,
            q.agent,
            q.ended_by,
        ), where
        # queue_log does not log the ringall members who lost the race to answer.
        lost_race = sum(
            1 for r in attempts if r.call_id == call_id and r.result == "other_answered"
        )
        assert (a.caller_num, a.position, a.ring_attempts - lost_race) == (
            q.caller_num,
            q.position,
            q.ring_attempts,
        ), where
        # The position when an unanswered caller left: QueueCallerAbandon / QueueCallerLeave
        # against ABANDON, EXITWITHTIMEOUT, EXITEMPTY, EXITWITHKEY.
        assert a.left_position == q.left_position, where
        assert (a.left_position is None) == (a.outcome == "answered"), where
        assert a.wait_s is not None and q.wait_s is not None
        assert abs(a.wait_s - q.wait_s) <= TOLERANCE_S, where
        lag = a.entered_at.timestamp() - q.entered_at.timestamp()
        assert abs(lag) <= INSTANT_TOLERANCE_S, where
        if a.outcome == "answered":
            assert a.talk_s is not None and q.talk_s is not None
            assert abs(a.talk_s - q.talk_s) <= TOLERANCE_S, where
        assert a.source == "ami" and not a.gap


def test_mixed_scenario_outcomes(captures: Path) -> None:
    ami, _, _ = ami_and_queue_log(captures / "b_mixed")
    outcomes = Counter((c.outcome, c.ended_by) for c in ami.values())
    # summary.json: 12 COMPLETEAGENT, 2 COMPLETECALLER, 3 ABANDON, 3 EXITWITHTIMEOUT.
    assert outcomes == {
        ("answered", "agent"): 12,
        ("answered", "caller"): 2,
        ("abandoned", None): 3,
        ("timeout", None): 3,
    }


def test_first_abandon_worked_by_hand(captures: Path) -> None:
    # queue_log: ENTERQUEUE 72004 pos 1 at ...962, RINGCANCELED 3035 ms, ABANDON|1|1|3.
    # AMI: Join at 1795693962.506884, HangupRequest cause 127, Abandon at 1795693965.542986.
    ami, _, _ = ami_and_queue_log(captures / "b_mixed")
    c = ami["1795693962.48"]
    assert (c.outcome, c.caller_num, c.position, c.ring_attempts) == ("abandoned", "72004", 1, 1)
    assert c.wait_s == pytest.approx(1795693965.542986 - 1795693962.506884, abs=1e-6)
    assert c.answered_at is None and c.agent is None and c.talk_s is None


def test_ring_attempts_and_waiting_rows(captures: Path) -> None:
    rows, _ = replay(captures / "b_mixed")
    attempts = Counter(r.result for r in rows if isinstance(r, RingAttempt))
    # 25 AgentCalled: 14 answered, 9 AgentRingNoAnswer, 2 cut by the caller leaving.
    assert attempts == {"answered": 14, "noanswer": 9, "canceled": 2}
    waiting = [r for r in rows if isinstance(r, WaitingCaller)]
    assert sum(r.present for r in waiting) == 20 and sum(not r.present for r in waiting) == 20
