"""The named queries over a Parquet export instead of the live store.

`dataset_connection(folder)` opens an in-memory DuckDB whose tables are named like the store's
(storage/schema.sql): each exported table is a view over exactly the files the export's
manifest listed when the connection opened; a table never exported is an empty table (the
rollups, storage/rollups.py, are computed from the exported stays when an older export lacks
them). The same
`queries.run(name, con, ...)` then gives the same numbers as on the store, for the days the
export holds, while the service runs and keeps writing its own file.

A connection keeps the version it opened with: open a new one to see a newer export. An
export deletes the files it replaced only after its grace period (`export_grace_min`), so a
connection used for longer than that may find its files gone.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from errors import StoreError
from storage import agent_days, member_changes, rollups
from storage.manifest import MANIFEST, read_manifest
from storage.store import SCHEMA_SQL, configure


def dataset_connection(folder: Path | str) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with views named like the store's tables over the export."""
    folder = Path(folder)
    manifest = read_manifest(folder)
    if manifest is None:
        raise StoreError(
            f"{folder / MANIFEST} does not exist: no export there yet (the service writes one "
            "every export_every_min into export_dir; or run `python -m storage export`)"
        )
    con = duckdb.connect(":memory:")
    configure(con)
    con.execute(SCHEMA_SQL.read_text())
    for table in manifest.tables:
        files = [str(folder / f) for f in manifest.files(table)]
        if not files:
            continue
        # A relation's view, not SQL text: the file names never have to be quoted into SQL.
        con.execute("DROP TABLE IF EXISTS " + _known(con, table))
        relation = con.read_parquet(files, union_by_name=True)
        relation.create_view(table, replace=True)
    # An export written before the rollups were exported lacks them, or has them with an older
    # version's columns or rows (stay_waits without the stays of unknown wait): computed here
    # from the exported stays, as the store would.
    exported = set(rollups.TABLES) <= set(manifest.tables)
    older = bool(rollups.reshaped(con)) or (exported and rollups.stale(con))
    if older:  # every exported rollup back to an empty table, for rebuild to fill
        views = {row[0] for row in con.execute("SELECT view_name FROM duckdb_views()").fetchall()}
        for view in set(rollups.TABLES) & views:
            rollups.replace_with_empty(con, view)
    if older or not exported:
        rollups.rebuild(con, callers=True)
    # Not exported: agent_summary's presence changes, computed from the exported changelog
    # (its files keep the store's rowid, the order they fold by).
    member_changes.rebuild(con)
    agent_days.rebuild(con)  # and the presence per hour and day folded from them
    return con


def dataset_files(folder: Path | str, table: str) -> list[Path]:
    """The files that make up `table` in the export now, for pandas, polars or Spark. Each
    holds every column (pbx too): read them with hive partition discovery off, e.g.
    `pd.read_parquet(files, partitioning=None)`."""
    folder = Path(folder)
    manifest = read_manifest(folder)
    if manifest is None:
        raise StoreError(f"{folder / MANIFEST} does not exist: no export there yet")
    return [folder / f for f in manifest.files(table)]


def _known(con: duckdb.DuckDBPyConnection, table: str) -> str:
    """`table` when the store's schema has it (the only names that reach SQL text here)."""
    names = {row[0] for row in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    if table not in names:
        raise StoreError(f"the export lists a table {table!r} the store does not have")
    return table
