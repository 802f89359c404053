"""The export dataset's manifest: which Parquet files make up each table, swapped last.

Layout of an export folder (hive style, one folder per UTC date and PBX):

    manifest.json                                      <- the pointer readers start from
    queue_calls/date=2026-11-02/pbx=main/v000007-3f2a9c1e.parquet
    agents/v000007-9b0c11d2.parquet                   <- configuration: one file, no partitions

Replacing a Parquet file in place, even by an atomic rename, broke a concurrent DuckDB reader
about once in 500 queries (issue 7), and deleting files a reader had listed broke it too. So a
file is never rewritten: each export writes new file names, then swaps `manifest.json` by
`os.replace` (atomic on POSIX), and files a manifest no longer lists are deleted only after a
grace period. A reader reads the manifest once and opens exactly the files it lists.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from errors import StoreError

MANIFEST = "manifest.json"
FORMAT = 1


@dataclass(frozen=True)
class Part:
    """One partition's current file: `file` is relative to the export folder."""

    file: str
    rows: int
    fingerprint: str


@dataclass(frozen=True)
class Retired:
    """A file no manifest lists any more, kept until `at + grace` for readers that have it."""

    file: str
    at: float  # epoch seconds when it left the manifest


@dataclass
class Manifest:
    """Every exported table's partitions (key `YYYY-MM-DD/pbx`, or `all` when unpartitioned)."""

    version: int = 0
    written_at: float = 0.0
    tables: dict[str, dict[str, Part]] = field(default_factory=dict)
    retired: list[Retired] = field(default_factory=list)

    def files(self, table: str) -> list[str]:
        """The table's files, relative to the export folder, in partition order."""
        parts = self.tables.get(table, {})
        return [parts[key].file for key in sorted(parts)]

    def to_json(self) -> str:
        tables = {t: {k: asdict(p) for k, p in sorted(ps.items())} for t, ps in self.tables.items()}
        data = {
            "format": FORMAT,
            "version": self.version,
            "written_at": self.written_at,
            "tables": tables,
            "retired": [asdict(r) for r in self.retired],
        }
        return json.dumps(data, indent=1)


def read_manifest(directory: Path) -> Manifest | None:
    """The folder's manifest, or None when nothing was exported there yet."""
    path = directory / MANIFEST
    try:
        data: dict[str, Any] = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as e:
        raise StoreError(f"cannot read the export manifest {path}: {e}") from None
    if data.get("format") != FORMAT:
        raise StoreError(f"{path}: unknown manifest format {data.get('format')!r}")
    return Manifest(
        version=int(data["version"]),
        written_at=float(data["written_at"]),
        tables={
            table: {key: Part(**part) for key, part in parts.items()}
            for table, parts in data["tables"].items()
        },
        retired=[Retired(**r) for r in data["retired"]],
    )


def write_manifest(directory: Path, manifest: Manifest) -> None:
    """Write the manifest beside the old one, flush it to disk, then swap it in atomically."""
    tmp = directory / f".{MANIFEST}.tmp"
    with tmp.open("w") as f:
        f.write(manifest.to_json())
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, directory / MANIFEST)
    sync_dir(directory)


def sync_dir(directory: Path) -> None:
    """fsync a folder, so that renames in it survive a power cut."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
