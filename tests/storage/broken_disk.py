"""The store on a real broken disk, run as its own process in a private mount namespace.

    unshare -m --propagation private python -m tests.storage.broken_disk MODE

MODE `full`: the DuckDB file on a small tmpfs that a filler file then fills up (a real
ENOSPC); `unwritable`: the store's folder made read-only for the (non-root) process that
writes it, so DuckDB cannot create its WAL (a real EACCES); `readonly`: the file on a
read-only mount at start; `stop`: the store closed while the disk is full. Each prints one
JSON object of what it saw; tests/storage/test_broken_disk.py judges it. A separate process
because mounts and a dropped root need their own process.
"""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from collectors.rows import QueueCall
from errors import StoreError
from service import Service, metrics_text
from settings import Settings
from storage.store import Store

NOBODY = 65534
BUFFER_ROWS = 5000
T0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


def call(i: int) -> QueueCall:
    """A distinct answered call (call_id 1.i), about 300 bytes once written."""
    return QueueCall(
        pbx="p", queue="support", call_id=f"1.{i}", linkedid=f"1.{i}", caller_num="100",
        caller_name="José " + "x" * 200, entered_at=T0 + timedelta(seconds=i), position=1,
        outcome="answered", wait_s=2.5, answered_at=T0 + timedelta(seconds=i + 2.5),
        agent="Alice", interface="PJSIP/1001", talk_s=30.0, ended_by="agent",
        ended_at=T0 + timedelta(seconds=i + 32.5), ring_attempts=1, source="ami",
    )  # fmt: skip


def until(check: Callable[[], object], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def mount_tmpfs(folder: Path, size: str, *options: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    opts = ",".join((f"size={size}", *options))
    subprocess.run(["mount", "-t", "tmpfs", "-o", opts, "tmpfs", str(folder)], check=True)
    return folder


def fill(folder: Path) -> Path:
    """Write a filler file until the filesystem says it is full; return it."""
    filler = folder / "filler"
    chunk = b"\0" * 65536
    with filler.open("wb", buffering=0) as f:
        try:
            while True:
                f.write(chunk)
        except OSError as e:
            assert e.errno == errno.ENOSPC, e
    return filler


def counts(store: Store) -> dict[str, object]:
    cur = store.cursor()
    try:
        calls, distinct = cur.execute(
            "SELECT count(*), count(DISTINCT call_id) FROM queue_calls"
        ).fetchone() or (0, 0)
        gaps = cur.execute("SELECT rows_dropped, detail FROM store_gaps").fetchall()
    finally:
        cur.close()
    return {"calls": calls, "distinct_calls": distinct, "gaps": [list(g) for g in gaps]}


def run_full(folder: Path) -> dict[str, object]:
    # The service's own store, so that its /healthz body is seen too (no PBX: nothing else).
    settings = Settings(db_path=folder / "cb.duckdb", flush_interval_s=0.05,
                        store_buffer_rows=BUFFER_ROWS, demo="off")  # fmt: skip
    service = Service(settings)
    seen: dict[str, object] = {}
    with service.store as store:
        store.retry_cap_s = 0.5
        for i in range(100):  # written before the disk fills
            store.put(call(i))
        store.flush()
        filler = fill(folder)
        seen |= trouble_and_recovery(store, 100, lambda: filler.unlink(), service.health,
                                     lambda: metrics_text(service))  # fmt: skip
    with Store(folder / "cb.duckdb") as reopened:
        seen["reopened"] = counts(reopened)
    return seen


def run_unwritable(folder: Path) -> dict[str, object]:
    db = folder / "db"
    db.mkdir()
    os.chown(db, NOBODY, NOBODY)
    os.setresgid(NOBODY, NOBODY, NOBODY)  # no root from here on: permissions apply
    os.setresuid(NOBODY, NOBODY, NOBODY)
    seen: dict[str, object] = {}
    with Store(db / "cb.duckdb", flush_interval_s=0.05, max_buffer_rows=BUFFER_ROWS) as store:
        store.retry_cap_s = 0.5
        for i in range(100):
            store.put(call(i))
        store.flush()
        store.in_writer(lambda con: con.execute("CHECKPOINT"))  # the WAL is gone now
        db.chmod(0o555)
        seen |= trouble_and_recovery(store, 100, lambda: db.chmod(0o755))
    with Store(db / "cb.duckdb") as reopened:
        seen["reopened"] = counts(reopened)
    return seen


def trouble_and_recovery(
    store: Store,
    first: int,
    mend: Callable[[], None],
    health: Callable[[], dict[str, object]] = dict,
    metrics: Callable[[], str] = str,
) -> dict[str, object]:
    """3,000 rows that cannot be written (they wait), 10,000 more (the buffer holds 5,000 in
    all: 8,000 dropped), then the disk is mended: what waited is written, once. `health` is
    the service's /healthz body, when a service owns the store."""
    for i in range(first, first + 3000):
        store.put(call(i))
    until(lambda: store.last_error is not None, 10, "the write error")
    for i in range(first + 3000, first + 13000):
        store.put(call(i))
    seen: dict[str, object] = {"failing": store.health(), "healthz": health(),
                               "metrics": metrics()}  # fmt: skip
    time.sleep(1.0)  # a few retries fail meanwhile
    seen["still_failing"] = store.health()
    mend()
    until(lambda: store.last_error is None and store.rows_waiting == 0, 10, "the recovery")
    store.flush()
    return seen | {"recovered": store.health(), "healthz_after": health(), "after": counts(store)}


def run_stop_while_full(folder: Path) -> dict[str, object]:
    """The service stops while the disk is full: the stop retries for its grace, then says
    how many rows are lost, and returns."""
    store = Store(folder / "cb.duckdb", flush_interval_s=0.05, max_buffer_rows=BUFFER_ROWS)
    store.open()
    store.retry_cap_s, store.stop_grace_s = 0.2, 1.0
    store.put(call(0))
    store.flush()
    fill(folder)
    for i in range(1, 501):
        store.put(call(i))
    until(lambda: store.last_error is not None, 10, "the write error")
    started = time.monotonic()
    store.close()
    return {"close_s": time.monotonic() - started}


def run_readonly(folder: Path) -> dict[str, object]:
    subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True)
    try:
        Store(folder / "cb.duckdb").open()
    except StoreError as e:
        return {"error": str(e), "title": e.title}
    return {"error": None}


def main() -> None:
    # /mnt of this process's own mount namespace: the host's /mnt is untouched, and unlike
    # a pytest tmp_path its parents let a non-root user through.
    mode, folder = sys.argv[1], mount_tmpfs(Path("/mnt"), "16M")
    runs = {"full": run_full, "unwritable": run_unwritable, "readonly": run_readonly,
            "stop": run_stop_while_full}  # fmt: skip
    print(json.dumps(runs[mode](folder), default=str))  # the mount ends with the process


if __name__ == "__main__":
    main()
