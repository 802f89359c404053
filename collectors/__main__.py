"""Headless collection: the service's lifecycle without the web pages.

    python -m collectors run --config callboard.toml
    python -m collectors run --ami ami://USER[:SECRET]@HOST[:PORT] --name NAME --db FILE
        (the secret from the URL, or from $CALLBOARD_AMI_SECRET)

SIGTERM or SIGINT stops collection, writes every row received and exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import logging
import os
import signal
import sys
from pathlib import Path
from urllib.parse import unquote, urlsplit

from errors import CallboardError, ConfigError
from service import Service
from settings import PbxSettings, Settings, load_settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m collectors",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="collect until SIGTERM/SIGINT")
    run.add_argument("--config", type=Path, help="TOML settings file")
    run.add_argument("--ami", help="ami://USER[:SECRET]@HOST[:PORT] (instead of --config)")
    run.add_argument("--name", default="pbx", help="PBX name for --ami")
    run.add_argument("--db", type=Path, help="DuckDB file (overrides the config)")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        settings = _settings(args)
        asyncio.run(_run(settings))
    except CallboardError as e:  # a bad setting, or the DuckDB file held by another process
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


def _settings(args: argparse.Namespace) -> Settings:
    settings = load_settings(args.config)
    if args.ami:
        settings = dataclasses.replace(settings, pbx=(_pbx_from_url(args.ami, args.name),))
    if args.db:
        settings = dataclasses.replace(settings, db_path=args.db)
    return settings


def _pbx_from_url(url: str, name: str) -> PbxSettings:
    parts = urlsplit(url)
    if parts.scheme != "ami" or not parts.hostname or not parts.username:
        raise ConfigError("--ami: expected ami://USER[:SECRET]@HOST[:PORT]")
    secret = unquote(parts.password or "") or os.environ.get("CALLBOARD_AMI_SECRET", "")
    try:
        port = parts.port or 5038
    except ValueError:
        raise ConfigError("--ami: the port must be a number between 1 and 65535") from None
    return PbxSettings(
        name=name, host=parts.hostname, port=port, username=unquote(parts.username), secret=secret
    )


async def _run(settings: Settings) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    # Leaving the block stops the collectors (each writes its closing connection_sessions row
    # and takes its waiting callers off the live view), then writes every queued row.
    async with Service(settings):
        await stop.wait()
        logging.getLogger(__name__).info("stopping: flushing everything received")


if __name__ == "__main__":
    sys.exit(main())
