"""A private Asterisk 16 for one test, with sipp agents and callers, all on 127.0.0.1.

The PBX mirrors the lab behind /work/shared/ami-captures (queues `support` and `sales`,
agents 1001 Alice, 1002 Bob, 1003 Carol, 1004 Dave, extensions 600/601/602/610/611), plus what
the outcome tests need (queues `rna`, `empty`, `keys`, extensions 620/630/640, the contexts
`queue-exit` and `transfer-target`); its configuration templates live in tests/asterisk/.
tests/lab/ami.py gives a test its own AMI session (pauses, adds, transfers). Every directory
Asterisk uses, every log and every rendered sipp scenario is under `workdir`, and every port is
chosen per run, so labs can run side by side. Traps behind the choices here:
/work/shared/ASTERISK-NOTES.md.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from string import Template
from types import TracebackType

from tests.lab.ports import free_block, free_port
from tests.lab.sipp import LOOPBACK, LabError, SippProcess, die_with_parent, render, tail

CONFIGS = Path(__file__).resolve().parent.parent / "asterisk"
SHARE = Path("/usr/share/asterisk")
AGENTS = {"1001": "Alice", "1002": "Bob", "1003": "Carol", "1004": "Dave"}
NEVER_MS = 86_400_000  # "never" for a sipp timer: a day
RTP_PORTS = 200  # 2 channels x (RTP + RTCP) per call: room for ~50 calls at once
_TOKEN = re.compile(r"[0-9A-Za-z*#+_.-]+")
_UNSAFE_NAME = re.compile(r'["\\\[\]<>&\x00-\x1f]')  # breaks SIP quoting, sipp [keywords] or XML


def find_tool(name: str) -> str | None:
    """Path of `name`, also looking in the sbin folders a non-root PATH may lack."""
    return shutil.which(name, path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin")


def missing_tools() -> list[str]:
    """Which of the lab's programs (asterisk, sipp) are not installed."""
    return [name for name in ("asterisk", "sipp") if find_tool(name) is None]


class AsteriskLab:
    """One Asterisk process (a child of the test) plus the sipp processes a test starts."""

    ami_host = LOOPBACK
    ami_username = "callboard"

    def __init__(
        self, workdir: Path, *, wrapuptime_s: int = 1, boot_timeout_s: float = 20.0
    ) -> None:
        self.workdir = workdir
        self.ami_port = 0  # chosen by start()
        self.sip_port = 0  # chosen by start()
        self.ami_secret = secrets.token_hex(16)
        self.agent_password = secrets.token_hex(8)
        self.wrapuptime_s = wrapuptime_s  # short by default: tests should not wait for wrap-up
        self.boot_timeout_s = boot_timeout_s
        self.conf = workdir / "etc" / "asterisk.conf"
        self.queue_log_path = workdir / "log" / "queue_log"
        self.sipp_dir = workdir / "sipp"
        self._asterisk = find_tool("asterisk") or "asterisk"
        self._sipp = find_tool("sipp") or "sipp"
        self._proc: subprocess.Popen[bytes] | None = None
        self._short_rundir: Path | None = None
        self._sipps: list[SippProcess] = []
        self._serial = 0

    # -- Asterisk -------------------------------------------------------------------------

    def start(self) -> None:
        """Render the configuration, start `asterisk -f` and wait until it is fully booted."""
        if self._proc is not None:
            raise LabError("lab already started")
        self._render_configs()
        with (self.workdir / "asterisk.out").open("wb") as out:
            self._proc = subprocess.Popen(
                [self._asterisk, "-C", str(self.conf), "-f", "-n"],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                preexec_fn=die_with_parent,  # kill it if pytest dies
            )
        try:
            self._wait_booted()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Kill every sipp, stop Asterisk ('core stop now', then SIGKILL). Safe to call twice."""
        for phone in self._sipps:
            phone.stop()
        self._sipps.clear()
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            try:
                self._rx("core stop now", timeout=5)
                proc.wait(10)
            except (subprocess.TimeoutExpired, LabError):
                proc.kill()
                proc.wait()
        if self._short_rundir is not None:
            shutil.rmtree(self._short_rundir, ignore_errors=True)
            self._short_rundir = None

    def cli(self, command: str) -> str:
        """Run one CLI command (`asterisk -rx`) and return its output."""
        if self._proc is None or self._proc.poll() is not None:
            raise LabError(f"Asterisk is not running (cli {command!r})\n{self.asterisk_log()}")
        return self._rx(command)

    def asterisk_log(self, lines: int = 40) -> str:
        """Tail of Asterisk's own output and of its `messages` log, for error messages."""
        return (
            f"--- asterisk.out\n{tail(self.workdir / 'asterisk.out', lines)}\n"
            f"--- log/messages\n{tail(self.workdir / 'log' / 'messages', lines)}"
        )

    def queue_log_lines(self) -> list[str]:
        """Lines of queue_log written so far (Asterisk flushes every line as it writes it)."""
        if not self.queue_log_path.exists():
            return []
        text = self.queue_log_path.read_text(errors="replace")
        lines = text.split("\n")
        return lines[:-1]  # the last piece is "" or a line still being written

    def wait_for_queue_log(
        self, done: Callable[[list[str]], bool], timeout: float = 15.0
    ) -> list[str]:
        """Poll queue_log until `done(lines)` is true; return the lines. LabError on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            lines = self.queue_log_lines()
            if done(lines):
                return lines
            if time.monotonic() > deadline:
                raise LabError(
                    f"queue_log condition not met within {timeout} s:\n" + "\n".join(lines)
                )
            time.sleep(0.1)

    def wait_busy(self, *members: str, queue: str = "support", timeout: float = 5.0) -> None:
        """Until app_queue shows every one of `members` (e.g. "Alice") ringing or in use."""
        deadline = time.monotonic() + timeout
        while True:
            # member rows read "      Alice (PJSIP/1001) (ringinuse disabled) (Ringing) has ..."
            rows = {
                r.split()[0]: r
                for r in self.cli(f"queue show {queue}").splitlines()
                if "(PJSIP/" in r
            }
            if all("(Ringing)" in rows[m] or "(In use)" in rows[m] for m in members):
                return
            if time.monotonic() > deadline:
                raise LabError("members not busy in time:\n" + "\n".join(rows.values()))
            time.sleep(0.05)

    # -- sipp -----------------------------------------------------------------------------

    def start_agent(
        self,
        ext: str,
        answer_after_s: float = 1.0,
        talk_s: float = 3.0,
        never_answer: bool = False,
        max_calls: int = 100,
    ) -> SippProcess:
        """Start agent `ext`'s phone and register it; return once the queues see it available.

        The phone rings for `answer_after_s` (forever with `never_answer`: Asterisk's member
        timeout CANCELs it, a RINGNOANSWER), then talks `talk_s` and hangs up, unless the
        caller hangs up first. It handles `max_calls` calls, then exits.
        """
        if ext not in AGENTS:
            raise ValueError(f"unknown agent {ext!r}; the lab has {sorted(AGENTS)}")
        name = self._name(f"agent-{ext}")
        scenario = render(
            "agent.xml.in",
            self.sipp_dir / f"{name}.xml",
            agent=ext,
            answer_ms=NEVER_MS if never_answer else round(answer_after_s * 1000),
            talk_ms=round(talk_s * 1000),
        )
        phone = self._spawn(name, scenario, ["-m", str(max_calls)])
        phone.wait_bound()  # Asterisk may ring the agent as soon as it is registered
        self._register(ext, phone.sip_port)
        self._wait_agent_ready(ext, phone.sip_port)
        return phone

    def call(
        self,
        exten: str,
        caller_num: str,
        caller_name: str | None = None,
        hangup_after_s: float | None = None,
        talk_s: float | None = None,
    ) -> SippProcess:
        """Start one caller dialling `exten` (600 support, 601 sales, 610/611 time out).

        The caller waits until answered or rejected (603 when the queue times out), or CANCELs
        `hangup_after_s` seconds after its INVITE (an abandon). Once answered it waits for the
        agent's BYE, or hangs up itself after `talk_s`. Returns at once; `wait()` on the result.
        """
        if not _TOKEN.fullmatch(exten) or not _TOKEN.fullmatch(caller_num):
            raise ValueError(f"exten and caller_num must match {_TOKEN.pattern}")
        if caller_name is not None and _UNSAFE_NAME.search(caller_name):
            raise ValueError(f"caller_name {caller_name!r} holds a character sipp or SIP mangles")
        name = self._name(f"caller-{caller_num}")
        scenario = render(
            "caller.xml.in",
            self.sipp_dir / f"{name}.xml",
            caller_num=caller_num,
            caller_name=caller_name or caller_num,
            patience_s=NEVER_MS / 1000 if hangup_after_s is None else hangup_after_s,
            talk_ms=NEVER_MS if talk_s is None else round(talk_s * 1000),
        )
        return self._spawn(name, scenario, [f"{LOOPBACK}:{self.sip_port}", "-s", exten, "-m", "1"])

    def call_with_key(
        self,
        exten: str,
        caller_num: str,
        digit: str = "1",
        key_after_s: float = 2.0,
        caller_name: str | None = None,
    ) -> SippProcess:
        """Start one caller dialling `exten` (640: answered, then queue `keys`) who presses
        `digit` (a SIP INFO application/dtmf-relay) `key_after_s` seconds after the answer,
        then waits for the exit context to hang up. Returns at once; `wait()` on the result."""
        if not _TOKEN.fullmatch(exten) or not _TOKEN.fullmatch(caller_num):
            raise ValueError(f"exten and caller_num must match {_TOKEN.pattern}")
        if digit not in "0123456789*#" or len(digit) != 1:
            raise ValueError(f"digit must be one DTMF key, got {digit!r}")
        if caller_name is not None and _UNSAFE_NAME.search(caller_name):
            raise ValueError(f"caller_name {caller_name!r} holds a character sipp or SIP mangles")
        name = self._name(f"caller-key-{caller_num}")
        scenario = render(
            "caller-key.xml.in",
            self.sipp_dir / f"{name}.xml",
            caller_num=caller_num,
            caller_name=caller_name or caller_num,
            key_after_ms=round(key_after_s * 1000),
            digit=digit,
        )
        return self._spawn(name, scenario, [f"{LOOPBACK}:{self.sip_port}", "-s", exten, "-m", "1"])

    def __enter__(self) -> AsteriskLab:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # -- internals ------------------------------------------------------------------------

    def _render_configs(self) -> None:
        for sub in ("etc", "lib/agi-bin", "log/cdr-csv", "spool", "cache", "sipp"):
            (self.workdir / sub).mkdir(parents=True, exist_ok=True)
        # Without the packaged documentation folder Asterisk exits with "Stasis
        # initialization failed" (ASTERISK-NOTES.md); sounds and moh for Playback and MOH.
        moh = SHARE / "moh" if (SHARE / "moh").exists() else Path("/var/lib/asterisk/moh")
        for link, target in (
            ("documentation", SHARE / "documentation"),
            ("sounds", SHARE / "sounds"),
            ("moh", moh),
        ):
            path = self.workdir / "lib" / link
            if not path.is_symlink():
                path.symlink_to(target)
        self.ami_port, self.sip_port = free_port(), free_port()
        rtp_start = free_block(RTP_PORTS, align=2)
        values = {
            "workdir": str(self.workdir),
            "rundir": str(self._rundir()),
            "ami_port": self.ami_port,
            "ami_secret": self.ami_secret,
            "sip_port": self.sip_port,
            "agent_password": self.agent_password,
            "rtp_start": rtp_start,
            "rtp_end": rtp_start + RTP_PORTS - 1,
            "wrapuptime": self.wrapuptime_s,
        }
        for source in sorted(CONFIGS.glob("*.conf*")):
            if source.suffix == ".in":
                text = Template(source.read_text()).substitute(values)
                (self.workdir / "etc" / source.stem).write_text(text)
            else:
                shutil.copy(source, self.workdir / "etc" / source.name)

    def _rundir(self) -> Path:
        """The control socket's path must fit a unix socket address (107 bytes); pytest's
        tmp_path for a long test name does not, so fall back to a short temp folder."""
        rundir = self.workdir / "run"
        if len(str(rundir / "asterisk.ctl")) > 100:
            self._short_rundir = rundir = Path(tempfile.mkdtemp(prefix="callboard-ast-"))
        rundir.mkdir(parents=True, exist_ok=True)
        return rundir

    def _rx(self, command: str, timeout: float = 15) -> str:
        result = subprocess.run(
            [self._asterisk, "-C", str(self.conf), "-rx", command],
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )
        if result.returncode != 0:
            raise LabError(
                f"asterisk -rx {command!r} failed ({result.returncode}): "
                f"{result.stdout}{result.stderr}"
            )
        return result.stdout

    def _wait_booted(self) -> None:
        assert self._proc is not None
        deadline = time.monotonic() + self.boot_timeout_s
        while True:
            if self._proc.poll() is not None:
                raise LabError(
                    f"Asterisk exited ({self._proc.returncode}) while starting\n"
                    f"{self.asterisk_log()}"
                )
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise LabError(
                    f"Asterisk not fully booted after {self.boot_timeout_s} s\n"
                    f"{self.asterisk_log()}"
                )
            try:  # fails fast until the control socket exists, then blocks until booted
                if "fully booted" in self._rx("core waitfullybooted", timeout=remaining):
                    return
            except (LabError, subprocess.TimeoutExpired):
                pass
            time.sleep(0.1)

    def _register(self, ext: str, phone_port: int) -> None:
        name = self._name(f"register-{ext}")
        scenario = render(
            "register.xml.in",
            self.sipp_dir / f"{name}.xml",
            agent=ext,
            answer_port=phone_port,
            password=self.agent_password,
        )
        registrar = self._spawn(name, scenario, [f"{LOOPBACK}:{self.sip_port}", "-m", "1"])
        status = registrar.wait(10)
        if status != 0:
            raise LabError(
                f"agent {ext} did not register (sipp exit {status})\n{registrar.diagnostics()}"
            )

    def _wait_agent_ready(self, ext: str, phone_port: int, timeout: float = 10.0) -> None:
        """Registered (contact listed) and seen by app_queue: device state reaches the queues
        asynchronously, and `sales` (joinempty=unavailable) turns callers away until then."""
        contact = f"{ext}/sip:{ext}@{LOOPBACK}:{phone_port}"
        deadline = time.monotonic() + timeout
        while True:
            members = [
                line for line in self.cli("queue show").splitlines() if f"(PJSIP/{ext})" in line
            ]
            if contact in self.cli("pjsip show contacts") and not any(
                "(Unavailable)" in line or "(Invalid)" in line for line in members
            ):
                return
            if time.monotonic() > deadline:
                raise LabError(
                    f"agent {ext} not available after {timeout} s:\n" + "\n".join(members)
                )
            time.sleep(0.05)

    def _spawn(self, name: str, scenario: Path, args: list[str]) -> SippProcess:
        if self._proc is None:
            raise LabError("start() the lab before starting sipp")
        phone = SippProcess(self._sipp, name, self.sipp_dir, scenario, args)
        self._sipps.append(phone)
        return phone

    def _name(self, stem: str) -> str:
        self._serial += 1
        return f"{self._serial:03d}-{stem}"
