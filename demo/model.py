"""A discrete-event model of a contact center, knowing nothing of Asterisk.

Callers arrive (a Poisson process whose rate follows the intraday profile), wait in their queue
with a limited patience and under the queue's timeout, and are offered to free members by the
queue's strategy. A rung agent answers after a while or lets it ring out (ring-no-answer, then
the caller waits `retry_s` before the next attempt). A call is talked, hung up by the agent or the
caller, and followed by wrap-up; after it an agent may pause for a reason.

`ContactCenter.advance(until)` runs the calendar up to a simulated time and returns what
happened, in time order, as frozen `Happening`s; demo/asterisk.py renders them as Asterisk 16
does. Every random draw comes from one `random.Random(seed)`, in calendar order, so a seed and
a settings object give the same run every time.
"""

from __future__ import annotations

import heapq
import itertools
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field

from demo.config import DemoSettings, QueueConfig


@dataclass(frozen=True, slots=True)
class Arrival:
    at: float
    call: int
    queue: str
    caller_num: str
    caller_name: str


@dataclass(frozen=True, slots=True)
class Ring:
    """An agent starts ringing for a caller (ringall rings several at the same instant)."""

    at: float
    call: int
    agent: int


@dataclass(frozen=True, slots=True)
class NoAnswer:
    """A ring ended unanswered: the member timeout, or the queue timeout cutting it."""

    at: float
    call: int
    agent: int


@dataclass(frozen=True, slots=True)
class Answer:
    """The agent picked up; any other agent still ringing for this caller stops."""

    at: float
    call: int
    agent: int


@dataclass(frozen=True, slots=True)
class Hangup:
    """An answered call ends; `by` is "agent" or "caller"."""

    at: float
    call: int
    by: str


@dataclass(frozen=True, slots=True)
class Abandon:
    """The caller hung up while waiting (agents ringing for it stop)."""

    at: float
    call: int


@dataclass(frozen=True, slots=True)
class Timeout:
    """The queue's timeout ended the wait (a ring in progress got its NoAnswer first)."""

    at: float
    call: int


@dataclass(frozen=True, slots=True)
class Pause:
    at: float
    agent: int
    reason: str


@dataclass(frozen=True, slots=True)
class Unpause:
    at: float
    agent: int


Happening = Arrival | Ring | NoAnswer | Answer | Hangup | Abandon | Timeout | Pause | Unpause

_FIRST = ("Liam", "Emma", "Noah", "Olivia", "Lucas", "Mia", "Hugo", "Lea", "Omar", "Sara",
          "Yuki", "Ines", "Pavel", "Nora", "Tariq", "Zoe")  # fmt: skip
_LAST = ("Martin", "Bernard", "Dubois", "Moreau", "Laurent", "Simon", "Garcia", "Rossi",
         "Novak", "Kim", "Jensen", "Silva", "Haddad", "Weber", "Costa", "Meyer")  # fmt: skip


@dataclass(eq=False)
class _Agent:
    index: int
    queues: tuple[str, ...]
    state: str = "idle"  # idle | ringing | talking | wrapup
    paused: bool = False
    last_call: float = 0.0
    calls: int = 0


@dataclass(eq=False)
class _Call:
    number: int
    queue: QueueConfig
    state: str = "waiting"  # waiting | ringing | retry | talking | done
    rings: dict[int, _Attempt] = field(default_factory=dict)  # by agent index
    retries: int = 0  # tells a pending retry from a stale one


@dataclass(eq=False)
class _Attempt:
    call: _Call
    agent: _Agent
    active: bool = True


class ContactCenter:
    """The simulation; see the module docstring. Times are simulated Unix epochs."""

    def __init__(
        self, settings: DemoSettings, start: float, live_from: float | None = None
    ) -> None:
        """Simulate from `start`; `live_from` (default: start + warmup_s) is when clients may
        come: the demo's day clock reads `day_start_hour` then, and `duration_s` counts from it.
        """
        self._s = settings
        self._rng = random.Random(settings.seed)
        self._calendar: list[tuple[float, int, Callable[[float], None]]] = []
        self._order = itertools.count()
        self._out: list[Happening] = []
        self.live_from = start + settings.warmup_s if live_from is None else live_from
        self._until = (
            math.inf if settings.duration_s is None else self.live_from + settings.duration_s
        )
        self._agents = [_Agent(i, a.queues) for i, a in enumerate(settings.agents)]
        self._members = {q.name: [a for a in self._agents if q.name in a.queues]
                         for q in settings.queues}  # fmt: skip
        self._rr = {q.name: -1 for q in settings.queues}  # rrmemory: index of the last rung
        self._waiting: list[_Call] = []  # oldest first, across queues
        self._calls: dict[int, _Call] = {}  # not yet ended
        self._numbers = itertools.count(1)
        self._peak_per_s = settings.calls_per_hour / 3600.0
        self._arrivals_over = self._peak_per_s <= 0
        self._next_arrival(start)

    # -- the calendar ----------------------------------------------------------------------
    def next_time(self) -> float:
        """Simulated time of the next scheduled step (inf when nothing is left to happen)."""
        return self._calendar[0][0] if self._calendar else math.inf

    def advance(self, until: float) -> list[Happening]:
        """Run every step up to `until`; return what happened, oldest first."""
        while self._calendar and self._calendar[0][0] <= until:
            at, _, step = heapq.heappop(self._calendar)
            step(at)
            self._dispatch(at)
        out, self._out = self._out, []
        return out

    @property
    def quiet(self) -> bool:
        """No call in progress and no arrival to come (only pauses may still change)."""
        return not self._calls and self._arrivals_over

    def _at(self, at: float, step: Callable[[float], None]) -> None:
        heapq.heappush(self._calendar, (at, next(self._order), step))

    # -- callers -----------------------------------------------------------------------------
    def _next_arrival(self, now: float) -> None:
        # Thinning: candidates come at the peak rate, each kept with the profile's weight then.
        if self._arrivals_over:
            return
        following = now + self._rng.expovariate(self._peak_per_s)
        if following <= self._until:
            self._at(following, self._arrive)
        else:
            self._arrivals_over = True

    def _arrive(self, now: float) -> None:
        self._next_arrival(now)
        if self._rng.random() >= self._weight(now):
            return
        queues = self._s.queues
        queue = self._rng.choices(queues, weights=[q.share for q in queues])[0]
        call = _Call(next(self._numbers), queue)
        self._calls[call.number] = call
        self._waiting.append(call)
        num = f"+1555{self._rng.randrange(10**7):07d}"
        name = f"{self._rng.choice(_FIRST)} {self._rng.choice(_LAST)}"
        self._out.append(Arrival(now, call.number, queue.name, num, name))
        patience = self._s.patience.draw(self._rng)
        self._at(now + patience, lambda t: self._leave(t, call, timeout=False))
        self._at(now + queue.timeout_s, lambda t: self._leave(t, call, timeout=True))

    def _weight(self, now: float) -> float:
        hour = (self._s.day_start_hour + (now - self.live_from) / 3600.0) % 24.0
        profile = self._s.profile
        return profile[int(hour) % 24] / max(profile)

    def _leave(self, now: float, call: _Call, timeout: bool) -> None:
        if call.state not in ("waiting", "ringing", "retry"):
            return  # answered, or already gone by the other of patience and timeout
        for attempt in list(call.rings.values()):
            attempt.active = False
            attempt.agent.state = "idle"
            if timeout:  # app_queue logs the cut ring as RINGNOANSWER, then the timeout
                self._out.append(NoAnswer(now, call.number, attempt.agent.index))
        call.rings.clear()
        self._end(call)
        self._out.append(Timeout(now, call.number) if timeout else Abandon(now, call.number))

    def _end(self, call: _Call) -> None:
        if call in self._waiting:
            self._waiting.remove(call)
        call.state = "done"
        self._calls.pop(call.number, None)

    def _retry(self, now: float, call: _Call, retries: int) -> None:
        if call.state == "retry" and call.retries == retries:
            call.state = "waiting"

    # -- ringing -----------------------------------------------------------------------------
    def _dispatch(self, now: float) -> None:
        """Offer waiting callers, oldest first, to free members of their queue."""
        free = [a for a in self._agents if a.state == "idle" and not a.paused]
        for call in self._waiting:
            if not free:
                return
            if call.state != "waiting":
                continue
            members = [a for a in free if call.queue.name in a.queues]
            if not members:
                continue
            for agent in self._choose(call.queue, members):
                free.remove(agent)
                self._ring(now, call, agent)

    def _choose(self, queue: QueueConfig, free: list[_Agent]) -> list[_Agent]:
        strategy = queue.strategy
        if strategy == "ringall":
            return free
        if strategy == "rrmemory":
            order = self._members[queue.name]
            last = self._rr[queue.name]
            ranked = sorted(free, key=lambda a: (order.index(a) - last - 1) % len(order))
            self._rr[queue.name] = order.index(ranked[0])
            return ranked[:1]
        if strategy == "leastrecent":
            return [min(free, key=lambda a: a.last_call)]
        if strategy == "fewestcalls":
            return [min(free, key=lambda a: a.calls)]
        if strategy == "random":
            return [self._rng.choice(free)]
        return free[:1]  # linear: the first free member in the configured order

    def _ring(self, now: float, call: _Call, agent: _Agent) -> None:
        agent.state = call.state = "ringing"
        attempt = _Attempt(call, agent)
        call.rings[agent.index] = attempt
        self._out.append(Ring(now, call.number, agent.index))
        limit = call.queue.ring_timeout_s
        delay = self._s.answer.draw(self._rng)
        if self._rng.random() < self._s.no_answer_probability or delay >= limit:
            self._at(now + limit, lambda t: self._no_answer(t, attempt))
        else:
            self._at(now + delay, lambda t: self._answer(t, attempt))

    def _no_answer(self, now: float, attempt: _Attempt) -> None:
        if not attempt.active:
            return
        attempt.active = False
        call, agent = attempt.call, attempt.agent
        del call.rings[agent.index]
        agent.state = "idle"
        self._out.append(NoAnswer(now, call.number, agent.index))
        if not call.rings:  # the last one rung: wait `retry` before the next attempt
            call.state = "retry"
            call.retries += 1
            retries = call.retries
            self._at(now + call.queue.retry_s, lambda t: self._retry(t, call, retries))

    def _answer(self, now: float, attempt: _Attempt) -> None:
        if not attempt.active:
            return
        call, agent = attempt.call, attempt.agent
        for other in call.rings.values():  # ringall: the others stop ringing
            other.active = False
            other.agent.state = "idle"
        call.rings.clear()
        self._waiting.remove(call)
        call.state = agent.state = "talking"
        self._out.append(Answer(now, call.number, agent.index))
        talk = self._s.talk.draw(self._rng)
        self._at(now + talk, lambda t: self._hang_up(t, call, agent))

    # -- agents ------------------------------------------------------------------------------
    def _hang_up(self, now: float, call: _Call, agent: _Agent) -> None:
        by = "agent" if self._rng.random() < self._s.agent_hangup_share else "caller"
        self._out.append(Hangup(now, call.number, by))
        self._end(call)
        agent.state, agent.last_call = "wrapup", now
        agent.calls += 1
        self._at(now + self._s.wrapup.draw(self._rng), lambda t: self._wrapped_up(t, agent))

    def _wrapped_up(self, now: float, agent: _Agent) -> None:
        agent.state = "idle"
        if self._rng.random() < self._s.pause_probability:
            reasons = self._s.pause_reasons
            reason = self._rng.choices(reasons, weights=[r.weight for r in reasons])[0]
            agent.paused = True
            self._out.append(Pause(now, agent.index, reason.name))
            self._at(now + reason.duration.draw(self._rng), lambda t: self._unpause(t, agent))

    def _unpause(self, now: float, agent: _Agent) -> None:
        agent.paused = False
        self._out.append(Unpause(now, agent.index))
