"""The store on a real full disk and a real unwritable folder (tests/storage/broken_disk.py
runs each in a private mount namespace): the writer never dies, says why in words, keeps at
most its buffer bound (the rest dropped, counted and recorded in store_gaps) and writes what
waited, once, when the disk is back."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from tests.conftest import REPO

needs_root = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("unshare") is None, reason="needs root and unshare(1)"
)


def broken_disk(mode: str) -> dict[str, object]:
    command = ["unshare", "-m", "--propagation", "private", sys.executable, "-m",
               "tests.storage.broken_disk", mode]  # fmt: skip
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    seen: dict[str, object] = json.loads(done.stdout)
    seen["log"] = done.stderr
    return seen


@needs_root
@pytest.mark.parametrize(
    ("mode", "reason"),
    [("full", "No space left on device"), ("unwritable", "Permission denied")],
)
def test_a_broken_disk_is_reported_bounded_and_recovered(mode: str, reason: str) -> None:
    seen = broken_disk(mode)
    failing, later, recovered = seen["failing"], seen["still_failing"], seen["recovered"]
    assert isinstance(failing, dict) and isinstance(later, dict) and isinstance(recovered, dict)
    # In words, for /healthz and the admin page; and once in the log, not at every retry.
    assert str(failing["last_error"]).startswith("cannot write the database ")
    assert reason in str(failing["last_error"])
    assert str(seen["log"]).count(reason) == 1  # logged once, not at every retry
    # 100 written before; of the 13,000 after, the buffer held 5,000 and dropped 8,000.
    assert (later["rows_written"], later["rows_waiting"], later["rows_dropped"]) == (
        100, 5000, 8000,
    )  # fmt: skip
    assert later["failing_for_s"] is not None and float(str(later["failing_for_s"])) >= 1.0
    assert (recovered["last_error"], recovered["rows_waiting"]) == (None, 0)
    # What waited is written once; the drop is one gap saying what and why.
    for stage in ("after", "reopened"):
        stored = seen[stage]
        assert isinstance(stored, dict)
        assert (stored["calls"], stored["distinct_calls"]) == (5100, 5100), stage
        [(dropped, detail)] = stored["gaps"]
        assert (
            dropped == 8000
            and detail.startswith("queue_calls 8000; cannot write")
            and (reason in detail)
        )


@needs_root
def test_a_read_only_disk_at_start_is_a_plain_error() -> None:
    seen = broken_disk("readonly")
    assert seen["title"] == "Storage error"
    assert "Read-only file system" in str(seen["error"]) and "Traceback" not in str(seen["log"])


@needs_root
def test_the_service_health_says_the_store_cannot_write() -> None:
    seen = broken_disk("full")
    failing, after = seen["healthz"], seen["healthz_after"]
    assert isinstance(failing, dict) and isinstance(after, dict)
    assert failing["status"] == "degraded"
    message = str(failing["message"])
    assert message.startswith("cannot write the database ") and "No space left on device" in message
    assert "5000 rows waiting to be written, 8000 dropped" in message
    metrics = str(seen["metrics"]).splitlines()
    assert {"callboard_store_up 0", "callboard_store_rows_waiting 5000",
            "callboard_store_rows_dropped_total 8000"} <= set(metrics)  # fmt: skip
    assert after["status"] == "ok" and "cannot write" not in str(after["message"])


@needs_root
def test_a_stop_while_the_disk_is_full_says_what_is_lost_and_returns() -> None:
    seen = broken_disk("stop")
    assert 1.0 <= float(str(seen["close_s"])) < 5.0
    log = str(seen["log"])
    assert "stopping: 500 rows could not be written and are lost" in log
    assert "checkpoint at close failed" in log and "Traceback" not in log
