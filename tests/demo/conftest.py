"""Fixtures of the demo PBX tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from demo.asterisk import AsteriskPbx
from demo.config import DemoSettings
from demo.model import ContactCenter
from tests.conftest import CAPTURES
from tests.demo.sequences import Call, Event, calls_of

START = 1_800_000_000.0

Run = tuple[list[Event], list[str]]  # a demo run's AMI events and queue_log lines


@pytest.fixture(scope="session")
def captures_dir() -> Path:
    """The recorded Asterisk 16 captures, for module-scoped fixtures (`captures` is per test)."""
    if not CAPTURES.is_dir():
        pytest.fail(f"the recorded AMI captures are missing: {CAPTURES}")
    return CAPTURES


@pytest.fixture(scope="session")
def demo_run() -> Run:
    """Four simulated hours of arrivals, busy enough for every shape, then the calls end."""
    settings = DemoSettings(calls_per_hour=200, no_answer_probability=0.15, warmup_s=0,
                            duration_s=4 * 3600, seed=7)  # fmt: skip
    model = ContactCenter(settings, START)
    pbx = AsteriskPbx(settings, START)
    events: list[Event] = []
    lines = pbx.boot_lines()
    for happening in model.advance(START + 6 * 3600):
        new_events, new_lines = pbx.apply(happening)
        events += new_events
        lines += new_lines
    assert model.quiet
    return events, lines


@pytest.fixture(scope="session")
def demo(demo_run: Run) -> dict[str, Call]:
    """The demo run's calls, cut as the captures' are (tests/demo/sequences.py)."""
    return calls_of(*demo_run)
