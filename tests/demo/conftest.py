"""Fixtures of the demo PBX tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import CAPTURES


@pytest.fixture(scope="session")
def captures_dir() -> Path:
    """The recorded Asterisk 16 captures, for module-scoped fixtures (`captures` is per test)."""
    if not CAPTURES.is_dir():
        pytest.fail(f"the recorded AMI captures are missing: {CAPTURES}")
    return CAPTURES
