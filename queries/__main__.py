"""`python -m queries NAME (--db FILE | --dataset DIR) [--param key=value ...] [--format ...]`.

Prints any named query, from the DuckDB file or from a Parquet export (`--dataset`, the
service's export_dir). The service holds the DuckDB file while it runs; the CLI then says so
plainly and points to the export, which can be read at any time.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import duckdb

import queries
from errors import CallboardError, StoreBusyError
from settings import load_settings
from storage.store import connect


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m queries", description=__doc__)
    parser.add_argument("name", help=f"one of: {', '.join(queries.names())}")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--db", type=Path, help="the DuckDB file (only while the service is stopped)"
    )
    source.add_argument("--dataset", type=Path, help="a Parquet export folder (at any time)")
    parser.add_argument("--param", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--format", choices=("table", "csv", "json"), default="table")
    args = parser.parse_args(argv)
    try:
        params = {key: queries.from_text(key, value) for key, value in map(_pair, args.param)}
        con = _open(args.db, args.dataset)
        try:
            frame = queries.run(args.name, con, **params)
        finally:
            con.close()
    except StoreBusyError as e:
        print(f"error: {e}", file=sys.stderr)
        hint = f"python -m queries {args.name} --dataset {_export_dir()}"
        print(f"the service exports closed days to Parquet; read them with {hint}", file=sys.stderr)
        return 2
    except CallboardError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args.format == "csv":
        frame.to_csv(sys.stdout, index=False)
    elif args.format == "json":
        print(frame.to_json(orient="records", date_format="iso", indent=1))
    else:
        print(frame.to_string(index=False) if len(frame) else "(no rows)")
    return 0


def _open(db: Path | None, dataset: Path | None) -> duckdb.DuckDBPyConnection:
    if dataset is not None:
        return queries.dataset_connection(dataset)
    assert db is not None  # argparse requires one of the two
    if not db.exists():
        raise CallboardError(f"{db} does not exist")
    return connect(db, read_only=True)


def _export_dir() -> Path:
    try:
        return load_settings().export_path
    except CallboardError:
        return Path("data/export")


def _pair(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise CallboardError(f"--param {text!r}: expected KEY=VALUE")
    return key, value


if __name__ == "__main__":
    sys.exit(main())
