"""pytest fixture for the real-Asterisk lab. Loaded by the main conftest through
`pytest_plugins = ["tests.lab.fixtures"]`: the lab fixture, and the release of lab ports."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.lab import ports
from tests.lab.asterisk import AsteriskLab, missing_tools


@pytest.fixture(autouse=True)
def _lab_ports_released() -> Iterator[None]:
    """Give back, when each test ends, the ports its labs, sipps and relays took.

    tests/lab/ports.py remembers every port it hands out, so two labs never get the same port
    before either has bound it. A lab takes 200 RTP ports in a row and each sipp 8; kept for a
    whole run they fragment 20000-32767 until no 200 free ports in a row remain. This teardown
    runs after the test's own fixtures (its labs are stopped by then), so the ports are free.
    """
    with ports._lock:
        before = set(ports._handed_out)
    yield
    with ports._lock:
        ports._handed_out.intersection_update(before)


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
