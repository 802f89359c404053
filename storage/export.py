"""Parquet exports: closed UTC days of the store's tables, as a dataset other tools read.

`export(con, folder, ...)` reads through one reader connection (a `Store.cursor()` in the
service, a read-only connection in the CLI), never through the writer. Per table it
fingerprints each (UTC date, PBX) partition of the closed days (row count and a hash of every
row with its rowid), writes only the partitions whose fingerprint changed as new zstd Parquet
files, then swaps the manifest (storage/manifest.py says why files are never replaced in
place). Re-running replaces partitions, never duplicates them; nothing changed, nothing
written. The current UTC day is never exported: it is not closed.

Every file carries the store's `rowid` as a last column, so that queries which read a
changelog in arrival order (agent_summary, the live views) run on the dataset as on the store.
"""

from __future__ import annotations

import fcntl
import logging
import os
import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import duckdb
import pyarrow.parquet as pq

from errors import StoreError
from storage.manifest import Manifest, Part, Retired, read_manifest, sync_dir, write_manifest

log = logging.getLogger(__name__)

# Each exported table and the time column that puts a row in a UTC day. Fixed names: they are
# the only table and column names that reach SQL text here.
PARTITIONED: dict[str, str] = {
    "queue_calls": "entered_at",
    "ring_attempts": "started_at",
    "member_states": "since",
    "waiting_callers": "seen_at",
    "device_states": "seen_at",
    "contact_states": "seen_at",
    "connection_sessions": "started_at",
    "raw_events": "received_at",
    "queue_params": "seen_at",
    "queue_log_stays": "entered_at",
    # The rollups (storage/rollups.py), so that a reader of the export need not compute them.
    "stay_quarters": "bucket",
    "stay_waits": "bucket",
    "caller_stays": "entered_at",
    "agent_counts": "bucket",
}
# Configuration replaced whole at every start (agents, queue_settings), what the store derives
# from it (queue_thresholds), and store_gaps (rare, no PBX): one file each.
UNPARTITIONED = ("agents", "queue_settings", "queue_thresholds", "store_gaps")
# The queue_log follower's resume points: the service's own state, not data for a reader; and
# agent_summary's presence changes (storage/member_changes.py), folded by the store's rowids:
# a reader computes them from the exported changelog (queries/dataset.py), and the presence
# per hour and day folded from them (storage/agent_days.py).
NOT_EXPORTED = (
    "queue_log_offsets",
    "member_changes",
    "member_heads",
    "agent_hours",
    "agent_days",
    "agent_days_state",
    "agent_days_pending",
    "member_states_unordered",
)
WHOLE = "all"  # the partition key of an unpartitioned table
BATCH_ROWS = 100_000  # rows per Arrow batch: bounds memory whatever a day holds

Progress = Callable[[int, int, str], None]  # (partitions done, partitions to write, table)


@dataclass
class ExportReport:
    """What one export did."""

    version: int = 0
    written: int = 0  # partitions written (new or changed)
    unchanged: int = 0
    removed: int = 0  # partitions gone from the store, or raw events past their retention
    rows: int = 0
    bytes: int = 0
    files_deleted: int = 0
    seconds: float = 0.0
    tables: dict[str, int] = field(default_factory=dict)  # partitions written per table


def export(
    con: duckdb.DuckDBPyConnection,
    folder: Path,
    *,
    since: date | None = None,
    until: date | None = None,
    raw_retention_days: float = 0,
    grace_s: float = 3600,
    force: bool = False,
    now: datetime | None = None,
    progress: Progress | None = None,
) -> ExportReport:
    """Export the closed UTC days in `[since, until)` (default: all of them) into `folder`.

    `force` rewrites unchanged partitions too. Raw events older than `raw_retention_days`
    (0: kept forever) leave the dataset as they leave the store. Files replaced more than
    `grace_s` ago are deleted.
    """
    started = time.monotonic()
    moment = now or datetime.now(UTC)
    today = moment.astimezone(UTC).date()
    hi = min(until, today) if until is not None else today
    folder.mkdir(parents=True, exist_ok=True)
    with _exclusive(folder):
        old = read_manifest(folder) or Manifest()
        new = Manifest(old.version + 1, moment.timestamp(), {}, list(old.retired))
        report = ExportReport(version=new.version)
        plans = _plan(con, old, since, hi, force)
        total = sum(len(p.changed) for p in plans)
        done = 0
        for plan in plans:
            parts = dict(old.tables.get(plan.table, {}))
            for key in plan.gone:
                new.retired.append(Retired(parts.pop(key).file, moment.timestamp()))
                report.removed += 1
            for key, (rows, fingerprint) in plan.changed.items():
                part = _write_part(con, folder, plan.table, key, new.version, rows, fingerprint)
                if key in parts:
                    new.retired.append(Retired(parts[key].file, moment.timestamp()))
                parts[key] = part
                report.rows += rows
                report.bytes += (folder / part.file).stat().st_size
                done += 1
                if progress is not None:
                    progress(done, total, plan.table)
            report.written += len(plan.changed)
            report.unchanged += plan.unchanged
            report.tables[plan.table] = len(plan.changed)
            new.tables[plan.table] = parts
        report.removed += _drop_old_raw(new, raw_retention_days, moment)
        if report.written or report.removed or not (folder / "manifest.json").exists():
            write_manifest(folder, new)
            kept = new
        else:
            kept = old  # nothing changed: the old manifest stays, with no new version
            report.version = old.version
        report.files_deleted = _delete_expired(folder, kept, grace_s, moment.timestamp())
    report.seconds = time.monotonic() - started
    return report


@dataclass
class _Plan:
    table: str
    changed: dict[str, tuple[int, str]]  # partition key -> (rows, fingerprint) to write
    gone: list[str]  # partitions in the manifest, in the range, no longer in the store
    unchanged: int


def _plan(
    con: duckdb.DuckDBPyConnection, old: Manifest, lo: date | None, hi: date, force: bool
) -> list[_Plan]:
    plans = []
    for table, column in PARTITIONED.items():
        current = _fingerprints(con, table, column, lo, hi)
        known = old.tables.get(table, {})
        in_range = [k for k in known if _in_range(k, lo, hi)]
        plans.append(_diff(table, current, known, in_range, force))
    for table in UNPARTITIONED:
        current = _fingerprints(con, table, None, None, hi)
        known = old.tables.get(table, {})
        plans.append(_diff(table, current, known, list(known), force))
    return plans


def _diff(
    table: str,
    current: dict[str, tuple[int, str]],
    known: dict[str, Part],
    in_range: list[str],
    force: bool,
) -> _Plan:
    changed = {
        key: value
        for key, value in current.items()
        if force or key not in known or known[key].fingerprint != value[1]
    }
    gone = [key for key in in_range if key not in current]
    return _Plan(table, changed, gone, len(current) - len(changed))


def _fingerprints(
    con: duckdb.DuckDBPyConnection, table: str, column: str | None, lo: date | None, hi: date
) -> dict[str, tuple[int, str]]:
    """Per partition key: rows and a fingerprint of their content and rowids."""
    # hash(t) hashes the whole row as a struct; bit_xor makes it independent of scan order,
    # and the rowid in the hash keeps two equal rows from cancelling out.
    if column is None:
        sql = f"SELECT {WHOLE!r}, count(*), bit_xor(hash(t.rowid, t)) FROM {table} AS t"  # noqa: S608 (fixed names)
        rows = con.execute(sql).fetchall()
        return {key: (n, f"{n}:{h}") for key, n, h in rows if n}
    sql = (
        f"SELECT CAST(timezone('UTC', t.{column}) AS DATE) AS day, t.pbx, count(*), "  # noqa: S608 (fixed names)
        f"bit_xor(hash(t.rowid, t)) FROM {table} AS t "
        f"WHERE ($lo IS NULL OR t.{column} >= CAST($lo AS TIMESTAMPTZ)) "
        f"AND t.{column} < CAST($hi AS TIMESTAMPTZ) GROUP BY ALL"
    )
    params = {"lo": _midnight(lo) if lo else None, "hi": _midnight(hi)}
    rows = con.execute(sql, params).fetchall()
    return {f"{day.isoformat()}/{pbx}": (n, f"{n}:{h}") for day, pbx, n, h in rows}


def _write_part(
    con: duckdb.DuckDBPyConnection,
    folder: Path,
    table: str,
    key: str,
    version: int,
    rows: int,
    fingerprint: str,
) -> Part:
    """Write one partition to a new file name (temporary name first, renamed when whole)."""
    name = f"v{version:06d}-{secrets.token_hex(4)}.parquet"
    column = PARTITIONED.get(table)
    if column is None:
        relative = Path(table) / name
        sql = f"SELECT *, rowid AS rowid FROM {table} ORDER BY rowid"  # noqa: S608 (fixed names)
        params: dict[str, object] = {}
    else:
        day_text, pbx = key.split("/", 1)
        day = date.fromisoformat(day_text)
        relative = Path(table) / f"date={day_text}" / f"pbx={quote(pbx, safe='')}" / name
        sql = (
            f"SELECT *, rowid AS rowid FROM {table} WHERE pbx = $pbx "  # noqa: S608 (fixed names)
            f"AND {column} >= CAST($lo AS TIMESTAMPTZ) AND {column} < CAST($hi AS TIMESTAMPTZ) "
            "ORDER BY rowid"
        )
        params = {"pbx": pbx, "lo": _midnight(day), "hi": _midnight(day + timedelta(days=1))}
    path = folder / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".tmp-{name}")
    reader = con.sql(sql, params=params).to_arrow_reader(BATCH_ROWS)
    with pq.ParquetWriter(tmp, reader.schema, compression="zstd") as writer:
        for batch in reader:
            writer.write_batch(batch)
    with tmp.open("rb") as f:
        os.fsync(f.fileno())
    os.replace(tmp, path)
    sync_dir(path.parent)
    return Part(relative.as_posix(), rows, fingerprint)


def _drop_old_raw(manifest: Manifest, keep_days: float, now: datetime) -> int:
    """Retire raw-event partitions whose whole day is past the retention, as the store prunes
    them (storage/retention.py)."""
    if keep_days <= 0:
        return 0
    cutoff = now - timedelta(days=keep_days)
    parts = manifest.tables.get("raw_events", {})
    old = [k for k in parts if _midnight(date.fromisoformat(k[:10]) + timedelta(days=1)) <= cutoff]
    for key in old:
        manifest.retired.append(Retired(parts.pop(key).file, now.timestamp()))
    return len(old)


def _delete_expired(folder: Path, manifest: Manifest, grace_s: float, now: float) -> int:
    """Delete retired files past the grace period, and files no manifest ever listed (a
    crashed export's); keep the rest. Rewrites the manifest when its retired list shrinks."""
    listed = {p.file for parts in manifest.tables.values() for p in parts.values()}
    retired = {r.file for r in manifest.retired}
    expired = [r for r in manifest.retired if now - r.at >= grace_s]
    deleted = 0
    for path in _data_files(folder):
        relative = path.relative_to(folder).as_posix()
        orphan = relative not in listed and relative not in retired
        if orphan or relative in {r.file for r in expired}:
            path.unlink(missing_ok=True)
            deleted += 1
    if expired:
        manifest.retired = [r for r in manifest.retired if r not in expired]
        write_manifest(folder, manifest)
    return deleted


def _data_files(folder: Path) -> Iterator[Path]:
    """Every data file of the exported tables, finished or not (`.tmp-*`)."""
    for table in [*PARTITIONED, *UNPARTITIONED]:
        if (folder / table).is_dir():
            yield from (folder / table).rglob("*.parquet")  # `.tmp-*.parquet` too


def _in_range(key: str, lo: date | None, hi: date) -> bool:
    day = date.fromisoformat(key[:10])
    return (lo is None or day >= lo) and day < hi


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


@contextmanager
def _exclusive(folder: Path) -> Iterator[None]:
    """One export into a folder at a time (the service's job and the CLI may both try)."""
    with (folder / ".lock").open("w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise StoreError(f"another export into {folder} is running; try again later") from None
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
