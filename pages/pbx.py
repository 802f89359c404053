"""PBX console (admins): is each PBX link up, what is failing, and the PBX connections.

Everything shown comes from the running service: each collector's `PbxStatus` (kept up to
date by the collector), `Service.health()` for the store, and named queries. Everything an
admin changes goes through `connection_admin()`, the one place sign-in has to gate.
"""

from __future__ import annotations

import time
from concurrent.futures import TimeoutError as FutureTimeout
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
import streamlit as st

import auth
import connections
import queries
import service
from collectors.collector import AsteriskCollector
from collectors.status import duration_text
from errors import CallboardError, ConfigError
from settings import PbxSettings

STATE_WORDS = {
    "starting": "starting",
    "connecting": "connecting",
    "connected": "connected",
    "disconnected": "disconnected, reconnecting",
    "unreachable": "unreachable, retrying",
    "auth_failed": "login refused, retrying every minute",
}
SOURCE_WORDS = {
    "file": "from the settings file (read-only here)",
    "console": "added on this page",
    "demo": "the built-in demo PBX",
}
SESSIONS_SHOWN = 10
COMPLETENESS_HOURS = 24
NEW = "Add a PBX"

auth.require("pbx")
st.title("PBX console")


@st.fragment(run_every="2s")
def links() -> None:
    running = service.current()
    if running is None:
        st.error("Collection is not running in this process: start Callboard with `make run`.")
        return
    if running.demo:
        st.info(service.DEMO_NOTE)
    store_health(running.health())
    if not running.collectors:
        st.info("No PBX configured: add one below, or a `[[pbx]]` table to `callboard.toml`.")
        return
    try:
        members, waiting = queries.read("live_members"), queries.read("live_waiting")
    except CallboardError as e:
        st.error(f"{e.title}: {e}")
        return
    for collector in running.collectors:
        with st.container(border=True):
            link(collector, running.source_of(collector.pbx.name))
            details(collector, members, waiting, running.settings.timezone)


def store_health(health: dict[str, Any]) -> None:
    """The store's part of /healthz, its error (disk full, folder unwritable) in its words."""
    store = health.get("store", {})
    counts = (f"{store.get('rows_written', 0):,} rows written, {store.get('rows_waiting', 0):,} "
              f"waiting, {store.get('rows_dropped', 0):,} dropped")  # fmt: skip
    if store.get("last_error"):
        failing = duration_text(store.get("failing_for_s"))
        st.error(f"Store {store.get('path')} cannot write (for {failing}): "
                 f"{store['last_error']}. {counts}.")  # fmt: skip
    else:
        st.caption(f"Store {store.get('path')}: {counts}.")


def link(collector: AsteriskCollector, source: str) -> None:
    """The link to one PBX: state, liveness, and what the PBX says about itself."""
    s, now = collector.status, time.time()
    st.subheader(f"{s.name}: {STATE_WORDS.get(s.state, s.state)}")
    st.caption(f"{collector.pbx.describe()}, {SOURCE_WORDS[source]}")
    age = None if s.last_event_at is None else now - s.last_event_at
    rate, rtt = s.events_per_s(), s.ping_rtt_ms
    row = st.columns(6)
    row[0].metric("In this state for", duration_text(now - s.since))
    row[1].metric("Last event, ago", "none yet" if age is None else duration_text(age))
    row[2].metric("Events/s", "—" if rate is None else f"{rate:g}",
                  help="Events used per second over the last minute.")  # fmt: skip
    row[3].metric("Reconnects", s.reconnects)
    every = f"{collector.pbx.ping_interval_s:g} s"
    row[4].metric("AMI ping", "—" if rtt is None else f"{rtt:.1f} ms",
                  help=f"Round trip of the last Ping (one every {every}).")  # fmt: skip
    row[5].metric("Failures", s.failures)
    if s.last_error:
        if s.state == "connected":
            st.caption(f"Last error (since recovered): {s.last_error}")
        else:
            st.error(f"Last error: {s.last_error}")
    uptime = None if s.booted_at is None else now - s.booted_at
    calls = "unknown" if s.current_calls is None else s.current_calls
    st.markdown(
        f"**Asterisk** {s.asterisk_version or 'version unknown'} · **up for** "
        f"{duration_text(uptime)} (started {s.started or 'unknown'}) · **last reload** "
        f"{s.reloaded or 'unknown'} · **current calls** {calls}"
    )


def details(
    collector: AsteriskCollector, members: pd.DataFrame, waiting: pd.DataFrame, tz: str
) -> None:
    """Endpoints and contacts, queues and members, and completeness of one PBX."""
    s, name = collector.status, collector.pbx.name
    mine = members[members["pbx"] == name].drop(columns="pbx")
    queued = waiting[waiting["pbx"] == name].drop(columns="pbx")
    with st.expander(f"PJSIP: {s.endpoints or 0} endpoints ({s.endpoints_unavailable or 0} "
                     f"unavailable), {s.contacts or 0} contacts ({s.contacts_unreachable or 0} "
                     "unreachable)"):  # fmt: skip
        st.dataframe(s.contact_list, hide_index=True, width="stretch")
        st.dataframe(s.endpoint_list, hide_index=True, width="stretch")
    with st.expander(f"Queues: {s.queues or 0} queues, {mine['queue'].nunique()} with "
                     f"members, {len(queued)} callers waiting"):  # fmt: skip
        st.dataframe(mine, hide_index=True, width="stretch")
        st.dataframe(queued, hide_index=True, width="stretch")
    with st.expander("Data completeness: sessions, gaps and queue_log"):
        completeness(name, tz)


def completeness(pbx: str, tz: str) -> None:
    """The PBX's AMI sessions, and per hour of the last day how complete its stays are and
    where queue_log filled what the collector missed (the `completeness` query)."""
    since = datetime.now(UTC) - timedelta(hours=COMPLETENESS_HOURS)
    try:
        sessions = queries.read("pbx_sessions", pbx=pbx, limit=SESSIONS_SHOWN)
        hours = queries.read("completeness", start=since, bucket="1 hour", tz=tz)
    except CallboardError as e:
        st.error(f"{e.title}: {e}")
        return
    st.caption(f"Last {SESSIONS_SHOWN} AMI sessions: collection has a gap between one "
               "session's end and the next one's start.")  # fmt: skip
    st.dataframe(sessions, hide_index=True, width="stretch")
    st.caption(
        f"Stays per hour of the last {COMPLETENESS_HOURS} h ({tz}), newest first: `ami` seen "
        "to their end by the collector, `filled` from Asterisk's queue_log, `unknown` ended "
        "out of sight, `gap` in progress while the link was down, `queue_log` as many as "
        "queue_log holds (0: none read). Definitions: docs/kpis.md."
    )
    mine = hours[hours["pbx"] == pbx].drop(columns="pbx")
    mine = mine.sort_values(["bucket_start", "queue"], ascending=[False, True])
    st.dataframe(mine, hide_index=True, width="stretch")


# -- admin -------------------------------------------------------------------------------------
def connection_admin(running: service.Service) -> None:
    """Add, edit, test and remove the console's PBX connections. Every change an admin can
    make on this page is in here: sign-in gates this one function."""
    st.header("PBX connections")
    read_only = sorted(running.file_pbx)
    if read_only:
        st.caption(f"From {running.settings.source}, read-only here: {', '.join(read_only)}.")
    if running.demo and running.settings.demo == "auto":
        st.caption("Saving a PBX stops the demo PBX: it runs only while no PBX is configured.")
    choice = st.selectbox("Connection", [NEW, *sorted(running.console_pbx)], key="pbx-choice")
    previous = running.console_pbx.get(choice)
    suffix = choice if previous else ":new"
    with st.form(f"pbx-form{suffix}"):
        for field, label, default in form_fields(previous):
            st.text_input(label, value=default, key=f"pbx-{field}{suffix}",
                          disabled=field == "name" and previous is not None)  # fmt: skip
            if field == "username":
                st.text_input(
                    "Secret", type="password", key=f"pbx-secret{suffix}",
                    help="Write-only: never shown again." + (" Blank keeps the stored one."
                                                              if previous else ""),
                )  # fmt: skip
        left, right = st.columns(2)
        left.form_submit_button("Test", on_click=act, args=("test", suffix), key="pbx-test")
        right.form_submit_button("Save", on_click=act, args=("save", suffix), key="pbx-save",
                                 type="primary")  # fmt: skip
    if previous is not None:
        st.button("Remove this PBX", on_click=act, args=("remove", suffix), key="pbx-remove")
    outcome = st.session_state.get("pbx-outcome")
    if outcome:
        (st.success if outcome[0] else st.error)(outcome[1])


def form_fields(previous: PbxSettings | None) -> list[tuple[str, str, str]]:
    """(field, label, value shown) of each form field but the secret, which is never shown."""
    p = previous or PbxSettings(name="")
    return [("name", "Name", p.name), ("host", "Host", p.host), ("port", "Port", str(p.port)),
            ("username", "Username", p.username),
            ("ping_interval_s", "Ping interval (s)", f"{p.ping_interval_s:g}"),
            ("queue_log_path", "queue_log to follow (optional: a path readable here)",
             str(p.queue_log_path or ""))]  # fmt: skip


def act(action: str, suffix: str) -> None:
    """A form button's callback: runs before the rerun, so the secret's widget is emptied
    before the page is drawn again and is never sent back to the browser."""
    running = service.current()
    values = {f: str(st.session_state.get(f"pbx-{f}{suffix}", "")) for f in
              connections.FORM_FIELDS}  # fmt: skip
    st.session_state[f"pbx-secret{suffix}"] = ""
    if running is None:
        st.session_state["pbx-outcome"] = (False, "Collection is not running in this process.")
        return
    previous = running.console_pbx.get(suffix)
    try:
        st.session_state["pbx-outcome"] = perform(running, action, values, previous)
    except CallboardError as e:
        st.session_state["pbx-outcome"] = (False, f"{e.title}: {e}")
    except FutureTimeout:
        st.session_state["pbx-outcome"] = (False, f"{action}: no answer from the service")


def perform(
    running: service.Service, action: str, values: dict[str, str], previous: PbxSettings | None
) -> tuple[bool, str]:
    """Do what the admin asked; (ok, what happened in words)."""
    if action == "remove":
        if previous is None:
            return False, "Choose the PBX to remove above."
        running.call(running.remove_pbx(previous.name))
        st.session_state["pbx-choice"] = NEW
        return True, f"Removed {previous.name}: its collector is stopped; its data stays."
    pbx = connections.from_form(values, previous)
    if previous is None and pbx.name in running.console_pbx:
        raise ConfigError(f"a PBX named {pbx.name!r} exists: choose it above to edit it")
    if action == "test":
        result = running.call(connections.check(pbx))
        return result.ok, ("Test passed: " if result.ok else "Test failed: ") + result.message
    running.call(running.apply_pbx(pbx))
    st.session_state["pbx-choice"] = pbx.name
    for field in connections.FORM_FIELDS:  # the next "Add" starts from a blank form
        st.session_state.pop(f"pbx-{field}:new", None)
    return True, f"Saved {pbx.describe()}: its collector is (re)started, no restart needed."


links()
if (running := service.current()) is not None:
    connection_admin(running)
