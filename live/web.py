"""The wall-screen route: `/wallboard?queues=support,sales`, and the board it polls.

A Streamlit fragment rerun costs the server about 60 ms of CPU here even when it only sends a
cached string (bench/README.md, "Pages"): that is Streamlit's own per-run work (a script
thread, the run's messages), the same for a one-line fragment. Wall screens are many and only
look, so they get a plain page instead: one HTML document whose few lines of JavaScript fetch
`/live/board` every 2 s and swap it in (no reload). The board is the same cached HTML the
realtime page shows (live/render.py), so each refresh costs a dictionary lookup and an HTTP
response. When a fetch fails the page says the board is stale and greys it out.

These routes carry no Streamlit session, so no sign-in: they answer only while sign-in is off
(then settings.py keeps the service on loopback). With [[user]] or [auth] configured they
refuse (403) and point to the signed-in page's wallboard mode, `/?wallboard=1`.
"""

from __future__ import annotations

from html import escape

from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response

import service
from errors import CallboardError
from live import board, render

REFRESH_MS = 2000

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Callboard wallboard</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{{margin:0;padding:1rem 1.5rem;font-family:"Source Sans Pro",sans-serif;
background:#fff;color:#262730}}
.cb-down{{background:#fff3cd;color:#664d03;padding:.6rem 1rem;border-radius:.4rem;
margin-bottom:.8rem;font-size:1.5rem;display:none}}
body.down .cb-down{{display:block}} body.down #board{{opacity:.45;filter:grayscale(1)}}
.cb-warn{{background:#fff3cd;color:#664d03;padding:.6rem 1rem;border-radius:.4rem;
margin-bottom:.8rem;font-size:1.5rem}}</style>
{css}</head><body>
<div class="cb-down" id="down">Stale: Callboard cannot be reached; the figures below are old.
</div><div id="board">{board}</div>
<script>
const url = "/live/board" + window.location.search;
async function tick() {{
  try {{
    const r = await fetch(url, {{cache: "no-store"}});
    if (!r.ok) throw new Error(r.status);
    document.getElementById("board").innerHTML = await r.text();
    document.body.classList.remove("down");
  }} catch (e) {{ document.body.classList.add("down"); }}
}}
setInterval(tick, {refresh_ms});
</script></body></html>"""


def _view(request: Request) -> render.View:
    raw = request.query_params.get("queues", "")
    queues = tuple(q.strip() for q in raw.split(",") if q.strip())
    return render.View(queues=queues or None, wallboard=True)


def _board_html(request: Request) -> str:
    try:
        snapshot = board.current()
    except CallboardError as e:
        return f'<div class="cb-warn">{escape(e.title)}: {escape(str(e))}</div>'
    if snapshot.error:
        return f'<div class="cb-warn">Query error: {escape(snapshot.error)}</div>'
    stale = snapshot.stale_reason()
    banner = f'<div class="cb-warn"><b>Stale: not live.</b> {escape(stale)}.</div>' if stale else ""
    return banner + render.board_html(snapshot, _view(request), stale is not None)


def _refused() -> Response | None:
    """403 when sign-in is configured: these routes cannot tell who is asking."""
    running = service.current()
    if running is not None and (running.settings.users or running.settings.oidc):
        return PlainTextResponse(
            "Sign-in is on, and /wallboard has no sign-in: open /?wallboard=1&queues=... "
            "after signing in instead.",
            status_code=403,
        )
    return None


async def live_board(request: Request) -> Response:
    """/live/board: the wallboard's body now (what the page swaps in every 2 s)."""
    refused = _refused()
    if refused is not None:
        return refused
    return HTMLResponse(_board_html(request), headers={"Cache-Control": "no-store"})


async def wallboard(request: Request) -> Response:
    """/wallboard: the wall-screen page (large type, selected queues, refreshes itself)."""
    refused = _refused()
    if refused is not None:
        return refused
    page = _PAGE.format(css=render.CSS + render.WALLBOARD_CSS, board=_board_html(request),
                        refresh_ms=REFRESH_MS)  # fmt: skip
    return HTMLResponse(page, headers={"Cache-Control": "no-store"})
