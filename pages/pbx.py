"""PBX console: is each PBX link up, and what is failing?"""

from __future__ import annotations

import streamlit as st

import service

st.title("PBX console")


@st.fragment(run_every="2s")
def links() -> None:
    running = service.current()
    if running is None:
        st.error("Collection is not running in this process: start Callboard with `make run`.")
        return
    if running.demo:
        st.info(service.DEMO_NOTE)
    if not running.collectors:
        st.info(
            "No PBX configured. Add a `[[pbx]]` table to `callboard.toml` "
            "(see `callboard.example.toml`)."
        )
        return
    st.dataframe([c.status.as_dict() for c in running.collectors], hide_index=True, width="stretch")
    store = running.store
    st.caption(
        f"Store {store.path}: {store.rows_written} rows written"
        + (f" — last error: {store.last_error}" if store.last_error else "")
    )


links()
