"""Run the demo PBX on its own: `python -m demo --port 5038 --speed 10 --queue-log FILE`.

Any AMI client (the collector, `telnet`, panoramisk) can then log in with the printed user and
secret. Ctrl-C stops it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import logging
from pathlib import Path

from demo.config import DemoSettings, staff
from demo.pbx import DemoPbx


def parse_args(argv: list[str] | None = None) -> tuple[DemoSettings, bool]:
    """The settings the command line asks for, and whether to exit once traffic is over."""
    a = _parser().parse_args(argv)
    d = DemoSettings()
    agents = d.agents if a.agents is None else staff(a.agents, d.queues)
    settings = dataclasses.replace(
        d, agents=agents, host=a.host, port=a.port, username=a.username, secret=a.secret,
        speed=a.speed, calls_per_hour=a.calls_per_hour, seed=a.seed, warmup_s=a.warmup,
        duration_s=a.duration, queue_log=a.queue_log,
    )  # fmt: skip
    return settings, a.exit_when_done


def _parser() -> argparse.ArgumentParser:
    d = DemoSettings()
    p = argparse.ArgumentParser(prog="python -m demo", description=__doc__.splitlines()[0])
    p.add_argument("--host", default=d.host)
    p.add_argument("--port", type=int, default=5038, help="AMI port (0: any free one)")
    p.add_argument("--username", default=d.username)
    p.add_argument("--secret", default=d.secret)
    p.add_argument(
        "--speed",
        type=float,
        default=d.speed,
        help="simulated seconds per second; 'inf': as fast as clients read",
    )
    p.add_argument(
        "--calls-per-hour",
        type=float,
        default=d.calls_per_hour,
        help="arrival rate at the peak of the day (load tests: far above real)",
    )
    p.add_argument(
        "--agents",
        type=int,
        default=None,
        help=f"this many agents over the queues (default: the {len(d.agents)} named ones)",
    )
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--warmup", type=float, default=d.warmup_s, help="simulated seconds")
    p.add_argument(
        "--duration",
        type=float,
        default=None,
        help="simulated seconds of arrivals (default: no end)",
    )
    p.add_argument("--queue-log", type=Path, default=None, help="append queue_log lines here")
    p.add_argument(
        "--exit-when-done",
        action="store_true",
        help="exit once --duration is over and every call has ended",
    )
    return p


async def serve(settings: DemoSettings, exit_when_done: bool) -> None:
    """Run the demo PBX until cancelled (or until its traffic is over, if asked)."""
    async with DemoPbx(settings) as pbx:
        where = f"{pbx.host}:{pbx.port}"
        print(f"demo PBX (Asterisk 16 AMI) on {where}, user {pbx.username!r}, "
              f"secret {pbx.secret!r}, speed {settings.speed:g}x", flush=True)  # fmt: skip
        if pbx.queue_log is not None:
            print(f"queue_log: {pbx.queue_log}", flush=True)
        if exit_when_done:
            await pbx.quiet.wait()
        else:
            await asyncio.Event().wait()


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    settings, exit_when_done = parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(settings, exit_when_done))


if __name__ == "__main__":
    main()
