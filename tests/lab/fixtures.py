"""pytest fixture for the real-Asterisk lab. Loaded by the main conftest through
`pytest_plugins = ["tests.lab.fixtures"]`; it registers this fixture and nothing else."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.lab.asterisk import AsteriskLab, missing_tools


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no", "off")


@pytest.fixture
def asterisk_lab(tmp_path: Path) -> Iterator[AsteriskLab]:
    """A started lab under tmp_path; Asterisk and every sipp are stopped afterwards, whatever
    happened. Skips when asterisk or sipp is missing, but fails under CI, where a skipped
    real-Asterisk test would hide that the lab did not run."""
    missing = missing_tools()
    if missing:
        reason = (
            f"real-Asterisk lab needs {' and '.join(missing)}: "
            "run scripts/install-asterisk.sh as root"
        )
        if _in_ci():
            pytest.fail(f"{reason} (CI is set, so this fails instead of skipping)", pytrace=False)
        pytest.skip(reason)
    lab = AsteriskLab(tmp_path / "asterisk")
    try:
        lab.start()
        yield lab
    finally:
        lab.stop()
