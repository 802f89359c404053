"""The collector against a real Asterisk 16 that misbehaves: its AMI socket cut during calls,
Asterisk restarted during calls, a wrong secret, a hung Asterisk, PBXs down, drift the poll must
correct. Each test compares what was stored with the queue_log Asterisk wrote, which has
everything: nothing may be invented, nothing written twice, every gap marked.

Calls that ended while the collector could not see the PBX are `unknown` with gap = true; calls
in progress across a gap that it saw end are written with what it saw, gap = true."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from pathlib import Path

import pandas as pd
import pytest

from service import Service, metrics_text
from settings import PbxSettings
from storage.queue_log import fold_calls
from tests.collectors.resilience_helpers import (
    answered,
    by_caller,
    cli,
    finish,
    gap_between_logins,
    joined,
    live,
    nothing_invented,
    pause,
    pbx_of,
    ready,
    sessions,
    settings_of,
    table,
    until,
)
from tests.lab.asterisk import AsteriskLab
from tests.lab.control import hung, lab_ports_released, restart  # noqa: F401 (a fixture)
from tests.lab.ports import free_port
from tests.lab.relay import AmiRelay
from tests.lab.sipp import SippProcess

pytestmark = [pytest.mark.asterisk, pytest.mark.usefixtures("lab_ports_released")]


# -- (a) the AMI socket cut during calls -----------------------------------------------------
async def test_socket_cut_during_calls(asterisk_lab: AsteriskLab, tmp_path: Path) -> None:
    lab = asterisk_lab
    agents = ("PJSIP/1001", "PJSIP/1002")
    with AmiRelay(lab.ami_port) as relay:
        settings = settings_of(tmp_path / "cb.duckdb", pbx_of(lab, port=relay.port))
        async with Service(settings) as service:
            collector = service.collectors[0]
            await ready(service)
            for ext in ("1001", "1002"):
                await asyncio.to_thread(lab.start_agent, ext, answer_after_s=0.5, talk_s=30)
            ends_in_gap = lab.call("600", "81001", talk_s=3.5)  # answered; hangs up in the gap
            spans_gap = lab.call("600", "81002", talk_s=15.0)  # answered; hangs up after it
            await until(lambda: answered(service) == 2, 5, "both answers seen")
            abandons = lab.call("600", "81003", hangup_after_s=3.0)  # gives up in the gap
            waits = lab.call("600", "81004", talk_s=1.0)  # still waiting at the reconnect
            await until(lambda: joined(service) >= {"81003", "81004"}, 5, "both joins seen")

            relay.cut(down_for=3.0)
            cut_at = time.monotonic()
            await pause(lab, *agents, reason="gap")  # unseen: nobody takes 81004 meanwhile
            await finish(ends_in_gap, abandons)
            await ready(service, sessions=2)
            reconnected_s = time.monotonic() - cut_at

            # The login snapshot rebuilt what happened out of sight.
            members = live(service, "live_members").set_index(["queue", "interface"])
            assert [members.loc[("support", a), "paused_reason"] for a in agents] == ["gap"] * 2
            assert list(live(service, "live_waiting")["caller_num"]) == ["81004"]

            await pause(lab, *agents, on=False)
            await finish(waits, spans_gap)
            after = lab.call("600", "81005", talk_s=1.0)
            await finish(after)
            await until(lambda: len(by_caller(service)) >= 4, 10, "the calls")
            await asyncio.sleep(0.5)
            rows, logins, status = by_caller(service), sessions(service), collector.status

    nothing_invented(rows, lab)
    outcome = {caller: (row["outcome"], row["gap"]) for caller, row in rows.items()}
    print(f"socket cut: rebuilt {reconnected_s:.1f} s after the cut; {outcome}")
    assert outcome["81002"] == ("answered", True)  # seen answered, seen ending after the gap
    assert outcome["81003"] == ("unknown", True)  # its abandon happened out of sight
    assert outcome["81004"] == ("answered", True)  # waiting across the gap, answered after
    assert outcome["81005"] == ("answered", False)
    # Answered before the gap, ended in it: no end was seen, so it must not be invented.
    assert outcome.get("81001", ("answered", True))[1] is True
    # The relay refused connections for 3 s: the gap is in the data.
    assert gap_between_logins(logins, "connection closed by peer") >= 3.0
    assert (status.reconnects, status.drift_corrections) == (1, 0)


async def test_a_call_answered_before_a_gap_and_ended_in_it_is_written(
    asterisk_lab: AsteriskLab, tmp_path: Path
) -> None:
    lab = asterisk_lab
    with AmiRelay(lab.ami_port) as relay:
        settings = settings_of(tmp_path / "cb.duckdb", pbx_of(lab, port=relay.port))
        async with Service(settings) as service:
            await ready(service)
            await asyncio.to_thread(lab.start_agent, "1001", answer_after_s=0.5, talk_s=30)
            caller = lab.call("600", "81101", talk_s=2.0)
            await until(lambda: answered(service) == 1, 5, "the answer")
            relay.cut(down_for=3.0)
            await finish(caller)  # hung up in the gap
            await ready(service, sessions=2)
            await asyncio.sleep(1.0)
            rows = by_caller(service)
    nothing_invented(rows, lab)
    assert "81101" in rows and rows["81101"]["gap"] is True
    # Answered (we saw that), with the end we did not see left empty, never invented.
    assert rows["81101"]["outcome"] == "answered"
    assert pd.isna(rows["81101"]["ended_by"]) and pd.isna(rows["81101"]["talk_s"])


# -- (b) Asterisk restarted during calls -----------------------------------------------------
async def test_asterisk_restarted_during_calls(asterisk_lab: AsteriskLab, tmp_path: Path) -> None:
    lab = asterisk_lab
    with AmiRelay(lab.ami_port) as relay:
        settings = settings_of(tmp_path / "cb.duckdb", pbx_of(lab, port=relay.port))
        async with Service(settings) as service:
            collector = service.collectors[0]
            await ready(service)
            await asyncio.to_thread(lab.start_agent, "1001", answer_after_s=0.5, talk_s=30)

            # 1. Restarted while we watch: Asterisk hangs up every call, says Shutdown, returns.
            talking, waiting = await talking_and_waiting(lab, service, "84001", "84002")
            await asyncio.to_thread(restart, lab)
            await finish(talking, waiting)
            await ready(service, sessions=2)
            shutdown_error = collector.status.last_error

            # 2. Restarted while we cannot see it: the calls end out of sight.
            talking, waiting = await talking_and_waiting(lab, service, "84003", "84004")
            relay.cut(down_for=3600)
            await asyncio.to_thread(restart, lab)
            await finish(talking, waiting)
            relay.start()
            await ready(service, sessions=3)

            # 3. A call on the new instance, whose Uniqueid sequence started again at 0.
            after = lab.call("600", "84005", talk_s=1.0)
            await finish(after)
            await until(lambda: "84005" in by_caller(service), 10, "the last call")
            rows, logins, status = by_caller(service), sessions(service), collector.status

    nothing_invented(rows, lab)
    outcome = {caller: (row["outcome"], row["gap"]) for caller, row in rows.items()}
    print(f"restarts: {outcome}")
    qlog = {c.caller_num: c for c in fold_calls(lab.queue_log_lines(), pbx="lab").calls}
    for seen in ("84001", "84002", "84005"):  # every end seen: exactly what queue_log says
        assert outcome[seen] == (qlog[seen].outcome, False), seen
    assert outcome["84004"] == ("unknown", True)  # waiting when Asterisk restarted unseen
    assert outcome.get("84003", ("answered", True))[1] is True  # never invented
    # Each instance numbers its channels from 0 again: ids differ only by their epoch part.
    ids = [str(rows[c]["call_id"]) for c in ("84001", "84005")]
    assert ids[0].split(".")[1] == ids[1].split(".")[1] == "0" and ids[0] != ids[1]
    assert shutdown_error == "the PBX is shutting down to restart"
    assert (status.restarts_seen, status.reconnects, status.drift_corrections) == (2, 2, 0)
    assert len(logins[logins["states"].map(lambda s: "connected" in list(s))]) == 3


async def talking_and_waiting(
    lab: AsteriskLab, service: Service, talks: str, waits: str
) -> tuple[SippProcess, SippProcess]:
    """One caller answered (Alice talks 30 s) and one waiting behind it, both seen."""
    answers = answered(service)
    talking = lab.call("600", talks)
    await until(lambda: answered(service) > answers, 5, f"{talks} answered")
    waiting = lab.call("600", waits)
    await until(lambda: waits in joined(service), 5, f"{waits} waiting")
    return talking, waiting


# -- (c) a wrong secret ----------------------------------------------------------------------
async def test_wrong_secret_is_reported_once_and_retried_slowly(
    asterisk_lab: AsteriskLab, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    lab = asterisk_lab
    with AmiRelay(lab.ami_port) as relay:  # counts the connection attempts
        pbx = pbx_of(lab, port=relay.port, secret="not-the-secret")
        service = Service(settings_of(tmp_path / "cb.duckdb", pbx))
        collector = service.collectors[0]
        collector.auth_retry_s = 1.5  # 60 s in service: the admin may fix it meanwhile
        async with service:
            await until(lambda: collector.status.state == "auth_failed", 10, "the refusal")
            await asyncio.sleep(4.0)
            attempts, status = relay.accepted, dataclasses.replace(collector.status)
            # The admin gives the PBX the secret the collector has: the next retry logs in.
            conf = lab.workdir / "etc" / "manager.conf"
            conf.write_text(conf.read_text().replace(lab.ami_secret, "not-the-secret"))
            lab.ami_secret = "not-the-secret"
            await cli(lab, "manager reload")
            await ready(service, timeout=10)
            logins = sessions(service)

    assert (status.state, status.last_error) == (
        "auth_failed",
        "authentication failed for user 'callboard'",
    )
    # Asterisk answers a refused login after about 1 s; then 1.5 s until the next try.
    assert 2 <= attempts <= 3, attempts
    logged = [r for r in caplog.records if "authentication failed" in r.getMessage()]
    assert [r.levelname for r in logged] == ["ERROR"]
    assert [list(s) for s in logins["states"]] == [["auth_failed"], ["connected"]]
    assert logins.iloc[0]["detail"] == "authentication failed for user 'callboard'"


# -- (d) a hung Asterisk ---------------------------------------------------------------------
async def test_hung_asterisk_is_found_within_two_pings_and_rejoined(
    asterisk_lab: AsteriskLab, tmp_path: Path
) -> None:
    lab = asterisk_lab
    async with Service(settings_of(tmp_path / "cb.duckdb", pbx_of(lab))) as service:
        collector = service.collectors[0]
        await ready(service)
        await asyncio.sleep(1.5)  # pings answered
        with hung(lab) as stopped_at:
            await until(lambda: collector.status.state != "connected", 5, "the hang found")
            detected_s = time.monotonic() - stopped_at
            await asyncio.sleep(2.0)  # still hung: a new connection gets no login answer
            while_hung = collector.status.state
        resumed_at = time.monotonic()
        await ready(service, sessions=2)
        back_s = time.monotonic() - resumed_at
        logins = sessions(service)

    print(f"hung Asterisk: found after {detected_s:.2f} s (ping 1 s); back {back_s:.2f} s later")
    assert detected_s <= 2.0 + 0.1
    assert while_hung == "disconnected"
    assert logins.iloc[0]["detail"] == "no answer to Ping within 1 s"
    assert back_s < 5.0


async def test_half_open_link_is_found_within_two_pings(
    asterisk_lab: AsteriskLab, tmp_path: Path
) -> None:
    lab = asterisk_lab
    with AmiRelay(lab.ami_port) as relay:
        settings = settings_of(tmp_path / "cb.duckdb", pbx_of(lab, port=relay.port))
        async with Service(settings) as service:
            collector = service.collectors[0]
            await ready(service)
            await asyncio.sleep(1.5)  # pings answered
            relay.freeze()  # no FIN, no RST: the bytes just stop, both ways
            frozen_at = time.monotonic()
            await until(lambda: collector.status.state != "connected", 5, "the silence found")
            detected_s = time.monotonic() - frozen_at
            relay.freeze(False)
            await ready(service, sessions=2)
            error = sessions(service).iloc[0]["detail"]
    print(f"half-open link: found after {detected_s:.2f} s (ping 1 s)")
    assert detected_s <= 2.0 + 0.1
    assert error == "no answer to Ping within 1 s"


# -- (e) PBXs down: one unreachable at start, one never up ----------------------------------
async def test_three_pbxs_one_late_one_down_the_healthy_ones_collect(
    asterisk_lab: AsteriskLab, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    first = asterisk_lab
    second = AsteriskLab(tmp_path / "second")
    await asyncio.to_thread(second.start)
    late = AmiRelay(second.ami_port)  # its port is chosen; nothing listens there yet
    try:
        down = PbxSettings("down", "127.0.0.1", free_port(), "callboard", "x", 1.0)
        settings = settings_of(
            tmp_path / "cb.duckdb", pbx_of(first, "a"), pbx_of(second, "b", late.port), down
        )
        async with Service(settings) as service:
            a, b, gone = service.collectors
            await until(lambda: a.ready, 15, "PBX a")
            await asyncio.sleep(1.0)
            at_start = (b.status.state, gone.status.state)
            late.start()  # PBX b becomes reachable
            await until(lambda: b.ready, 15, "PBX b, once reachable")
            for lab, caller in ((first, "85001"), (second, "85002")):
                await asyncio.to_thread(lab.start_agent, "1001", answer_after_s=0.5, talk_s=1.0)
                await finish(lab.call("600", caller))
            await until(lambda: len(table(service, "FROM queue_calls")) == 2, 10, "both calls")
            calls = table(service, "SELECT pbx, caller_num, outcome, gap FROM queue_calls")
            member_pbxs = set(table(service, "SELECT DISTINCT pbx FROM member_states")["pbx"])
            down_sessions = sessions(service, "down")
            health, metrics = service.health(), metrics_text(service)
    finally:
        late.stop()
        await asyncio.to_thread(second.stop)

    assert at_start == ("unreachable", "unreachable")
    assert sorted(map(tuple, calls.to_numpy().tolist())) == [
        ("a", "85001", "answered", False),
        ("b", "85002", "answered", False),
    ]
    assert member_pbxs == {"a", "b"}
    states = {p["name"]: p["state"] for p in health["pbx"]}  # type: ignore[attr-defined]
    assert states == {"a": "connected", "b": "connected", "down": "unreachable"}
    assert health["status"] == "degraded"
    assert 'callboard_pbx_up{pbx="b"} 1' in metrics and 'callboard_pbx_up{pbx="down"} 0' in metrics
    # PBX down failed every retry, and said so once, with one connection_sessions row.
    assert len([r for r in caplog.records if r.getMessage().startswith("down (")]) == 1
    assert [list(s) for s in down_sessions["states"]] == [["unreachable"]]


# -- drift: the scheduled poll against events the collector never received -------------------
async def test_poll_corrects_and_counts_drift(asterisk_lab: AsteriskLab, tmp_path: Path) -> None:
    lab = asterisk_lab
    with AmiRelay(lab.ami_port) as relay:
        settings = settings_of(tmp_path / "cb.duckdb", pbx_of(lab, port=relay.port), poll_s=2.0)
        async with Service(settings) as service:
            collector = service.collectors[0]
            await ready(service)
            await asyncio.to_thread(lab.start_agent, "1001", answer_after_s=0.5, talk_s=1.0)
            # Normal traffic while polls run: nothing to correct.
            await finish(lab.call("600", "86001"))
            await asyncio.sleep(4.5)
            assert collector.status.drift_corrections == 0

            # 1. A pause whose events are lost on the way.
            relay.drop_events(
                lambda e: e.get("Interface") == "PJSIP/1001" and e["Event"].startswith("Queue")
            )
            await pause(lab, "PJSIP/1001", reason="drift")
            await until(lambda: relay.dropped, 5, "the pause event lost")
            await until(lambda: collector.status.drift_corrections == 1, 10, "a poll")
            relay.drop_events(None)
            alice = live(service, "live_members").set_index(["queue", "interface"])
            assert alice.loc[("support", "PJSIP/1001"), "paused_reason"] == "drift"

            # 2. A caller whose leaving is lost on the way (Alice is paused: nobody answers).
            relay.drop_events(
                lambda e: e.get("CallerIDNum") == "86002" and e["Event"] != "QueueCallerJoin"
            )
            await finish(lab.call("600", "86002", hangup_after_s=1.5))
            await until(lambda: collector.status.drift_corrections == 2, 10, "a poll")
            relay.drop_events(None)
            await asyncio.sleep(4.5)  # later polls find nothing more to correct
            rows, waiting = by_caller(service), live(service, "live_waiting")
            health, metrics = service.health(), metrics_text(service)

    outcome = {caller: (row["outcome"], row["gap"]) for caller, row in rows.items()}
    assert outcome == {"86001": ("answered", False), "86002": ("unknown", True)}
    assert waiting.empty
    assert health["pbx"][0]["drift_corrections"] == 2  # type: ignore[index]
    assert 'callboard_drift_corrections_total{pbx="lab"} 2' in metrics


# -- the login snapshot ------------------------------------------------------------------------
async def test_login_snapshot_reads_what_an_admin_needs(
    asterisk_lab: AsteriskLab, tmp_path: Path
) -> None:
    await asyncio.to_thread(asterisk_lab.start_agent, "1001")
    settings = settings_of(tmp_path / "cb.duckdb", pbx_of(asterisk_lab))
    async with Service(settings) as service:
        await ready(service)
        status = dataclasses.replace(service.collectors[0].status)
    assert status.asterisk_version is not None and status.asterisk_version.startswith("16.")
    assert status.version == "5.0.4"  # the AMI protocol, from the banner
    assert status.started is not None and len(status.started) == len("2026-01-05 09:00:00")
    assert status.reloaded is not None and status.booted_at is not None
    assert (status.current_calls, status.callers_waiting) == (0, 0)
    assert status.queues is not None and status.queues >= 2
    # Endpoints 1001-1004 and `callers`; only 1001 has registered.
    assert status.endpoints is not None and status.endpoints >= 5
    assert status.endpoints_unavailable == status.endpoints - 1
    assert (status.contacts, status.contacts_unreachable) == (1, 0)
    assert (status.snapshot_errors, status.restarts_seen) == (0, 0)
