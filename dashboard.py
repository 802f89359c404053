"""Callboard's entry point: the service (st.App) when imported, the page router when run.

    python dashboard.py            # what `make run` does: serve on settings.host:settings.port

Imported by the ASGI server, this module builds `app`: Streamlit's ASGI app whose lifespan runs
the Service (store, collectors, scheduler) from server start to shutdown, with two extra
routes, /healthz (JSON) and /metrics (Prometheus text). Run by Streamlit for a browser session,
the same file only routes to the pages. It holds no KPI logic.
"""

from __future__ import annotations

import logging
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import streamlit as st
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route
from streamlit.runtime.scriptrunner import get_script_run_ctx

import service
from errors import CallboardError
from settings import load_settings


@asynccontextmanager
async def lifespan(_app: Any) -> AsyncIterator[None]:
    """Collection starts with the server, not with the first browser, and stops with it."""
    async with service.Service(load_settings()):
        yield


async def healthz(_request: Request) -> JSONResponse:
    running = service.current()
    if running is None:
        return JSONResponse({"status": "starting"}, status_code=503)
    return JSONResponse(running.health())


async def metrics(_request: Request) -> PlainTextResponse:
    running = service.current()
    text = service.metrics_text(running) if running else ""
    return PlainTextResponse(text, media_type="text/plain; version=0.0.4")


def serve() -> None:
    """`python dashboard.py`: serve on the configured address until SIGTERM or Ctrl-C."""
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        settings = load_settings()
    except CallboardError as e:
        raise SystemExit(f"error: {e}") from None
    # uvicorn re-raises SIGTERM once it has shut down gracefully (lifespan exit included);
    # this handler turns that into a normal exit instead of death by signal.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    app.run(config={"server.address": settings.host, "server.port": settings.port})


if get_script_run_ctx(suppress_warning=True) is None:
    # Imported by the server, or run as `python dashboard.py`: build the ASGI app.
    app = st.App(
        __file__, lifespan=lifespan, routes=[Route("/healthz", healthz), Route("/metrics", metrics)]
    )
    if __name__ == "__main__":
        serve()
else:
    # Run by Streamlit for one browser session (also as __main__): route to the pages.
    st.set_page_config(page_title="Callboard", page_icon=":telephone_receiver:", layout="wide")
    # Wallboard mode (?wallboard=1) is for a wall screen: no sidebar, no page menu.
    wallboard = st.query_params.get("wallboard", "") in ("1", "true", "yes")
    st.navigation([
        st.Page("pages/realtime.py", title="Realtime", icon=":material/monitoring:",
                default=True),
        st.Page("pages/history.py", title="History", icon=":material/history:"),
        st.Page("pages/pbx.py", title="PBX console", icon=":material/settings_phone:"),
    ], position="hidden" if wallboard else "sidebar").run()  # fmt: skip
