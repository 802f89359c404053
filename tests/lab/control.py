"""What a test does to the lab's Asterisk process itself: hang it (SIGSTOP) and restart it
in place on the same ports (`core restart now` re-executes the same process and config); and
`lab_ports_released`, a fixture that gives back the ports a test's labs took."""

from __future__ import annotations

import os
import re
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.lab import ports
from tests.lab.asterisk import AsteriskLab
from tests.lab.sipp import LabError


def asterisk_pid(lab: AsteriskLab) -> int:
    """The lab's Asterisk process id, from the pid file in its run directory."""
    found = re.search(r"^astrundir => (.+)$", lab.conf.read_text(), re.M)
    if found is None:
        raise LabError(f"no astrundir in {lab.conf}")
    return int((Path(found.group(1).strip()) / "asterisk.pid").read_text())


@contextmanager
def hung(lab: AsteriskLab) -> Iterator[float]:
    """Asterisk stopped (SIGSTOP) inside the block, as a hung PBX: its kernel still accepts
    and acknowledges TCP, nothing answers. Yields the time.monotonic() of the stop; SIGCONT
    on exit, whatever happened."""
    pid = asterisk_pid(lab)
    os.kill(pid, signal.SIGSTOP)
    try:
        yield time.monotonic()
    finally:
        os.kill(pid, signal.SIGCONT)


def restart(lab: AsteriskLab, timeout: float = 20.0) -> None:
    """`core restart now`: Asterisk hangs up every channel, sends Shutdown, re-executes itself
    with the same configuration and ports. Returns once the new instance is fully booted
    (app_queue writes one QUEUESTART line to queue_log at each start)."""
    starts = _queue_starts(lab)
    lab.cli("core restart now")
    deadline = time.monotonic() + timeout
    while _queue_starts(lab) == starts:
        if time.monotonic() > deadline:
            raise LabError(f"Asterisk did not come back within {timeout} s\n{lab.asterisk_log()}")
        time.sleep(0.05)
    while "fully booted" not in _try_cli(lab, "core waitfullybooted"):
        if time.monotonic() > deadline:
            raise LabError(f"Asterisk not fully booted within {timeout} s\n{lab.asterisk_log()}")
        time.sleep(0.05)


def _queue_starts(lab: AsteriskLab) -> int:
    return sum("|QUEUESTART|" in line for line in lab.queue_log_lines())


def _try_cli(lab: AsteriskLab, command: str) -> str:
    try:
        return lab.cli(command)
    except LabError:  # the control socket is not back yet
        return ""


@pytest.fixture
def lab_ports_released() -> Iterator[None]:
    """Give back, when the test ends, every port its labs and sipps took.

    tests/lab/ports.py remembers each port it hands out for the whole pytest run, so that two
    labs never get the same port before either has bound it. A lab takes 200 RTP ports and each
    sipp 8; scattered over 20000-32767, a long run fragments the range until no 200 free ports
    in a row remain. Once a test is over its labs are stopped (this fixture's teardown runs
    after theirs), so its ports are free again.
    """
    with ports._lock:
        before = set(ports._handed_out)
    yield
    with ports._lock:
        ports._handed_out.intersection_update(before)
