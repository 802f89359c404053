"""`python -m storage import-queue-log FILE --pbx NAME [--db FILE] [--config FILE]`
`python -m storage export [--since DAY] [--until DAY] [--dir DIR] [--db FILE] [--config FILE]`

import-queue-log loads an Asterisk queue_log into the store: years of history on the pages
from the first day. Idempotent (loading a file twice changes nothing), shows progress, reports
bad lines and goes on. Calls the collector missed are added; agent presence (ADDMEMBER,
REMOVEMEMBER, PAUSE, UNPAUSE lines) only for the time before the collector's first member row
for the PBX, where it has none of its own. queue_log names a paused member by its member name:
the interface is the one the collector saw with that name, or give it with --member
NAME=INTERFACE (repeatable); lines of a name with neither are counted and left out.

export writes the closed UTC days in [since, until) to the Parquet dataset (storage/export.py),
as the service's scheduled job does; days already exported and unchanged are skipped.

The service holds the store while it runs: stop it first (it exports by itself meanwhile).
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

from errors import CallboardError
from settings import load_settings, valid_name
from storage.backfill import BackfillReport, backfill_file
from storage.export import ExportReport, export
from storage.store import Store, connect

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
    load.add_argument(
        "--member", action="append", default=[], metavar="NAME=INTERFACE",
        help="the interface of a queue member name, e.g. Alice=PJSIP/1001 (repeatable)",
    )  # fmt: skip
    out = sub.add_parser("export", help="export closed days to the Parquet dataset")
    out.add_argument("--since", type=_day, help="first UTC day, YYYY-MM-DD (default: the first)")
    out.add_argument("--until", type=_day, help="day after the last (default: today, not closed)")
    out.add_argument("--dir", type=Path, help="export folder (default: export_dir of the settings)")
    out.add_argument("--force", action="store_true", help="rewrite unchanged days too")
    out.add_argument("--db", type=Path, help="DuckDB file (default: db_path of the settings)")
    out.add_argument("--config", type=Path, help="TOML settings file")
    args = parser.parse_args(argv)
    if args.command == "export":
        return _export(args)
    try:
        if not valid_name(args.pbx):  # the rule of [[pbx]] name: rows are tagged with it
            raise CallboardError(
                f"--pbx: must be 1-64 letters, digits, '.', '_' or '-', not {args.pbx[:80]!r}"
            )
        members = _members(args.member)
        db = args.db or load_settings(args.config).db_path
        if not args.file.is_file():
            raise CallboardError(f"{args.file} is not a file")
        with Store(db) as store:
            report = backfill_file(store, args.file, args.pbx, progress=_progress, members=members)
    except CallboardError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    _print(report)
    return 0


def _export(args: argparse.Namespace) -> int:
    try:
        settings = load_settings(args.config)
        db = args.db or settings.db_path
        if not db.exists():
            raise CallboardError(f"{db} does not exist")
        con = connect(db, read_only=True)
        try:
            report = export(
                con,
                args.dir or settings.export_path,
                since=args.since,
                until=args.until,
                raw_retention_days=settings.raw_retention_days,
                grace_s=settings.export_grace_min * 60,
                force=args.force,
                progress=_export_progress,
            )
        finally:
            con.close()
    except CallboardError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    _print_export(report, args.dir or settings.export_path)
    return 0


def _members(pairs: list[str]) -> dict[str, str]:
    members = {}
    for pair in pairs:
        name, _, interface = pair.partition("=")
        if not name or not interface or len(pair) > 200:
            raise CallboardError(
                f"--member: NAME=INTERFACE, e.g. Alice=PJSIP/1001, not {pair[:80]!r}"
            )
        members[name] = interface
    return members


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a day like 2026-11-02") from None


def _export_progress(done: int, total: int, table: str) -> None:
    print(f"\r{done}/{total} partitions ({done / max(total, 1):6.1%}) {table:<20}", end="",
          file=sys.stderr, flush=True)  # fmt: skip


def _print_export(r: ExportReport, folder: Path) -> None:
    print(file=sys.stderr)
    print(
        f"{folder}: version {r.version}, {r.written} partitions written ({r.rows} rows, "
        f"{r.bytes / 1e6:.1f} MB), {r.unchanged} unchanged, {r.removed} removed, "
        f"{r.files_deleted} old files deleted, in {r.seconds:.1f} s"
    )


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
    print(
        f"agent presence: {r.member_states_added} member states added "
        f"({r.member_rows_in_outages} inside the collector's AMI outages), "
        f"{r.member_rows_observed} left to the collector's own"
    )
    for name, lines in r.unmapped_members.most_common(SHOWN_BAD_LINES):
        print(f"  member {name!r}: {lines} lines left out, interface not known (--member)")
    for number, reason in r.bad_lines[:SHOWN_BAD_LINES]:
        print(f"  line {number}: {reason}")
    if r.bad_line_count > SHOWN_BAD_LINES:
        print(f"  ... and {r.bad_line_count - SHOWN_BAD_LINES} more")


if __name__ == "__main__":
    sys.exit(main())
