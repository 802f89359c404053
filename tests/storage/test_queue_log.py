"""storage/queue_log.py: small hand-worked logs, then the two real Asterisk 16.28 captures.

Every small log starts at epoch 1700000000, which is 2023-11-14 22:13:20 UTC; `at(n)` is that
time plus n seconds. Expected rows are written out in full, field by field.
"""

from __future__ import annotations

import gc
import json
import re
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from collectors.rows import QueueCall, RingAttempt
from storage.queue_log import (
    QueueLogLineError,
    QueueLogParse,
    QueueLogRecord,
    fold_calls,
    parse_line,
)

PBX = "pbx1"
T0 = datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)  # epoch 1700000000


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def fold(*lines: str) -> QueueLogParse:
    return fold_calls(list(lines), PBX)


def queue_call(**fields: Any) -> QueueCall:
    """A QueueCall of call 1700000000.1 in queue support, with the fields that never vary here."""
    fixed: dict[str, Any] = {
        "pbx": PBX, "queue": "support", "call_id": "1700000000.1", "linkedid": "1700000000.1",
        "caller_name": None, "interface": None, "source": "queue_log",
    }  # fmt: skip
    return QueueCall(**(fixed | fields))


def ring(**fields: Any) -> RingAttempt:
    fixed: dict[str, Any] = {
        "pbx": PBX, "queue": "support", "call_id": "1700000000.1", "interface": "",
        "source": "queue_log",
    }  # fmt: skip
    return RingAttempt(**(fixed | fields))


def assert_clean(result: QueueLogParse) -> None:
    assert result.bad_lines == []
    assert (result.open_calls, result.orphan_lines, result.late_lines) == (0, 0, 0)
    assert (result.unfinished_calls, result.unknown_verbs) == (0, Counter())


ENTER = "1700000000|1700000000.1|support|NONE|ENTERQUEUE||5551234|1"


# --- parse_line -------------------------------------------------------------------------------


def test_parse_line_reads_every_field() -> None:
    record = parse_line("1700000004|1700000000.1|support|Alice|CONNECT|4|1700000002.2|2\n")
    assert record == QueueLogRecord(
        time=datetime(2023, 11, 14, 22, 13, 24, tzinfo=UTC),
        callid="1700000000.1",
        queue="support",
        agent="Alice",
        verb="CONNECT",
        data=("4", "1700000002.2", "2"),
    )


def test_parse_line_keeps_utf8_names_crlf_and_empty_data() -> None:
    record = parse_line("1700000000|NONE|ventes-été|José Müller|PAUSE|Pause café\r\n")
    assert record is not None
    assert (record.queue, record.agent) == ("ventes-été", "José Müller")
    assert record.data == ("Pause café",)
    start = parse_line("1700000000|NONE|NONE|NONE|QUEUESTART|")
    assert start is not None and start.data == ("",)
    bare = parse_line("1700000000|1700000000.1|support|Bob|AGENTDUMP")  # no data at all
    assert bare is not None and bare.data == ()


@pytest.mark.parametrize("line", ["", "\n", "\r\n", "   \n"])
def test_parse_line_returns_none_for_blank_lines(line: str) -> None:
    assert parse_line(line) is None


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("17000000x0|1.1|support|NONE|ENTERQUEUE||1|1", "epoch '17000000x0' is not a Unix time"),
        ("-5|1.1|support|NONE|ENTERQUEUE||1|1", "epoch '-5' is before 1970"),
        ("99999999999999999999|1.1|q|NONE|ENTERQUEUE||1|1", "epoch '99999999999999999999' is out"),
        ("|1.1|support|NONE|ENTERQUEUE||1|1", "epoch '' is not a Unix time"),
        ("1700000000|1700000000.1|support", "3 field(s) where a queue_log line has at least 5"),
        ("17000", "1 field(s) where a queue_log line has at least 5"),
        ("1700000000|1700000000.1|support|NONE||x", "the verb (fifth field) is empty"),
    ],
)
def test_parse_line_says_what_is_wrong(line: str, message: str) -> None:
    with pytest.raises(QueueLogLineError, match="^" + re.escape(message)):
        parse_line(line)


def test_parse_line_accepts_fractional_epochs_written_by_log_tools() -> None:
    record = parse_line("1700000000.5|NONE|NONE|NONE|QUEUESTART|")
    assert record is not None and record.time == at(0.5)


# --- fold_calls: one call per outcome ---------------------------------------------------------


def test_answered_and_released_by_the_agent() -> None:
    result = fold(
        ENTER,
        "1700000004|1700000000.1|support|Alice|CONNECT|4|1700000002.2|2",
        "1700000064|1700000000.1|support|Alice|COMPLETEAGENT|4|60|1",
    )
    assert result.calls == [
        queue_call(
            caller_num="5551234", entered_at=datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC),
            position=1, outcome="answered", wait_s=4.0,
            answered_at=datetime(2023, 11, 14, 22, 13, 24, tzinfo=UTC), agent="Alice",
            talk_s=60.0, ended_by="agent",
            ended_at=datetime(2023, 11, 14, 22, 14, 24, tzinfo=UTC), ring_attempts=1, gap=False,
        )
    ]  # fmt: skip
    # CONNECT's ringtime is in seconds: rung from 22:13:22 to the answer at 22:13:24.
    assert result.ring_attempts == [
        ring(agent="Alice", started_at=datetime(2023, 11, 14, 22, 13, 22, tzinfo=UTC),
             ring_s=2.0, result="answered"),
    ]  # fmt: skip
    assert result.lines == 3
    assert_clean(result)


def test_answered_and_the_caller_hangs_up_first() -> None:
    result = fold(
        ENTER,
        "1700000003|1700000000.1|support|Bob|CONNECT|3|1700000001.2|1",
        "1700000033|1700000000.1|support|Bob|COMPLETECALLER|3|30|1",
    )
    assert result.calls == [
        queue_call(
            caller_num="5551234", entered_at=at(0), position=1, outcome="answered", wait_s=3.0,
            answered_at=at(3), agent="Bob", talk_s=30.0, ended_by="caller", ended_at=at(33),
            ring_attempts=1,
        )
    ]  # fmt: skip
    assert result.ring_attempts == [
        ring(agent="Bob", started_at=at(2), ring_s=1.0, result="answered")
    ]
    assert_clean(result)


def test_abandoned_while_a_member_rings() -> None:
    # As in the b_mixed capture: RINGCANCELED (milliseconds) just before the ABANDON.
    result = fold(
        "1700000000|1700000000.1|support|NONE|ENTERQUEUE||5551234|2",
        "1700000003|1700000000.1|support|Bob|RINGCANCELED|3035",
        "1700000003|1700000000.1|support|NONE|ABANDON|1|2|3",
    )
    assert result.calls == [
        queue_call(
            caller_num="5551234", entered_at=at(0), position=2, outcome="abandoned", wait_s=3.0,
            answered_at=None, agent=None, talk_s=None, ended_by=None, ended_at=at(3),
            left_position=1, ring_attempts=1,
        )
    ]  # fmt: skip
    # 3.035 s before 22:13:23 is 22:13:19.965.
    assert result.ring_attempts == [
        ring(agent="Bob", started_at=datetime(2023, 11, 14, 22, 13, 19, 965000, tzinfo=UTC),
             ring_s=3.035, result="canceled"),
    ]  # fmt: skip
    assert_clean(result)


def test_timeout() -> None:
    result = fold(
        ENTER,
        "1700000015|1700000000.1|support|Bob|RINGNOANSWER|5000",
        "1700000015|1700000000.1|support|NONE|EXITWITHTIMEOUT|1|1|15",
    )
    assert result.calls == [
        queue_call(
            caller_num="5551234", entered_at=at(0), position=1, outcome="timeout", wait_s=15.0,
            answered_at=None, agent=None, talk_s=None, ended_by=None, ended_at=at(15),
            left_position=1, ring_attempts=1,
        )
    ]  # fmt: skip
    assert result.ring_attempts == [
        ring(agent="Bob", started_at=at(10), ring_s=5.0, result="noanswer")
    ]
    assert_clean(result)


def test_exit_empty() -> None:
    result = fold(ENTER, "1700000007|1700000000.1|support|NONE|EXITEMPTY|1|1|7")
    assert result.calls == [
        queue_call(
            caller_num="5551234", entered_at=at(0), position=1, outcome="exitempty", wait_s=7.0,
            answered_at=None, agent=None, talk_s=None, ended_by=None, ended_at=at(7),
            left_position=1, ring_attempts=0,
        )
    ]  # fmt: skip
    assert result.ring_attempts == []
    assert_clean(result)


def test_exit_with_key() -> None:
    # key|position|origposition|waittime: the waittime is the fourth field here.
    result = fold(ENTER, "1700000009|1700000000.1|support|NONE|EXITWITHKEY|5|1|1|9")
    assert result.calls == [
        queue_call(
            caller_num="5551234", entered_at=at(0), position=1, outcome="exitwithkey",
            wait_s=9.0, answered_at=None, agent=None, talk_s=None, ended_by=None,
            ended_at=at(9), left_position=1, ring_attempts=0,
        )
    ]  # fmt: skip
    assert_clean(result)


def test_rings_not_answered_then_answered() -> None:
    result = fold(
        ENTER,
        "1700000008|1700000000.1|support|Bob|RINGNOANSWER|8000",
        "1700000018|1700000000.1|support|Carol|RINGNOANSWER|8000",
        "1700000021|1700000000.1|support|Alice|CONNECT|21|1700000020.5|1",
        "1700000041|1700000000.1|support|Alice|COMPLETEAGENT|21|20|1",
    )
    assert result.calls == [
        queue_call(
            caller_num="5551234", entered_at=at(0), position=1, outcome="answered", wait_s=21.0,
            answered_at=at(21), agent="Alice", talk_s=20.0, ended_by="agent", ended_at=at(41),
            ring_attempts=3,
        )
    ]  # fmt: skip
    assert result.ring_attempts == [
        ring(agent="Bob", started_at=at(0), ring_s=8.0, result="noanswer"),
        ring(agent="Carol", started_at=at(10), ring_s=8.0, result="noanswer"),
        ring(agent="Alice", started_at=at(20), ring_s=1.0, result="answered"),
    ]
    assert_clean(result)


def test_blind_transfer_ends_the_stay() -> None:
    result = fold(
        ENTER,
        "1700000003|1700000000.1|support|Alice|CONNECT|3|1700000001.2|2",
        "1700000048|1700000000.1|support|Alice|BLINDTRANSFER|200|from-internal|3|45|1",
    )
    assert result.calls == [
        queue_call(
            caller_num="5551234", entered_at=at(0), position=1, outcome="answered", wait_s=3.0,
            answered_at=at(3), agent="Alice", talk_s=45.0, ended_by="transfer", ended_at=at(48),
            ring_attempts=1,
        )
    ]  # fmt: skip
    assert_clean(result)


@pytest.mark.parametrize(
    "method_fields",
    ["BRIDGE|4b5f6a1e-0000-4c2b-9d1a-1a2b3c4d5e6f", "APP|VoiceMail", "LINK|Local/200@a-1;1|SIP/b"],
)
def test_attended_transfer_times_come_last_whatever_the_method(method_fields: str) -> None:
    result = fold(
        ENTER,
        "1700000003|1700000000.1|support|Alice|CONNECT|3|1700000001.2|2",
        f"1700000048|1700000000.1|support|Alice|ATTENDEDTRANSFER|{method_fields}|3|45|1",
    )
    assert [(c.outcome, c.wait_s, c.talk_s, c.ended_by, c.ended_at) for c in result.calls] == [
        ("answered", 3.0, 45.0, "transfer", at(48))
    ]
    assert_clean(result)


def test_old_transfer_verb_is_read_like_blindtransfer() -> None:
    # Asterisk 1.4-11 wrote TRANSFER|exten|context|holdtime|calltime (later with origposition).
    result = fold(
        ENTER,
        "1700000003|1700000000.1|support|Alice|CONNECT|3|1700000001.2|2",
        "1700000020|1700000000.1|support|Alice|TRANSFER|200|from-internal|3|17",
    )
    assert [(c.talk_s, c.ended_by) for c in result.calls] == [(17.0, "transfer")]
    assert_clean(result)


def test_agent_dump_is_a_ring_attempt_and_the_caller_waits_on() -> None:
    # Bob answers, hangs up during the member announcement (AGENTDUMP, written instead of a
    # CONNECT); the caller stays queued and Alice takes the call.
    result = fold(
        ENTER,
        "1700000005|1700000000.1|support|Bob|AGENTDUMP|",
        "1700000009|1700000000.1|support|Alice|CONNECT|9|1700000007.3|2",
        "1700000039|1700000000.1|support|Alice|COMPLETEAGENT|9|30|1",
    )
    assert result.calls == [
        queue_call(
            caller_num="5551234", entered_at=at(0), position=1, outcome="answered", wait_s=9.0,
            answered_at=at(9), agent="Alice", talk_s=30.0, ended_by="agent", ended_at=at(39),
            ring_attempts=2,
        )
    ]  # fmt: skip
    assert result.ring_attempts == [
        ring(agent="Bob", started_at=at(5), ring_s=None, result="dumped"),
        ring(agent="Alice", started_at=at(7), ring_s=2.0, result="answered"),
    ]
    assert_clean(result)


def test_agent_dump_then_the_caller_gives_up() -> None:
    result = fold(
        ENTER,
        "1700000005|1700000000.1|support|Bob|AGENTDUMP|",
        "1700000012|1700000000.1|support|NONE|ABANDON|1|1|12",
    )
    assert result.calls == [
        queue_call(
            caller_num="5551234", entered_at=at(0), position=1, outcome="abandoned", wait_s=12.0,
            answered_at=None, agent=None, talk_s=None, ended_by=None, ended_at=at(12),
            left_position=1, ring_attempts=1,
        )
    ]  # fmt: skip
    assert [r.result for r in result.ring_attempts] == ["dumped"]
    assert_clean(result)


# --- fold_calls: what is not a plain finished call --------------------------------------------


def test_malformed_lines_are_reported_with_their_number_and_skipped() -> None:
    result = fold(
        "1700000000|1700000000.1|support|NONE|ENTERQUEUE||5551234|1",  # 1
        "17000000x1|1700000000.1|support|Bob|RINGNOANSWER|1000",  # 2: bad epoch
        "",  # 3: empty line, not an error
        "1700000002|1700000000.1|supp",  # 4: cut off
        "1700000004|1700000000.1|support|José Müller|CONNECT|abc|1700000002.2|2",  # 5
        "1700000034|1700000000.1|support|José Müller|COMPLETEAGENT|4|30|1",  # 6
        "1700000035|1700000035.9|support|NONE|ENTERQUEUE||5559999|one",  # 7
    )
    assert result.bad_lines == [
        (2, "epoch '17000000x1' is not a Unix time in seconds"),
        (4, "3 field(s) where a queue_log line has at least 5 (epoch|callid|queue|agent|verb)"),
        (5, "CONNECT holdtime 'abc' is not a number"),
        (7, "ENTERQUEUE position 'one' is not a whole number"),
    ]
    assert result.lines == 7
    # The bad CONNECT is skipped, yet COMPLETEAGENT proves the answer: its holdtime gives the
    # wait and its calltime the answer time (22:13:54 - 30 s). The UTF-8 name comes through.
    assert result.calls == [
        queue_call(
            caller_num="5551234", entered_at=at(0), position=1, outcome="answered", wait_s=4.0,
            answered_at=at(4), agent="José Müller", talk_s=30.0, ended_by="agent",
            ended_at=at(34), ring_attempts=0,
        )
    ]  # fmt: skip
    assert result.open_calls == 0


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("1700000009|1700000000.1|support|NONE|EXITWITHKEY|5|1|1|-9", "'-9' is not a duration"),
        ("1700000009|1700000000.1|support|NONE|ABANDON|1|1|nan", "'nan' is not a duration"),
        ("1700000009|1700000000.1|support|Bob|RINGNOANSWER|8s", "RINGNOANSWER ringtime '8s'"),
        ("1700000009|1700000000.1|support|A|ATTENDEDTRANSFER|3|45|1", "ATTENDEDTRANSFER has 3"),
        ("1700000009||support|NONE|ENTERQUEUE||1|1", "ENTERQUEUE without a callid"),
        # Once an OverflowError out of the fold (a ring time past datetime's range).
        ("1700000009|1700000000.1|support|A|CONNECT|5|x|99999999999", "is not a duration"),
    ],
)
def test_bad_data_fields_are_reported(line: str, reason: str) -> None:
    result = fold(ENTER, line)
    assert len(result.bad_lines) == 1
    number, message = result.bad_lines[0]
    assert number == 2 and reason in message


def test_a_stay_still_open_at_the_end_is_not_written() -> None:
    result = fold(
        ENTER,
        "1700000008|1700000000.1|support|Bob|RINGNOANSWER|8000",
        "1700000011|1700000000.1|support|Alice|CONNECT|11|1700000010.2|1",
    )
    assert (result.calls, result.ring_attempts, result.open_calls) == ([], [], 1)


def test_lines_of_a_call_that_entered_before_the_input_are_orphans() -> None:
    result = fold(
        "1700000004|1699999990.7|support|Alice|CONNECT|14|1699999992.2|2",
        "1700000034|1699999990.7|support|Alice|COMPLETEAGENT|14|30|1",
    )
    assert (result.calls, result.orphan_lines, result.bad_lines) == ([], 2, [])


def test_the_second_abandon_asterisk_writes_is_a_late_line() -> None:
    # A caller who hangs up during the member announcement gets an ABANDON naming the member
    # (try_calling), then another from queue_exec, which has not counted the call as handled.
    result = fold(
        ENTER,
        "1700000006|1700000000.1|support|Alice|ABANDON|1|1|6",
        "1700000006|1700000000.1|support|NONE|ABANDON|1|1|6",
    )
    assert [(c.outcome, c.wait_s, c.agent) for c in result.calls] == [("abandoned", 6.0, None)]
    assert (result.late_lines, result.orphan_lines) == (1, 0)


def test_queuestart_ends_the_stays_an_asterisk_restart_cut_off() -> None:
    result = fold(
        ENTER,
        "1700000004|1700000000.1|support|Alice|CONNECT|4|1700000002.2|2",
        "1700000002|1700000002.3|sales|NONE|ENTERQUEUE||5550002|1",
        "1700000100|NONE|NONE|NONE|QUEUESTART|",
        "1700000200|1700000000.1|support|Alice|COMPLETEAGENT|4|196|1",  # cannot belong to it
    )
    assert result.calls == [
        queue_call(
            caller_num="5551234", entered_at=at(0), position=1, outcome="answered", wait_s=4.0,
            answered_at=at(4), agent="Alice", talk_s=None, ended_by=None, ended_at=None,
            ring_attempts=1, gap=True,
        ),
        queue_call(
            queue="sales", call_id="1700000002.3", linkedid="1700000002.3",
            caller_num="5550002", entered_at=at(2), position=1, outcome="unknown", wait_s=None,
            answered_at=None, agent=None, talk_s=None, ended_by=None, ended_at=None,
            ring_attempts=0, gap=True,
        ),
    ]  # fmt: skip
    assert [r.agent for r in result.ring_attempts] == ["Alice"]
    assert (result.unfinished_calls, result.open_calls, result.late_lines) == (2, 0, 1)


def test_a_new_enterqueue_of_the_same_caller_ends_the_stale_stay() -> None:
    result = fold(
        ENTER,
        "1700000050|1700000000.1|support|NONE|ENTERQUEUE||5551234|1",
        "1700000052|1700000000.1|support|NONE|ABANDON|1|1|2",
    )
    assert [(c.outcome, c.entered_at, c.ended_at, c.gap) for c in result.calls] == [
        ("unknown", at(0), None, True),
        ("abandoned", at(50), at(52), False),
    ]
    assert result.unfinished_calls == 1


def test_member_and_system_lines_are_skipped_and_unknown_verbs_counted() -> None:
    result = fold(
        "1700000000|NONE|NONE|NONE|QUEUESTART|",
        "1700000001|MANAGER|support|PJSIP/1001|ADDMEMBER|",
        "1700000002|NONE|support|Alice|PAUSE|Lunch",
        "1700000002|NONE|NONE|Alice|PAUSEALL|",
        "1700000003|NONE|support|PJSIP/1001|PENALTY|2",
        "1700000004|NONE|NONE|NONE|CONFIGRELOAD|",
        "1700000005|1700000005.1|support|NONE|DID|5550100",
        ENTER.replace("1700000000|", "1700000005|", 1).replace("1700000000.1", "1700000005.1"),
        "1700000009|1700000005.1|support|NONE|EXITWITHKEY|5|1|1|4",
    )
    assert (result.bad_lines, result.orphan_lines, result.late_lines) == ([], 0, 0)
    assert result.unknown_verbs == Counter({"DID": 1})
    assert [(c.call_id, c.outcome, c.wait_s) for c in result.calls] == [
        ("1700000005.1", "exitwithkey", 4.0)
    ]


def test_old_formats_without_position_or_waittime() -> None:
    # Asterisk 1.4 logged ENTERQUEUE|url|callerid and EXITWITHKEY|key|position only: the wait
    # then comes from the line times.
    result = fold(
        "1700000000|1700000000.1|support|NONE|ENTERQUEUE||5551234",
        "1700000006|1700000000.1|support|NONE|EXITWITHKEY|5|1",
    )
    assert [(c.position, c.outcome, c.wait_s, c.caller_num) for c in result.calls] == [
        (None, "exitwithkey", 6.0, "5551234")
    ]
    assert_clean(result)


def test_line_times_out_of_order_far_apart_or_fractional_are_read_exactly() -> None:
    result = fold(
        "1700000100|1700000000.1|support|NONE|ENTERQUEUE||5551234|1",
        "1700000090|1700000000.1|support|Bob|RINGNOANSWER|1000",  # the clock stepped back
        "1700086400|1700000000.1|support|Carol|RINGNOANSWER|1000",  # a day later
        "1700086400.5|1700000000.1|support|Dave|RINGNOANSWER|500",
        "1700086401|1700000000.1|support|NONE|ABANDON|1|1|3",
    )
    assert [(r.agent, r.started_at) for r in result.ring_attempts] == [
        ("Bob", at(89)),
        ("Carol", datetime(2023, 11, 15, 22, 13, 19, tzinfo=UTC)),
        ("Dave", datetime(2023, 11, 15, 22, 13, 20, tzinfo=UTC)),
    ]
    assert [(c.entered_at, c.ended_at) for c in result.calls] == [
        (at(100), datetime(2023, 11, 15, 22, 13, 21, tzinfo=UTC))
    ]
    assert_clean(result)


def test_an_empty_caller_id_is_none() -> None:
    result = fold(
        "1700000000|1700000000.1|support|NONE|ENTERQUEUE|||1",
        "1700000002|1700000000.1|support|NONE|ABANDON|1|1|2",
    )
    assert [c.caller_num for c in result.calls] == [None]


def test_fold_leaves_the_garbage_collector_as_it_found_it() -> None:
    assert gc.isenabled()
    fold(ENTER)
    assert gc.isenabled()
    gc.disable()
    try:
        fold(ENTER)
        assert not gc.isenabled()
    finally:
        gc.enable()


# --- the real captures (Asterisk 16.28): the `captures` fixture is <repo>/../shared/ami-captures


def capture(captures: Path, name: str) -> tuple[QueueLogParse, dict[str, Any], dict[str, Any]]:
    folder = captures / name
    with (folder / "queue_log").open(encoding="utf-8") as lines:
        result = fold_calls(lines, PBX)
    scenario = json.loads((folder / "scenario.json").read_text(encoding="utf-8"))
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    return result, scenario, summary


# summary.json's per-call queue_log outcome, as (outcome, ended_by).
SUMMARY_OUTCOMES = {
    "answered/agent_hangup": ("answered", "agent"),
    "answered/caller_hangup": ("answered", "caller"),
    "abandon": ("abandoned", None),
    "timeout": ("timeout", None),
}


def test_capture_a_all_answered(captures: Path) -> None:
    result, scenario, summary = capture(captures, "a_all_answered")
    assert_clean(result)
    assert result.lines == 60
    assert len(result.calls) == scenario["n_calls"] == 20
    assert {c.outcome for c in result.calls} == {"answered"}
    ended_by = Counter(c.ended_by for c in result.calls)
    assert ended_by == Counter({"agent": 15, "caller": 5})
    assert summary["outcomes_queue_log"] == {
        "answered/agent_hangup": 15, "answered/caller_hangup": 5,
    }  # fmt: skip
    # The five callers the driver made hang up first are the five COMPLETECALLER stays.
    hangers = {c["cid"] for c in scenario["calls"] if c["caller_hangs_up_after_talk_s"]}
    assert {c.caller_num for c in result.calls if c.ended_by == "caller"} == hangers
    by_callid = {c.call_id: (c.outcome, c.ended_by) for c in result.calls}
    assert by_callid == {c["callid"]: SUMMARY_OUTCOMES[c["queue_log"]] for c in summary["calls"]}
    # One attempt per call: for the ringall queue, queue_log does not log the member who was
    # rung along with the one who answered (AMI saw 22 AgentCalled for these 20 calls).
    assert Counter(r.result for r in result.ring_attempts) == Counter({"answered": 20})


def test_capture_b_mixed(captures: Path) -> None:
    result, _, summary = capture(captures, "b_mixed")
    assert_clean(result)
    assert result.lines == 65
    assert Counter(c.outcome for c in result.calls) == Counter(
        {"answered": 14, "abandoned": 3, "timeout": 3}
    )
    assert Counter(c.ended_by for c in result.calls if c.outcome == "answered") == Counter(
        {"agent": 12, "caller": 2}
    )
    by_callid = {c.call_id: (c.outcome, c.ended_by) for c in result.calls}
    assert by_callid == {c["callid"]: SUMMARY_OUTCOMES[c["queue_log"]] for c in summary["calls"]}
    # 9 RINGNOANSWER + 2 RINGCANCELED + 14 CONNECT: the 25 AgentCalled events AMI saw.
    assert Counter(r.result for r in result.ring_attempts) == Counter(
        {"noanswer": 9, "canceled": 2, "answered": 14}
    )
    assert summary["event_counts"]["AgentCalled"] == len(result.ring_attempts) == 25
    assert sum(c.ring_attempts for c in result.calls) == 25


def test_capture_b_mixed_calls_worked_by_hand(captures: Path) -> None:
    result, _, _ = capture(captures, "b_mixed")
    calls = {c.call_id: c for c in result.calls}
    # 72001: entered 11:52:37, Carol answered 11:52:38 after 1 s, agent hung up at 11:52:58.
    assert calls["1795693957.42"] == QueueCall(
        pbx=PBX, queue="support", call_id="1795693957.42", linkedid="1795693957.42",
        caller_num="72001", caller_name=None,
        entered_at=datetime(2026, 11, 26, 11, 52, 37, tzinfo=UTC), position=1,
        outcome="answered", wait_s=1.0,
        answered_at=datetime(2026, 11, 26, 11, 52, 38, tzinfo=UTC), agent="Carol",
        interface=None, talk_s=20.0, ended_by="agent",
        ended_at=datetime(2026, 11, 26, 11, 52, 58, tzinfo=UTC), ring_attempts=1,
        source="queue_log", gap=False,
    )  # fmt: skip
    # 72009: third in line at 11:52:50, Bob rung five times for 8 s, timed out after 60 s.
    assert calls["1795693969.55"] == QueueCall(
        pbx=PBX, queue="support", call_id="1795693969.55", linkedid="1795693969.55",
        caller_num="72009", caller_name=None,
        entered_at=datetime(2026, 11, 26, 11, 52, 50, tzinfo=UTC), position=3,
        outcome="timeout", wait_s=60.0, answered_at=None, agent=None, interface=None,
        talk_s=None, ended_by=None, ended_at=datetime(2026, 11, 26, 11, 53, 50, tzinfo=UTC),
        ring_attempts=5, source="queue_log", gap=False, left_position=1,  # first in line by then
    )  # fmt: skip
    # Each RINGNOANSWER|8000 is dated 8 s before its line: 11:53:08, :18, :28, :38, :48.
    rings = [r for r in result.ring_attempts if r.call_id == "1795693969.55"]
    assert [(r.agent, r.started_at, r.ring_s, r.result) for r in rings] == [
        ("Bob", datetime(2026, 11, 26, 11, 53, second, tzinfo=UTC), 8.0, "noanswer")
        for second in (0, 10, 20, 30, 40)
    ]
