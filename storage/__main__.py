"""`python -m storage import-queue-log FILE --pbx NAME [--db FILE] [--config FILE]`.

Loads an Asterisk queue_log into the store: years of history on the pages from the first day.
Idempotent (loading a file twice changes nothing), shows progress, reports bad lines and goes
on. The service holds the store while it runs: stop it first.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from errors import CallboardError
from settings import load_settings
from storage.backfill import BackfillReport, backfill_file
from storage.store import Store

SHOWN_BAD_LINES = 10


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m storage",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    load = sub.add_parser("import-queue-log", help="load a queue_log file")
    load.add_argument("file", type=Path)
    load.add_argument("--pbx", required=True, help="the PBX name its rows are tagged with")
    load.add_argument("--db", type=Path, help="DuckDB file (default: db_path of the settings)")
    load.add_argument("--config", type=Path, help="TOML settings file")
    args = parser.parse_args(argv)
    try:
        db = args.db or load_settings(args.config).db_path
        if not args.file.is_file():
            raise CallboardError(f"{args.file} is not a file")
        with Store(db) as store:
            report = backfill_file(store, args.file, args.pbx, progress=_progress)
    except CallboardError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    _print(report)
    return 0


def _progress(done: int, total: int) -> None:
    print(f"\r{done / max(total, 1):6.1%} of {total / 1e6:.1f} MB", end="", file=sys.stderr,
          flush=True)  # fmt: skip


def _print(r: BackfillReport) -> None:
    print(file=sys.stderr)
    print(
        f"{r.lines} lines in {r.seconds:.1f} s ({r.lines_per_s:,.0f} lines/s): "
        f"{r.calls_added} calls added ({r.calls_replaced} replacing unknown gap stays), "
        f"{r.calls_known} already known, {r.open_calls} still open, "
        f"{r.orphan_lines} lines without their ENTERQUEUE, {r.bad_line_count} bad lines"
    )
    for number, reason in r.bad_lines[:SHOWN_BAD_LINES]:
        print(f"  line {number}: {reason}")
    if r.bad_line_count > SHOWN_BAD_LINES:
        print(f"  ... and {r.bad_line_count - SHOWN_BAD_LINES} more")


if __name__ == "__main__":
    sys.exit(main())
