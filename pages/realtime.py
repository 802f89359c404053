"""Realtime: is each queue healthy right now? Tiles, staffing, waiting callers, agents.

Thin by design: the numbers come from one live snapshot that the service builds once per
tick for every tab (live/board.py); this script picks the view from the URL and sends that
snapshot's cached HTML (live/render.py). Wallboard mode: `?wallboard=1&queues=support,sales`.
"""

from __future__ import annotations

import streamlit as st

import auth
import service
from errors import CallboardError
from live import board, render

auth.require("realtime")
params = st.query_params
asked = [q.strip() for q in params.get("queues", "").split(",") if q.strip()]
# The queues asked for in the URL, cut to the signed-in person's (auth/roles.py); () shows none.
allowed = auth.allowed_queues(asked)
view = render.View(
    queues=None if allowed is None else tuple(allowed),
    wallboard=params.get("wallboard", "") in ("1", "true", "yes"),
)
st.html(render.CSS + (render.WALLBOARD_CSS if view.wallboard else ""))
if not view.wallboard:
    st.title("Realtime")


@st.fragment(run_every="2s")
def live() -> None:
    try:
        snapshot = board.current()
    except CallboardError as e:
        st.error(f"{e.title}: {e}")
        return
    if snapshot.error:
        st.error(f"Query error: {snapshot.error}")
        return
    running = service.current()
    if snapshot.demo and not view.wallboard:
        st.info(service.DEMO_NOTE)
    elif running is not None and not running.collectors:
        st.info(
            "No PBX is configured, so there is nothing live to show. Add a `[[pbx]]` table "
            "(name, host, port, username, secret_env) to `callboard.toml` — see "
            "`callboard.example.toml` — and restart."
        )
    stale = snapshot.stale_reason()
    if stale:
        st.warning(f"**Stale: not live.** {stale}. The figures below are the last ones seen.")
    st.html(render.board_html(snapshot, view, stale is not None))


live()
