"""What an admin needs to know about one PBX link: `PbxStatus`, shown by /healthz, /metrics
and the PBX console page. Updated in place by the collector as things happen."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections import deque
from dataclasses import dataclass, field

# starting -> connecting -> connected -> disconnected | unreachable | auth_failed -> connected
STATES = ("starting", "connecting", "connected", "disconnected", "unreachable", "auth_failed")
RATE_WINDOW_S = 60.0  # events/s is measured over (about) the last minute
# The detail tables (one row per endpoint or contact) stay out of /healthz: a large PBX has
# hundreds; the console page reads them from the status directly.
DETAIL_FIELDS = ("endpoint_list", "contact_list")


@dataclass
class PbxStatus:
    """One PBX link: its state, its counters and what the PBX said about itself.

    Counters only grow. Those under "skipped" count what the collector read and did not use:
    each is a frame or event it could not use, never a reason to drop the connection.
    """

    name: str
    state: str = "starting"
    since: float = field(default_factory=time.time)  # when `state` began
    last_error: str | None = None
    session_id: int | None = None  # the current (or last) AMI session
    sessions: int = 0  # logins that succeeded
    reconnects: int = 0  # logins after the first
    failures: int = 0  # attempts that failed (unreachable, refused, lost)
    last_event_at: float | None = None
    events: int = 0  # events used
    bytes_received: int = 0
    # skipped
    malformed: int = 0  # frames that are not AMI messages, or oversized
    long_fields: int = 0  # fields cut to collectors/framing.py MAX_FIELD_CHARS (kept, cut)
    unused_events: int = 0  # event types the collector does not use
    missing_fields: int = 0  # events without a field the tracker keys on
    handler_errors: int = 0  # exceptions while handling a message (a bug: see the log)
    snapshot_errors: int = 0  # snapshot/poll actions the PBX refused or failed
    # reconciliation: a drift is a difference between the PBX's QueueStatus and what we
    # published that no event explains; each one corrected is counted (it is a bug to find).
    drift_corrections: int = 0
    # the PBX, from the login snapshot and each poll
    version: str | None = None  # AMI protocol version (the banner)
    asterisk_version: str | None = None  # CoreSettings AsteriskVersion
    started: str | None = None  # CoreStatus startup date and time (the PBX's local time)
    reloaded: str | None = None  # CoreStatus last reload date and time (the PBX's local time)
    restarts_seen: int = 0  # new startup time found at a login: the PBX restarted meanwhile
    booted_at: float | None = None  # from FullyBooted Uptime (epoch seconds)
    reloaded_at: float | None = None  # from FullyBooted LastReload, or a Reload event
    current_calls: int | None = None  # CoreStatus CoreCurrentCalls
    queues: int | None = None  # QueueSummary
    callers_waiting: int | None = None  # QueueSummary, summed over queues
    endpoints: int | None = None  # PJSIPShowEndpoints
    endpoints_unavailable: int | None = None
    contacts: int | None = None  # PJSIPShowContacts
    contacts_unreachable: int | None = None  # qualify found them Unreachable
    # one row per endpoint (name, state, contacts) and per contact (endpoint, uri, status,
    # rtt_ms) from PJSIPShowEndpoints / PJSIPShowContacts at the last snapshot
    endpoint_list: list[dict[str, object]] = field(default_factory=list)
    contact_list: list[dict[str, object]] = field(default_factory=list)
    ping_rtt_ms: float | None = None  # round trip of the last AMI Ping the session sent
    # (time, events) read at each events_per_s() call: the rate costs the event path nothing
    _samples: deque[tuple[float, int]] = field(
        default_factory=lambda: deque(maxlen=256), repr=False, compare=False
    )
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def set(self, state: str, error: str | None = None) -> None:
        """Move to `state` (its `since` restarts only on a change); keep `error` if given."""
        if state != self.state:
            self.state, self.since = state, time.time()
        if error is not None:
            self.last_error = error

    def events_per_s(self) -> float | None:
        """Events used per second over about the last minute of reads; None until two reads
        at least a second apart have been seen."""
        with self._lock:  # pages and /healthz read from several threads
            now, samples = time.time(), self._samples
            samples.append((now, self.events))
            while len(samples) > 2 and now - samples[1][0] >= RATE_WINDOW_S:
                samples.popleft()
            t0, e0 = samples[0]
        return None if now - t0 < 1.0 else round((self.events - e0) / (now - t0), 2)

    def as_dict(self, detail: bool = False) -> dict[str, object]:
        """Every field (the endpoint and contact tables only with `detail`), the last event's
        age and the event rate; nothing secret is ever held here."""
        fields = {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if not f.name.startswith("_") and (detail or f.name not in DETAIL_FIELDS)
        }
        age = None if self.last_event_at is None else round(time.time() - self.last_event_at, 3)
        return {**fields, "last_event_age_s": age, "events_per_s": self.events_per_s()}


def duration_text(seconds: float | None) -> str:
    """A duration as an admin reads it: "45 s", "12 min 5 s", "3 h 12 min", "4 d 2 h"."""
    if seconds is None:
        return "—"
    s = max(0, int(seconds))
    for unit, size, sub, sub_size in (("d", 86400, "h", 3600), ("h", 3600, "min", 60),
                                      ("min", 60, "s", 1)):  # fmt: skip
        if s >= size:
            rest = (s % size) // sub_size
            return f"{s // size} {unit}" + (f" {rest} {sub}" if rest else "")
    return f"{s} s"
