"""Realtime: is each queue healthy right now? Waiting callers, agents, today's calls."""

from __future__ import annotations

from datetime import UTC, datetime

import streamlit as st

import queries
import service
from errors import CallboardError

st.title("Realtime")


@st.fragment(run_every="2s")
def live() -> None:
    running = service.current()
    if running is not None and running.demo:
        st.info(service.DEMO_NOTE)
    elif running is not None and not running.collectors:
        st.info(
            "No PBX is configured, so there is nothing live to show. Add a `[[pbx]]` table "
            "(name, host, port, username, secret_env) to `callboard.toml` — see "
            "`callboard.example.toml` — and restart."
        )
    for status in running.collectors if running else []:
        if status.status.state != "connected":
            st.warning(
                f"PBX **{status.pbx.name}** is {status.status.state}: the figures below "
                f"are not live. {status.status.last_error or ''}"
            )
    try:
        waiting = queries.read("live_waiting")
        members = queries.read("live_members")
        today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        calls = queries.read("calls", start=today)
    except CallboardError as e:
        st.error(f"{e.title}: {e}")
        return
    st.subheader(f"Callers waiting ({len(waiting)})")
    st.dataframe(waiting, hide_index=True, width="stretch")
    st.subheader("Agents")
    st.dataframe(members, hide_index=True, width="stretch")
    st.subheader(f"Today's calls ({len(calls)})")
    st.dataframe(
        calls[
            [
                "queue",
                "call_id",
                "caller_num",
                "entered_at",
                "outcome",
                "wait_s",
                "agent",
                "talk_s",
                "ended_by",
            ]
        ].iloc[::-1],
        hide_index=True,
        width="stretch",
    )
    st.caption(f"Updated {datetime.now(UTC):%H:%M:%S} UTC")


live()
