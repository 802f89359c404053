"""Shared fixtures: a real DuckDB store in a temp folder, the recorded AMI captures, the lab."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from storage.store import Store

pytest_plugins = ["tests.lab.fixtures"]

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
