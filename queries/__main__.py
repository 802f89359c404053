"""`python -m queries NAME --db FILE [--param key=value ...] [--format table|csv|json]`.

Prints any named query. The service holds the DuckDB file while it runs; the CLI then says so
plainly instead of failing with a lock error.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import queries
from errors import CallboardError
from storage.store import connect


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m queries", description=__doc__)
    parser.add_argument("name", help=f"one of: {', '.join(queries.names())}")
    parser.add_argument("--db", type=Path, required=True, help="the DuckDB file")
    parser.add_argument("--param", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--format", choices=("table", "csv", "json"), default="table")
    args = parser.parse_args(argv)
    try:
        params = {key: queries.from_text(key, value) for key, value in map(_pair, args.param)}
        if not args.db.exists():
            raise CallboardError(f"{args.db} does not exist")
        con = connect(args.db, read_only=True)
        try:
            frame = queries.run(args.name, con, **params)
        finally:
            con.close()
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


def _pair(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise CallboardError(f"--param {text!r}: expected KEY=VALUE")
    return key, value


if __name__ == "__main__":
    sys.exit(main())
