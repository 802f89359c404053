"""sipp processes for the lab: agents' phones and callers, all on 127.0.0.1.

Scenarios are templates in tests/asterisk/sipp/*.xml.in (string.Template, `$name`), rendered
once per process into the run's folder, next to that process's logs. Each process is a child
of the test (never `-bg`), with its own SIP, control (-cp) and media (-mp) ports, so many can
run at once and every one can be waited on or killed.
"""

from __future__ import annotations

import ctypes
import re
import signal
import subprocess
import time
from pathlib import Path
from string import Template

from tests.lab.ports import free_block

SCENARIOS = Path(__file__).resolve().parent.parent / "asterisk" / "sipp"
LOOPBACK = "127.0.0.1"
# "2026-11-26<TAB>12:22:30.278879<TAB>1795695750.278879: Call-Id: 1-7547@127.0.0.1, receive
# timeout on message caller:1, jumping to label 14", each glued to the next entry
_ROUTINE = re.compile(
    r"\d{4}-\d\d-\d\d\t\S+\t\S+: Call-Id: \S+, receive timeout on message \S+, "
    r"jumping to label \d+?(?=\d{4}-\d\d-\d\d\t|\s|$)"
)


class LabError(RuntimeError):
    """The lab (Asterisk or sipp) did not do what a test asked; the message says why."""


def die_with_parent() -> None:
    """preexec_fn: the child gets SIGKILL if the test process dies, so nothing outlives it."""
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG


def render(template: str, target: Path, **values: object) -> Path:
    """Render tests/asterisk/sipp/<template> into `target`."""
    text = (SCENARIOS / template).read_text()
    target.write_text(Template(text).substitute({k: str(v) for k, v in values.items()}))
    return target


def tail(path: Path, lines: int = 30) -> str:
    """The last lines of a log file, or a note that it does not exist."""
    if not path.exists():
        return f"({path.name}: not written)"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def udp_port_bound(port: int) -> bool:
    """True when some socket of this network namespace is bound to UDP `port` (IPv4)."""
    with open("/proc/net/udp") as table:
        rows = [line.split() for line in table.readlines()[1:]]
    # row[1] is the local address as hex "0100007F:3AEB"
    return any(int(row[1].rsplit(":", 1)[1], 16) == port for row in rows if len(row) > 1)


class SippProcess:
    """One running sipp. Its files are <folder>/<name>.{xml,screen.log,errors.log,messages.log}."""

    def __init__(self, sipp: str, name: str, folder: Path, scenario: Path, args: list[str]) -> None:
        self.name = name
        self.scenario = scenario
        self.sip_port, self.control_port, self.media_port = _ports()
        self.screen_log = folder / f"{name}.screen.log"
        self.error_log = folder / f"{name}.errors.log"
        self.message_log = folder / f"{name}.messages.log"
        options = {
            "-sf": scenario,
            "-i": LOOPBACK,  # SIP only on loopback
            "-p": self.sip_port,
            "-cp": self.control_port,  # default 8888 would clash between sipps
            "-mi": LOOPBACK,
            "-mp": self.media_port,
            "-error_file": self.error_log,
            "-message_file": self.message_log,
        }
        flags = ["-nostdin", "-trace_err", "-trace_msg"]
        self.command = [sipp, *args, *(str(v) for kv in options.items() for v in kv), *flags]
        with self.screen_log.open("wb") as screen:
            self._proc = subprocess.Popen(
                self.command,
                stdin=subprocess.DEVNULL,
                stdout=screen,
                stderr=subprocess.STDOUT,
                cwd=folder,
                preexec_fn=die_with_parent,  # kill it if pytest dies
            )

    @property
    def pid(self) -> int:
        return self._proc.pid

    @property
    def returncode(self) -> int | None:
        """None while running; sipp's exit status after (0: every call succeeded)."""
        return self._proc.poll()

    def wait(self, timeout: float) -> int:
        """Wait for sipp to exit and return its exit status (0: all calls succeeded,
        1: some call failed, 255: fatal error). Raise LabError if it is still running."""
        try:
            return self._proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise LabError(
                f"sipp {self.name} still running after {timeout} s\n{self.diagnostics()}"
            ) from None

    def wait_bound(self, timeout: float = 5.0) -> None:
        """Wait until sipp listens on its SIP port (so Asterisk can reach it)."""
        deadline = time.monotonic() + timeout
        while not udp_port_bound(self.sip_port):
            if self.returncode is not None or time.monotonic() > deadline:
                raise LabError(
                    f"sipp {self.name} did not bind UDP {self.sip_port}\n{self.diagnostics()}"
                )
            time.sleep(0.02)

    def stop(self) -> None:
        """Kill sipp if it still runs (no SIP is sent) and reap it. Safe to call twice."""
        if self._proc.poll() is None:
            self._proc.kill()
        self._proc.wait()

    def diagnostics(self) -> str:
        """What to print when a call went wrong: command, exit status and log tails."""
        return (
            f"command: {' '.join(self.command)}\nexit status: {self.returncode}\n"
            f"--- {self.error_log.name}\n{self._errors()}\n"
            f"--- {self.message_log.name}\n{tail(self.message_log, 60)}\n"
            f"--- {self.screen_log.name}\n{tail(self.screen_log, 40)}"
        )

    def _errors(self) -> str:
        """The error log without the routine entries our scenarios cause on purpose (timers
        that fire, like the caller's 200 ms patience poll); sipp writes them without newlines."""
        if not self.error_log.exists():
            return "(no errors logged)"
        text = _ROUTINE.sub("", self.error_log.read_text(errors="replace"))
        text = text.replace("The following events occurred:", "").strip()
        return "\n".join(text.splitlines()[-30:]) or "(only routine timer entries)"

    def __repr__(self) -> str:
        return f"<SippProcess {self.name} pid={self.pid} rc={self.returncode}>"


def _ports() -> tuple[int, int, int]:
    """SIP, control and media ports for one sipp from one block of 8: sipp binds RTP on the
    media port and video on media port + 2 (and their RTCP neighbours)."""
    base = free_block(8, align=8)
    return base, base + 1, base + 4
