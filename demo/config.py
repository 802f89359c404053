"""What the demo PBX simulates: queues, agents, traffic and behaviour, every field defaulted.

`DemoSettings()` is a small contact center (3 queues, 12 agents, about 120 calls an hour at the
peak of the day) that runs in real time; every field can be changed, and a bad value raises
`ConfigError` naming the field, as settings.py does. Durations are random (`Duration`), drawn
from the run's seeded `random.Random`, so a run is the same for the same seed and settings.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from pathlib import Path

from errors import ConfigError

# app_queue strategies the model implements (queues.conf `strategy`).
STRATEGIES = ("ringall", "rrmemory", "leastrecent", "fewestcalls", "random", "linear")


@dataclass(frozen=True)
class Duration:
    """A random duration: lognormal with this mean and coefficient of variation (0: fixed).

    Lognormal because service and patience times are skewed to the right: many short, a few
    very long. `cv=1` has the spread of an exponential (the classic patience assumption).
    """

    mean_s: float
    cv: float = 0.5

    def draw(self, rng: random.Random) -> float:
        if self.cv <= 0:
            return self.mean_s
        sigma2 = math.log1p(self.cv * self.cv)
        return rng.lognormvariate(math.log(self.mean_s) - sigma2 / 2, math.sqrt(sigma2))


@dataclass(frozen=True)
class QueueConfig:
    """One ACD queue, as queues.conf and the dialplan's Queue() call would set it up."""

    name: str
    strategy: str = "rrmemory"
    service_level_s: int = 20  # queues.conf servicelevel
    timeout_s: float = 300.0  # Queue(name,r,,,timeout): the caller leaves with EXITWITHTIMEOUT
    ring_timeout_s: float = 15.0  # queues.conf timeout: how long one member is rung
    retry_s: float = 5.0  # queues.conf retry: pause before ringing again after no answer
    share: float = 1.0  # relative share of the arrivals
    exten: str = "600"  # the dialplan extension that runs Queue() (Exten in the events)


@dataclass(frozen=True)
class AgentConfig:
    """One queue member: a PJSIP phone (`PJSIP/<extension>`) and its member name."""

    name: str
    extension: str
    queues: tuple[str, ...]

    @property
    def interface(self) -> str:
        return f"PJSIP/{self.extension}"


@dataclass(frozen=True)
class PauseReason:
    """A reason an agent pauses (QueuePause Reason), how often, and for how long."""

    name: str
    weight: float = 1.0
    duration: Duration = field(default_factory=lambda: Duration(300.0, 0.5))


def _agents() -> tuple[AgentConfig, ...]:
    names = ("Alice", "Bob", "Carol", "Dave", "Erin", "Frank",
             "Grace", "Heidi", "Ivan", "Judy", "Mallory", "Niaj")  # fmt: skip
    support, sales, billing = ("support",), ("sales",), ("billing",)
    skills: tuple[tuple[str, ...], ...] = (
        support, support, support, support, support, sales, sales, sales, billing, billing,
        ("support", "billing"), ("sales", "support"),
    )  # fmt: skip
    pairs = enumerate(zip(names, skills, strict=True))
    return tuple(AgentConfig(name, str(1001 + i), queues) for i, (name, queues) in pairs)


def staff(count: int, queues: tuple[QueueConfig, ...]) -> tuple[AgentConfig, ...]:
    """`count` agents spread over the queues in turn, every fourth one in two (load tests)."""
    names = [q.name for q in queues]
    agents = []
    for i in range(count):
        skills = {names[i % len(names)], names[(i + 1) % len(names)] if i % 4 == 3 else ""}
        agents.append(AgentConfig(f"Agent {1001 + i}", str(1001 + i),
                                  tuple(n for n in names if n in skills)))  # fmt: skip
    return tuple(agents)


DEFAULT_QUEUES = (
    QueueConfig("support", "rrmemory", service_level_s=20, share=0.5, exten="600"),
    QueueConfig("sales", "ringall", service_level_s=30, share=0.3, exten="601"),
    QueueConfig("billing", "leastrecent", service_level_s=60, timeout_s=180.0, share=0.2,
                exten="602"),
)  # fmt: skip
DEFAULT_AGENTS = _agents()
DEFAULT_PAUSES = (
    PauseReason("Break", 5.0, Duration(600.0, 0.3)),
    PauseReason("Lunch", 1.0, Duration(1800.0, 0.2)),
    PauseReason("Training", 1.0, Duration(900.0, 0.3)),
    PauseReason("Coaching", 1.0, Duration(600.0, 0.4)),
    PauseReason("Admin", 2.0, Duration(240.0, 0.5)),
)
# Arrival weight for each hour of the demo's day (1.0 at the peak): a usual office-hours shape.
DEFAULT_PROFILE = (
    0.04, 0.03, 0.02, 0.02, 0.03, 0.05, 0.12, 0.35, 0.70, 0.95, 1.00, 0.95,
    0.75, 0.80, 0.90, 0.85, 0.75, 0.55, 0.35, 0.22, 0.15, 0.10, 0.07, 0.05,
)  # fmt: skip


@dataclass(frozen=True)
class DemoSettings:
    """The demo PBX: where it listens, what it simulates, how fast. See FIELD_HELP."""

    host: str = "127.0.0.1"
    port: int = 0  # 0: a free port chosen at start (DemoPbx.port tells which)
    username: str = "demo"
    secret: str = field(default="demo", repr=False)
    queues: tuple[QueueConfig, ...] = DEFAULT_QUEUES
    agents: tuple[AgentConfig, ...] = DEFAULT_AGENTS
    calls_per_hour: float = 120.0
    profile: tuple[float, ...] = DEFAULT_PROFILE
    day_start_hour: float = 10.0
    patience: Duration = Duration(150.0, 1.0)
    talk: Duration = Duration(200.0, 0.6)
    wrapup: Duration = Duration(20.0, 0.5)
    answer: Duration = Duration(4.0, 0.5)
    no_answer_probability: float = 0.05
    agent_hangup_share: float = 0.6
    pause_probability: float = 0.08
    pause_reasons: tuple[PauseReason, ...] = DEFAULT_PAUSES
    speed: float = 1.0
    seed: int = 1
    warmup_s: float = 900.0
    duration_s: float | None = None
    hold_until_login: bool = False
    queue_log: Path | None = None
    auth_fail_delay_s: float = 1.0

    def __post_init__(self) -> None:
        _validate(self)


FIELD_HELP: dict[str, str] = {
    "host": "Address the demo AMI server binds to (loopback unless you mean otherwise).",
    "port": "AMI port; 0 picks a free one.",
    "username": "AMI user the demo accepts.",
    "secret": "AMI secret the demo accepts; any other is refused as Asterisk refuses it.",
    "queues": "The ACD queues: name, strategy, service level, timeouts, share of arrivals.",
    "agents": "The queue members: name, PJSIP extension, queues.",
    "calls_per_hour": "Arrival rate at the peak of the intraday profile (all queues).",
    "profile": "24 hourly arrival weights of the demo's day; the rate is scaled by them.",
    "day_start_hour": "Hour of the demo's day when it starts (independent of the wall clock).",
    "patience": "How long a caller waits before hanging up (abandon).",
    "talk": "Talk time of an answered call.",
    "wrapup": "After-call work: the agent is not offered calls for this long.",
    "answer": "Time an agent takes to pick up a ringing call.",
    "no_answer_probability": "Chance that a rung agent does not answer (ring-no-answer).",
    "agent_hangup_share": "Share of answered calls the agent ends (else the caller).",
    "pause_probability": "Chance that an agent pauses after a call's wrap-up.",
    "pause_reasons": "Pause reasons with their weights and durations.",
    "speed": "Simulated seconds per wall-clock second (inf: as fast as clients read).",
    "seed": "Seed of the random generator: the same seed gives the same run.",
    "warmup_s": "Simulated seconds run before the first client can connect.",
    "duration_s": "Simulated seconds of arrivals after the start (None: for ever).",
    "hold_until_login": "Stop the clock after the warm-up until a client logs in (tests).",
    "queue_log": "File the demo appends Asterisk queue_log lines to (None: none).",
    "auth_fail_delay_s": "Delay before refusing a wrong secret (Asterisk sleeps 1 s).",
}


def _validate(s: DemoSettings) -> None:
    _check(bool(s.username), "username", "must not be empty")
    _check(0 <= s.port <= 65535, "port", f"must be between 0 and 65535, got {s.port}")
    _check(s.calls_per_hour >= 0, "calls_per_hour", "must not be negative")
    _check(len(s.profile) == 24 and min(s.profile) >= 0 and max(s.profile) > 0, "profile",
           "must be 24 weights, none negative, not all zero")  # fmt: skip
    _check(0 <= s.day_start_hour < 24, "day_start_hour", "must be in [0, 24)")
    for name in ("no_answer_probability", "agent_hangup_share", "pause_probability"):
        value = getattr(s, name)
        _check(0.0 <= value <= 1.0, name, f"must be a probability in [0, 1], got {value}")
    for name in ("patience", "talk", "wrapup", "answer"):
        d = getattr(s, name)
        _check(d.mean_s > 0 and d.cv >= 0, name, "needs mean_s > 0 and cv >= 0")
    _check(s.speed > 0, "speed", f"must be positive (inf for unpaced), got {s.speed}")
    _check(s.warmup_s >= 0, "warmup_s", "must not be negative")
    _check(s.duration_s is None or s.duration_s >= 0, "duration_s", "must not be negative")
    _check(s.auth_fail_delay_s >= 0, "auth_fail_delay_s", "must not be negative")
    _check(bool(s.pause_reasons) or s.pause_probability == 0, "pause_reasons",
           "needs at least one reason when pause_probability > 0")  # fmt: skip
    _validate_queues(s)


def _validate_queues(s: DemoSettings) -> None:
    names = [q.name for q in s.queues]
    _check(bool(names) and len(set(names)) == len(names), "queues", "need unique names")
    for i, q in enumerate(s.queues):
        where = f"queues[{i}]"
        _check(q.strategy in STRATEGIES, f"{where}.strategy", f"must be one of {STRATEGIES}")
        ok = q.share >= 0 and q.timeout_s > 0 and q.ring_timeout_s > 0 and q.retry_s >= 0
        _check(ok, where, "needs share >= 0, timeout_s > 0, ring_timeout_s > 0, retry_s >= 0")
    _check(sum(q.share for q in s.queues) > 0, "queues", "need a positive share in total")
    extensions = [a.extension for a in s.agents]
    _check(len(set(extensions)) == len(extensions), "agents", "need unique extensions")
    for i, a in enumerate(s.agents):
        where = f"agents[{i}]"
        _check(a.extension.isdigit(), f"{where}.extension", "must be digits (PJSIP/<digits>)")
        unknown = sorted(set(a.queues) - set(names))
        _check(not unknown, f"{where}.queues", f"unknown queue {unknown[:1]}")
        _check(bool(a.name), f"{where}.name", "must not be empty")


def _check(ok: bool, name: str, message: str) -> None:
    if not ok:
        raise ConfigError(f"demo.{name}: {message}")
