"""Realtime page under load: first render, server CPU per live refresh, live tabs at 2 s.

    .venv/bin/python bench/pages.py                      # 10, 30, 60 tabs, 60 s each
    .venv/bin/python bench/pages.py --tabs 30 90 --seconds 90 --wallboard

Starts the real service (`python dashboard.py`, the demo PBX as its data source, as `make run`
on a fresh machine) and opens N tabs as **websocket clients that speak Streamlit's protocol**
(what the browser's JavaScript does, without a browser's own CPU): each sends the page run
(`rerun_script` with the URL's query string), then, as the server asks (`auto_rerun`, the
fragment's `run_every`), a fragment rerun every 2 s on its own clock, as the browser's timer
does. An update is late by (time its `script_finished` arrived) - (its scheduled time);
"live" means no update of any tab late by more than one interval (2 s) and none missed.
Server CPU = utime + stime of the service process (/proc) over the measured window / the
fragment reruns served meanwhile. First render = connect to the first `script_finished` of
the page run, one tab alone, 20 times. Results go to stdout as Markdown (bench/README.md).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.probes import percentile, say
from tests.service_process import running_service

TICK = os.sysconf("SC_CLK_TCK")


def process_cpu_s(pid: int) -> float:
    """utime + stime of one process (its threads included), in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


@dataclass
class Tab:
    """One websocket client: the page run, then fragment reruns on its own 2 s clock."""

    url: str
    query: str
    lateness: list[float] = field(default_factory=list)  # per update, seconds
    missed: int = 0  # scheduled updates still unanswered at the end
    first_render_s: float | None = None
    reruns: int = 0

    async def run(self, until: float, measure_from: float) -> None:
        async with websockets.connect(self.url, subprotocols=["streamlit"], max_size=None) as ws:  # type: ignore[list-item]
            started = time.monotonic()
            await ws.send(_rerun(self.query, "", None))
            page_hash, fragment, interval = "", None, 2.0
            # The page run: until it finished and the server armed the fragment's timer.
            while fragment is None or self.first_render_s is None:
                msg = _parse(await ws.recv())
                if msg.HasField("new_session"):
                    page_hash = msg.new_session.page_script_hash
                elif msg.HasField("auto_rerun"):
                    fragment, interval = msg.auto_rerun.fragment_id, msg.auto_rerun.interval
                elif msg.HasField("script_finished") and self.first_render_s is None:
                    self.first_render_s = time.monotonic() - started
            await self._refresh(ws, page_hash, fragment, interval, until, measure_from)

    async def _refresh(
        self, ws: websockets.ClientConnection, page_hash: str, fragment: str,
        interval: float, until: float, measure_from: float,
    ) -> None:  # fmt: skip
        pending: list[float] = []  # scheduled times of reruns sent and not answered yet
        next_at = time.monotonic() + interval

        async def timer() -> None:
            nonlocal next_at
            while next_at < until:
                await asyncio.sleep(max(0.0, next_at - time.monotonic()))
                pending.append(next_at)
                await ws.send(_rerun(self.query, page_hash, fragment))
                next_at += interval

        sender = asyncio.create_task(timer())
        try:
            while time.monotonic() < until + interval or pending:
                try:
                    raw = await asyncio.wait_for(
                        ws.recv(), timeout=max(0.1, until + 5 - time.monotonic())
                    )
                except TimeoutError:
                    break
                msg = _parse(raw)
                if msg.HasField("script_finished") and pending:
                    scheduled = pending.pop(0)
                    self.reruns += 1
                    if scheduled >= measure_from:
                        self.lateness.append(time.monotonic() - scheduled)
        finally:
            sender.cancel()
        self.missed = len([p for p in pending if p >= measure_from])


@dataclass
class Poller:
    """One /wallboard screen: GET /live/board every 2 s on one keep-alive connection."""

    host: str
    port: int
    query: str
    lateness: list[float] = field(default_factory=list)
    missed: int = 0
    first_render_s: float | None = None
    reruns: int = 0

    async def run(self, until: float, measure_from: float) -> None:
        reader, writer = await asyncio.open_connection(self.host, self.port)
        request = (f"GET /live/board?{self.query} HTTP/1.1\r\nHost: {self.host}\r\n"
                   "Connection: keep-alive\r\n\r\n").encode()  # fmt: skip
        next_at = time.monotonic()
        try:
            while next_at < until:
                await asyncio.sleep(max(0.0, next_at - time.monotonic()))
                writer.write(request)
                await writer.drain()
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                              if line.lower().startswith(b"content-length"))  # fmt: skip
                await reader.readexactly(length)
                self.reruns += 1
                if next_at >= measure_from:
                    self.lateness.append(time.monotonic() - next_at)
                next_at += 2.0
        finally:
            writer.close()


def _rerun(query: str, page_hash: str, fragment: str | None) -> bytes:
    msg = BackMsg()
    state = msg.rerun_script
    state.query_string = query
    state.page_script_hash = page_hash
    if fragment is not None:
        state.fragment_id = fragment
        state.is_auto_rerun = True
    return msg.SerializeToString()


def _parse(raw: str | bytes) -> ForwardMsg:
    msg = ForwardMsg()
    msg.ParseFromString(raw if isinstance(raw, bytes) else raw.encode())
    return msg


async def first_render(ws_url: str, query: str, times: int) -> list[float]:
    out = []
    for _ in range(times):
        tab = Tab(ws_url, query)
        await tab.run(until=time.monotonic() + 0.01, measure_from=float("inf"))
        if tab.first_render_s is not None:
            out.append(tab.first_render_s)
    return out


async def load(
    ws_url: str, query: str, tabs: int, seconds: float, pid: int, http: bool = False
) -> dict[str, float]:
    """`tabs` clients for `seconds` (the first 10 s, while they connect, not measured)."""
    start = time.monotonic()
    measure_from = start + 10
    until = measure_from + seconds
    hostport = ws_url.split("//")[1].split("/")[0]
    host, port = hostport.split(":")
    clients: list[Tab | Poller] = [
        Poller(host, int(port), query) if http else Tab(ws_url, query) for _ in range(tabs)
    ]
    tasks = [asyncio.create_task(c.run(until, measure_from)) for c in clients]
    await asyncio.sleep(max(0.0, measure_from - time.monotonic()))
    cpu0, reruns0 = process_cpu_s(pid), sum(c.reruns for c in clients)
    await asyncio.sleep(max(0.0, until - time.monotonic()))
    cpu1, reruns1 = process_cpu_s(pid), sum(c.reruns for c in clients)
    results = await asyncio.gather(*tasks, return_exceptions=True)
    errors = [r for r in results if isinstance(r, BaseException)]
    late = [x for c in clients for x in c.lateness]
    served = max(1, reruns1 - reruns0)
    return {
        "tabs": tabs, "errors": len(errors), "updates": len(late),
        "missed": sum(c.missed for c in clients),
        "p50": percentile(late, 50) if late else float("nan"),
        "p95": percentile(late, 95) if late else float("nan"),
        "max": max(late) if late else float("nan"),
        "over_interval": sum(1 for x in late if x > 2.0),
        "cpu_cores": (cpu1 - cpu0) / seconds,
        "cpu_ms_per_refresh": 1000 * (cpu1 - cpu0) / served,
        "load1": os.getloadavg()[0],  # the machine is shared: how busy it was meanwhile
    }  # fmt: skip


def measure(
    base: str, pid: int, query: str, args: argparse.Namespace
) -> tuple[list[dict[str, float]], list[float], float]:
    """Idle CPU, first render, then each tab count in turn, against the server at `base`."""
    ws_url = base.replace("http://", "ws://") + "/_stcore/stream"
    say(f"server on {base} (pid {pid}); warming up 10 s")
    time.sleep(10)
    idle0 = process_cpu_s(pid)
    time.sleep(10)
    idle = (process_cpu_s(pid) - idle0) / 10
    renders = [] if args.http else asyncio.run(first_render(ws_url, query, 20))
    if renders:
        say(f"first render: median {statistics.median(renders) * 1000:.0f} ms")
    rows = []
    for n in args.tabs:
        say(f"{n} tabs for {args.seconds:.0f} s ...")
        rows.append(asyncio.run(load(ws_url, query, n, args.seconds, pid, args.http)))
        say(str(rows[-1]))
    return rows, renders, idle


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tabs", type=int, nargs="+", default=[10, 30, 60])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--wallboard", action="store_true", help="?wallboard=1 instead")
    parser.add_argument("--http", action="store_true",
                        help="tabs are /wallboard screens polling /live/board")  # fmt: skip
    parser.add_argument("--attach", nargs=2, metavar=("URL", "PID"),
                        help="measure a server already running (e.g. a baseline app)")  # fmt: skip
    args = parser.parse_args()
    query = "wallboard=1&queues=support,sales" if args.wallboard or args.http else ""
    with tempfile.TemporaryDirectory() as folder:
        if args.attach:
            rows, renders, idle = measure(args.attach[0], int(args.attach[1]), query, args)
        else:
            with running_service(Path(folder), "") as (base, proc):
                rows, renders, idle = measure(base, proc.pid, query, args)
    path = "/live/board" if args.http else "/"
    print(f"view: `{path}{'?' + query if query else ''}`; server idle: {idle:.3f} cores")
    if renders:
        median, p95 = statistics.median(renders) * 1000, percentile(renders, 95) * 1000
        print(f"\nfirst render (page run, one tab, 20 times): median {median:.0f} ms, "
              f"p95 {p95:.0f} ms\n")  # fmt: skip
    print("| tabs | updates | missed | late p50 / p95 / max | late > 2 s | server cores "
          "| server CPU per refresh | errors | load avg (1 min) |")  # fmt: skip
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['tabs']:.0f} | {r['updates']:.0f} | {r['missed']:.0f} | "
              f"{r['p50'] * 1000:.0f} / {r['p95'] * 1000:.0f} / {r['max'] * 1000:.0f} ms | "
              f"{r['over_interval']:.0f} | {r['cpu_cores']:.2f} | "
              f"{r['cpu_ms_per_refresh']:.1f} ms | {r['errors']:.0f} | "
              f"{r['load1']:.1f} |")  # fmt: skip


if __name__ == "__main__":
    main()
