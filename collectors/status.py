"""What an admin needs to know about one PBX link: `PbxStatus`, shown by /healthz, /metrics
and the PBX console page. Updated in place by the collector as things happen."""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field

# starting -> connecting -> connected -> disconnected | unreachable | auth_failed -> connected
STATES = ("starting", "connecting", "connected", "disconnected", "unreachable", "auth_failed")


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

    def set(self, state: str, error: str | None = None) -> None:
        """Move to `state` (its `since` restarts only on a change); keep `error` if given."""
        if state != self.state:
            self.state, self.since = state, time.time()
        if error is not None:
            self.last_error = error

    def as_dict(self) -> dict[str, object]:
        """Every field, plus the last event's age; nothing secret is ever held here."""
        fields = dataclasses.asdict(self)
        age = None if self.last_event_at is None else round(time.time() - self.last_event_at, 3)
        return {**fields, "last_event_age_s": age}
