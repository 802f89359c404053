"""Shared fixtures: a real DuckDB store in a temp folder, the recorded AMI captures, the lab."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from storage.store import Store

pytest_plugins = ["tests.lab.fixtures"]

# Fuzzing (hypothesis): few examples in the quick loop and CI; more on demand with
# HYPOTHESIS_PROFILE=deep (and --timeout=0). No per-example deadline: the machine is shared
# and a slow example is not a failure; a hang is caught by pytest-timeout, quadratic cost by
# the framing tests.
settings.register_profile(
    "ci", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "deep", max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

REPO = Path(__file__).resolve().parents[1]
# CI clones the repo with a copy of shared/ beside it, as on a developer's machine.
CAPTURES = REPO.parent / "shared" / "ami-captures"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """A real DuckDB file, opened by the one writer, closed (and checkpointed) after."""
    with Store(tmp_path / "callboard.duckdb", flush_interval_s=0.05) as s:
        yield s


@pytest.fixture
def captures() -> Path:
    if not CAPTURES.is_dir():
        pytest.fail(f"the recorded AMI captures are missing: {CAPTURES}")
    return CAPTURES
