"""Callboard's entry point: the service (st.App) when imported, the page router when run.

    python dashboard.py            # what `make run` does: serve on settings.host:settings.port

Imported by the ASGI server, this module builds `app`: Streamlit's ASGI app whose lifespan runs
the Service (store, collectors, scheduler) from server start to shutdown, with two extra
routes, /healthz (JSON) and /metrics (Prometheus text), and Streamlit's `[auth]` secrets when
OIDC is configured. Run by Streamlit for a browser session, the same file only routes: to the
sign-in page until someone signs in, then to the pages their role reaches (auth/). It holds
no KPI logic.
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
from streamlit.runtime.pages_manager import PagesManager
from streamlit.runtime.scriptrunner import get_script_run_ctx

import auth
import service
from auth.gate import no_access_page, sign_in_page, signed_in_sidebar
from auth.oidc import streamlit_secrets
from errors import CallboardError
from live import web
from settings import Settings, load_settings

# (file, title, icon, the key PAGE_ROLES knows it by); the first a user may see is the default.
PAGES = (
    ("pages/realtime.py", "Realtime", ":material/monitoring:", "realtime"),
    ("pages/history.py", "History", ":material/history:", "history"),
    ("pages/pbx.py", "PBX console", ":material/settings_phone:", "pbx"),
)


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


def build_app(settings: Settings) -> st.App:
    """The ASGI app; OIDC's client and cookie secrets go to Streamlit in memory only."""
    # Streamlit takes a `pages/` folder beside the entry script for the old multipage layout
    # until the process's first st.navigation call: a deep link (/history) opened first after
    # a start would run that page alone, without this router, its sign-in gate and its menu
    # (tests/test_browser.py). This process always routes with st.navigation.
    PagesManager.uses_pages_directory = False
    return st.App(
        __file__,
        secrets=streamlit_secrets(settings.oidc),
        lifespan=lifespan,
        routes=[
            Route("/healthz", healthz),
            Route("/metrics", metrics),
            # Wall screens: a plain page polling the cached board (live/web.py), no session.
            Route("/wallboard", web.wallboard),
            Route("/live/board", web.live_board),
        ],
    )


def serve() -> None:
    """`python dashboard.py`: serve on the configured address until SIGTERM or Ctrl-C."""
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        settings = load_settings()  # refuses a non-loopback host without sign-in
    except CallboardError as e:
        raise SystemExit(f"error: {e}") from None
    # uvicorn re-raises SIGTERM once it has shut down gracefully (lifespan exit included);
    # this handler turns that into a normal exit instead of death by signal.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    build_app(settings).run(config={"server.address": settings.host, "server.port": settings.port})


def route() -> None:
    """One browser session: the sign-in page, or the pages this person's roles reach."""
    st.set_page_config(page_title="Callboard", page_icon=":telephone_receiver:", layout="wide")
    try:
        user = auth.current_user()
    except CallboardError as e:
        st.error(f"{e.title}: {e}")
        return
    if user is None:
        st.navigation([st.Page(sign_in_page, title="Sign in", icon=":material/login:")]).run()
        return
    # Wallboard mode (?wallboard=1) is for a wall screen: no sidebar, no page menu, no banner.
    wallboard = st.query_params.get("wallboard", "") in ("1", "true", "yes")
    if not wallboard:
        signed_in_sidebar(user)
    pages = [st.Page(path, title=title, icon=icon, url_path=key)
             for path, title, icon, key in PAGES if user.may_see(key)]  # fmt: skip
    if not pages:
        pages = [st.Page(no_access_page, title="No access", icon=":material/block:")]
    st.navigation(pages, position="hidden" if wallboard else "sidebar").run()


if get_script_run_ctx(suppress_warning=True) is not None:
    route()  # run by Streamlit for one browser session (also as __main__)
elif __name__ == "__main__":
    serve()  # `python dashboard.py`
else:
    app = build_app(load_settings())  # imported by an ASGI server: `uvicorn dashboard:app`
