"""The contact-center model and the demo's settings: deterministic, configurable, validated."""

from __future__ import annotations

import dataclasses
from collections import Counter
from pathlib import Path

import pytest

from demo.__main__ import parse_args
from demo.config import FIELD_HELP, AgentConfig, DemoSettings, Duration, QueueConfig
from demo.model import (
    Abandon,
    Answer,
    Arrival,
    ContactCenter,
    Happening,
    NoAnswer,
    Pause,
    Ring,
    Timeout,
)
from errors import ConfigError

START = 1_800_000_000.0


def run(settings: DemoSettings, hours: float) -> list[Happening]:
    return ContactCenter(settings, START).advance(START + settings.warmup_s + hours * 3600)


def test_every_setting_has_a_help_line() -> None:
    assert set(FIELD_HELP) == {f.name for f in dataclasses.fields(DemoSettings)}


@pytest.mark.parametrize(
    ("change", "field"),
    [({"speed": 0}, "demo.speed"), ({"no_answer_probability": 1.5}, "demo.no_answer_probability"),
     ({"profile": (1.0,) * 23}, "demo.profile"),
     ({"queues": (QueueConfig("a", strategy="fastest"),)}, "demo.queues[0].strategy"),
     ({"agents": (AgentConfig("X", "1001", ("nowhere",)),)}, "demo.agents[0].queues"),
     ({"talk": Duration(0.0)}, "demo.talk")],
)  # fmt: skip
def test_a_bad_setting_names_its_field(change: dict[str, object], field: str) -> None:
    with pytest.raises(ConfigError, match=rf"^{field.replace('[', '.').replace(']', '.')}"):
        DemoSettings(**change)  # type: ignore[arg-type]


def test_defaults_are_a_small_contact_center() -> None:
    s = DemoSettings()
    assert len(s.queues) == 3 and len(s.agents) == 12 and s.speed == 1.0
    assert {q.strategy for q in s.queues} == {"rrmemory", "ringall", "leastrecent"}


def test_the_same_seed_gives_the_same_run_and_another_seed_another() -> None:
    s = DemoSettings(warmup_s=0)
    assert run(s, 2) == run(s, 2)
    assert run(s, 2) != run(dataclasses.replace(s, seed=2), 2)


def test_arrivals_follow_the_rate_and_the_intraday_profile() -> None:
    profile = (1.0,) * 12 + (0.25,) * 12  # the demo's day starts at 10:00: 2 h at 1.0, then 0.25
    s = DemoSettings(warmup_s=0, calls_per_hour=3000, profile=profile, day_start_hour=10)
    hours = Counter(int((h.at - START) // 3600) for h in run(s, 4) if isinstance(h, Arrival))
    assert 2800 < hours[0] < 3200 and 2800 < hours[1] < 3200
    assert 650 < hours[2] < 850 and 650 < hours[3] < 850


def test_no_free_agent_means_abandons_and_timeouts() -> None:
    # One agent, paused for good after its first call: callers give up or time out.
    s = DemoSettings(
        warmup_s=0, calls_per_hour=60, agents=(AgentConfig("Solo", "1001", ("support",)),),
        queues=(QueueConfig("support", timeout_s=120),), patience=Duration(100.0, 1.0),
        pause_probability=1.0, talk=Duration(30.0, 0), wrapup=Duration(1.0, 0),
        pause_reasons=(dataclasses.replace(DemoSettings().pause_reasons[1],
                                           duration=Duration(1e9, 0)),),
    )  # fmt: skip
    happenings = run(s, 3)
    kinds = Counter(type(h).__name__ for h in happenings)
    assert kinds["Answer"] == 1 and kinds["Pause"] == 1 and kinds["Unpause"] == 0
    assert kinds["Abandon"] > 10 and kinds["Timeout"] > 10
    assert next(h for h in happenings if isinstance(h, Pause)).reason == "Lunch"


def test_ringall_rings_every_free_member_and_rrmemory_turns() -> None:
    agents = tuple(AgentConfig(n, str(1001 + i), ("q",)) for i, n in enumerate("ABC"))
    for strategy, most in (("ringall", 3), ("rrmemory", 1)):
        s = DemoSettings(warmup_s=0, calls_per_hour=20, agents=agents, pause_probability=0,
                         queues=(QueueConfig("q", strategy=strategy),), talk=Duration(5.0, 0),
                         wrapup=Duration(1.0, 0), no_answer_probability=0)  # fmt: skip
        happenings = run(s, 2)
        rings = Counter(h.call for h in happenings if isinstance(h, Ring))
        # ringall rings every member free at that moment: all three, unless one is busy
        assert max(rings.values()) == most, strategy
        assert sum(n == most for n in rings.values()) >= 0.8 * len(rings), strategy
    turns = [h.agent for h in happenings if isinstance(h, Answer)]
    assert turns[:6] == [0, 1, 2, 0, 1, 2]  # rrmemory, one caller at a time


def test_ring_no_answer_then_retry_and_queue_timeout_cuts_a_ring() -> None:
    s = DemoSettings(warmup_s=0, calls_per_hour=30, no_answer_probability=1.0,
                     queues=(QueueConfig("q", timeout_s=40, ring_timeout_s=15, retry_s=5),),
                     agents=(AgentConfig("A", "1001", ("q",)),), patience=Duration(1e6, 0),
                     pause_probability=0)  # fmt: skip
    happenings = run(s, 1)
    first = next(h.call for h in happenings if isinstance(h, Arrival))
    mine = [h for h in happenings if getattr(h, "call", None) == first]
    kinds = [type(h).__name__ for h in mine]
    # rings at 0, 20 (after 15 s ringing and a 5 s retry), 40 is the timeout: cut at once
    assert kinds[:5] == ["Arrival", "Ring", "NoAnswer", "Ring", "NoAnswer"]
    assert isinstance(mine[-1], Timeout) and round(mine[-1].at - mine[0].at) == 40
    assert not any(isinstance(h, Abandon | Answer) for h in mine)
    assert sum(isinstance(h, NoAnswer) for h in mine) >= 2


def test_the_command_line(tmp_path: Path) -> None:
    settings, exit_when_done = parse_args(
        ["--port", "5039", "--speed", "inf", "--queue-log", str(tmp_path / "q"),
         "--duration", "60", "--exit-when-done", "--agents", "40"]
    )  # fmt: skip
    assert (settings.port, settings.speed, settings.duration_s) == (5039, float("inf"), 60.0)
    assert settings.queue_log == tmp_path / "q" and exit_when_done
    assert len(settings.agents) == 40 and len({a.extension for a in settings.agents}) == 40
    assert sum(len(a.queues) == 2 for a in settings.agents) == 10
