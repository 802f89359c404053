"""The realtime page's HTML, made once per snapshot and view and sent to every tab as is.

Streamlit widgets per refresh cost server CPU in every tab (a styled st.dataframe serialises
its frame each time, plotly express builds a figure); one `st.html` body cached per
(snapshot, view) costs one dictionary lookup per tab. Every value is escaped; colours follow
the thresholds in the settings (classes `alert`, `warn`) and the whole board greys out when
the data is stale. Elements carry `data-k` (and `data-q`, the queue) so that tests read the
numbers shown.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from html import escape
from typing import Any

import pandas as pd

from live.snapshot import Snapshot, is_finite

CSS = """<style>
.cb-board{font-family:inherit}
.cb-tiles{display:grid;grid-template-columns:repeat(auto-fill,minmax(17rem,1fr));gap:.8rem}
.cb-tile{border:1px solid #d0d4da;border-radius:.5rem;padding:.6rem .8rem;background:#fff}
.cb-tile h4{margin:0 0 .3rem 0;font-size:1.15rem}
.cb-big{display:flex;gap:1.2rem}
.cb-big div{display:flex;flex-direction:column}
.cb-big b{font-size:2rem;line-height:1.1}
.cb-row{display:flex;flex-wrap:wrap;gap:.2rem .8rem;font-size:.92rem;margin-top:.3rem}
.cb-bar{height:.45rem;background:#eceff3;border-radius:.2rem;position:relative;margin-top:.3rem}
.cb-bar i{position:absolute;left:0;top:0;bottom:0;background:#2e9e5b;border-radius:.2rem}
.cb-bar s{position:absolute;top:-.2rem;bottom:-.2rem;width:2px;background:#333}
.cb-board .alert{color:#c62828;font-weight:700}
.cb-board .warn{color:#b26a00;font-weight:700}
.cb-bar.alert i{background:#c62828}
.cb-table{border-collapse:collapse;width:100%;font-size:.92rem}
.cb-table th{text-align:left;border-bottom:2px solid #d0d4da;padding:.2rem .4rem}
.cb-table td{border-bottom:1px solid #eceff3;padding:.2rem .4rem}
.cb-table td.n{text-align:right;font-variant-numeric:tabular-nums}
.cb-stale .cb-tile,.cb-stale .cb-table{opacity:.45;filter:grayscale(1)}
.cb-stamp{color:#666;font-size:.85rem;margin-top:.4rem}
.cb-board h3{margin:1rem 0 .4rem 0;font-size:1.25rem}
.cb-empty{color:#666}
</style>"""

WALLBOARD_CSS = """<style>
[data-testid="stSidebar"],[data-testid="stSidebarCollapsedControl"],header{display:none!important}
.block-container,[data-testid="stMainBlockContainer"]{padding:1rem 1.5rem!important;max-width:100%!important}
.cb-wall .cb-tiles{grid-template-columns:repeat(auto-fit,minmax(26rem,1fr))}
.cb-wall .cb-tile h4{font-size:2.4rem}
.cb-wall .cb-big b{font-size:4.5rem}
.cb-wall .cb-big span{font-size:1.4rem}
.cb-wall .cb-row{font-size:1.6rem}
.cb-wall .cb-bar{height:1rem}
</style>"""  # noqa: E501 (CSS selectors)


@dataclass(frozen=True)
class View:
    """What one tab asked for: its queues (None: all) and wallboard mode."""

    queues: tuple[str, ...] | None = None
    wallboard: bool = False


_cache_lock = threading.Lock()
_cache: OrderedDict[tuple[int, float, View], str] = OrderedDict()
_CACHE_SIZE = 64


def board_html(snapshot: Snapshot, view: View, stale: bool) -> str:
    """The body of the live fragment for `view`, built once per snapshot and view."""
    key = (snapshot.seq, snapshot.taken_at.timestamp() + (0.5 if stale else 0.0), view)
    with _cache_lock:
        hit = _cache.get(key)
    if hit is not None:
        return hit
    html = _board(snapshot, view, stale)
    with _cache_lock:
        _cache[key] = html
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return html


def _board(snapshot: Snapshot, view: View, stale: bool) -> str:
    queues = _selected(snapshot.queues, view.queues)
    classes = "cb-board" + (" cb-wall" if view.wallboard else "") + (" cb-stale" if stale else "")
    parts = [f'<div class="{classes}">', _tiles(queues)]
    if not view.wallboard:
        parts += [
            "<h3>Staffing now (Erlang C)</h3>",
            _erlang(queues),
            f"<h3>Callers waiting ({len(_selected(snapshot.waiting, view.queues))})</h3>",
            _waiting(_selected(snapshot.waiting, view.queues)),
            "<h3>Agents</h3>",
            _agents(snapshot, view.queues),
            f"<h3>To call back ({len(_selected(snapshot.callbacks, view.queues))})</h3>",
            _callbacks(_selected(snapshot.callbacks, view.queues)),
        ]
    label = "STALE, last update" if stale else "Live, updated"
    parts.append(f'<div class="cb-stamp" data-k="stamp">{label} {snapshot.taken_at:%H:%M:%S} '
                 "UTC</div></div>")  # fmt: skip
    return "".join(parts)


def _selected(frame: pd.DataFrame, queues: tuple[str, ...] | None) -> pd.DataFrame:
    if queues is None or frame.empty or "queue" not in frame.columns:
        return frame
    return frame[frame["queue"].isin(queues)]


def duration(seconds: Any) -> str:
    """Seconds as m:ss (h:mm:ss from an hour); an em dash when unknown."""
    if not is_finite(seconds):
        return "—"
    total = int(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def percent(value: Any) -> str:
    return f"{value:.0f} %" if is_finite(value) else "—"


def _num(value: Any) -> str:
    return f"{value:.0f}" if is_finite(value) else "—"


def _tiles(queues: pd.DataFrame) -> str:
    if queues.empty:
        return '<p class="cb-empty" data-k="no-queues">No queue seen yet: no member, no caller, no call today.</p>'  # noqa: E501
    tiles = "".join(_tile(r) for r in queues.to_dict("records"))
    return f'<div class="cb-tiles">{tiles}</div>'


def _tile(r: dict[str, Any]) -> str:
    q = escape(str(r["queue"]))
    late = is_finite(r["longest_wait_s"]) and r["longest_wait_s"] > r["sl_s"]
    low = is_finite(r["sl_answered_pct"]) and r["sl_answered_pct"] < r["sl_target_pct"]
    sl_label = f"SL ≤{r['sl_s']:.0f}s, target {r['sl_target_pct']:.0f} %"
    sl_width = min(100.0, float(r["sl_answered_pct"])) if is_finite(r["sl_answered_pct"]) else 0.0

    def cell(key: str, text: str, label: str, cls: str = "") -> str:
        return (f'<div><b class="{cls}" data-k="{key}" data-q="{q}">{escape(text)}</b>'
                f"<span>{label}</span></div>")  # fmt: skip

    def item(key: str, text: str, label: str, cls: str = "") -> str:
        value = f'<b class="{cls}" data-k="{key}" data-q="{q}">{escape(text)}</b>'
        return f"<span>{label} {value}</span>"

    return "".join([
        f'<div class="cb-tile" data-q="{q}"><h4>{q}</h4><div class="cb-big">',
        cell("waiting", str(int(r["waiting"])), "waiting", "warn" if r["waiting"] else ""),
        cell("longest_wait", duration(r["longest_wait_s"]), "longest wait",
             "alert" if late else ""),
        cell("sl", percent(r["sl_answered_pct"]), sl_label, "alert" if low else ""),
        "</div>",
        f'<div class="cb-bar{" alert" if low else ""}"><i style="width:{sl_width:.0f}%"></i>'
        f'<s style="left:{float(r["sl_target_pct"]):.0f}%"></s></div>',
        '<div class="cb-row">',
        item("available", str(int(r["agents_available"])), "available"),
        item("ringing", str(int(r["agents_ringing"])), "ringing"),
        item("on_call", str(int(r["agents_on_call"])), "on call"),
        item("paused", str(int(r["agents_paused"])), "paused"),
        item("unavailable", str(int(r["agents_unavailable"])), "unavailable"),
        "</div><div class=\"cb-row\">",
        item("offered", str(int(r["offered"])), "offered"),
        item("answered", str(int(r["answered"])), "answered"),
        item("abandoned", str(int(r["abandoned"])), "abandoned"),
        item("asa", duration(r["asa_s"]), "ASA"),
        "</div></div>",
    ])  # fmt: skip


def _table(headers: list[str], rows: list[list[tuple[str, str, str]]], empty: str) -> str:
    """rows of (data-k, text, class) cells; class 'n' right-aligns numbers."""
    if not rows:
        return f'<p class="cb-empty">{escape(empty)}</p>'
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>"
        + "".join(f'<td class="{c}" data-k="{k}">{escape(t)}</td>' for k, t, c in row)
        + "</tr>"
        for row in rows
    )
    return f'<table class="cb-table"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _text(value: Any) -> str:
    return "" if value is None or (not isinstance(value, list) and pd.isna(value)) else str(value)


def _erlang(queues: pd.DataFrame) -> str:
    rows = []
    for r in queues.to_dict("records"):
        short = is_finite(r["agents_needed"]) and r["agents_staffed"] < r["agents_needed"]
        low = is_finite(r["sl_projected_pct"]) and r["sl_projected_pct"] < r["sl_target_pct"]
        rows.append([
            ("queue", _text(r["queue"]), ""),
            ("rate", _num(r["offered_window"]), "n"),
            ("aht", duration(r["aht_window_s"]), "n"),
            ("traffic", f"{r['traffic_erl']:.2f}" if is_finite(r["traffic_erl"]) else "—", "n"),
            ("needed", _num(r["agents_needed"]), "n"),
            ("staffed", _num(r["agents_staffed"]), "n alert" if short else "n"),
            ("sl_model", percent(r["sl_model_pct"]), "n"),
            ("sl_projected", percent(r["sl_projected_pct"]), "n alert" if low else "n"),
            ("target", percent(r["sl_target_pct"]), "n"),
        ])  # fmt: skip
    headers = ["queue", "calls last hour", "AHT", "load (Erl)", "agents needed",
               "agents staffed", "SL with them", "SL at interval end", "target"]  # fmt: skip
    return _table(headers, rows, "No queue to plan for.")


def _waiting(waiting: pd.DataFrame) -> str:
    rows = [
        [
            ("caller_num", _text(r["caller_num"]), ""),
            ("caller_name", _text(r["caller_name"]), ""),
            ("queue", _text(r["queue"]), ""),
            ("position", _num(r["position"]), "n"),
            ("wait", duration(r["wait_s"]), "n"),
        ]
        for r in waiting.to_dict("records")
    ]
    return _table(["number", "name", "queue", "position", "wait"], rows, "Nobody is waiting.")


def _agents(snapshot: Snapshot, queues: tuple[str, ...] | None) -> str:
    settings = snapshot.settings
    agents = snapshot.agents
    if queues is not None and not agents.empty:
        agents = agents[[bool(set(qs) & set(queues)) for qs in agents["queues"]]]
    wrapup = {r.strip().lower() for r in settings.wrapup_reasons.split(",") if r.strip()}
    rows = []
    for r in agents.to_dict("records"):
        reason = _text(r["paused_reason"])
        limit = settings.wrapup_alert_s if reason.lower() in wrapup else settings.pause_alert_s
        in_state = r["in_state_s"]
        long_pause = r["state"] == "paused" and is_finite(in_state) and in_state > limit
        caller = " ".join(x for x in (_text(r["call_caller"]), _text(r["call_caller_name"])) if x)
        rows.append([
            ("agent", _text(r["agent"]), ""),
            ("state", _text(r["state"]), "alert" if long_pause else ""),
            ("in_state", duration(r["in_state_s"]), "n alert" if long_pause else "n"),
            ("reason", reason, ""),
            ("call_queue", _text(r["call_queue"]), ""),
            ("call_caller", caller, ""),
            ("calls_today", _num(r["calls_today"]), "n"),
            ("talk_today", duration(r["talk_today_s"]), "n"),
        ])  # fmt: skip
    headers = ["agent", "state", "time in state", "pause reason", "call: queue", "call: caller",
               "calls today", "talk today"]  # fmt: skip
    return _table(headers, rows, "No agent is a queue member.")


def _callbacks(callbacks: pd.DataFrame) -> str:
    rows = [
        [
            ("caller_num", _text(r["caller_num"]), ""),
            ("caller_name", _text(r["caller_name"]), ""),
            ("queue", _text(r["queue"]), ""),
            ("abandoned_at", f"{pd.Timestamp(r['abandoned_at']).tz_convert('UTC'):%H:%M:%S}", "n"),
            ("waited", duration(r["waited_s"]), "n"),
            ("abandons", _num(r["abandons"]), "n"),
        ]
        for r in callbacks.to_dict("records")
    ]
    headers = ["number", "name", "queue", "abandoned at (UTC)", "waited", "abandons today"]
    return _table(headers, rows, "Every caller who abandoned today got through later.")
