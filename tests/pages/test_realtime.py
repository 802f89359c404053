"""The realtime page and wallboard mode, run by Streamlit's AppTest against a real seeded DuckDB
store (and, for the stale case, a real service whose PBX cannot be reached)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import queries
import service
from live.render import duration, percent
from live.snapshot import start_of_day
from settings import PbxSettings, Settings
from storage.store import Store
from tests.conftest import REPO
from tests.pages.board_html import cells, column, tiles
from tests.queries.live_fixture import now_inside_today, seed
from tests.service_process import free_port


def run_page(**query: str) -> AppTest:
    at = AppTest.from_file(str(REPO / "dashboard.py"), default_timeout=30)
    for key, value in query.items():
        at.query_params[key] = value
    return at.run()


def htmls(at: AppTest) -> list[str]:
    """The bodies of every st.html on the page."""
    return [str(getattr(e, "value", "")) for e in at.get("html")]


def board(at: AppTest) -> str:
    """The live board's HTML (the st.html that is not the stylesheet)."""
    bodies = [b for b in htmls(at) if "cb-board" in b and "<style>" not in b]
    assert len(bodies) == 1, bodies
    return str(bodies[0])


def test_tiles_and_tables_show_the_query_results(store: Store) -> None:
    now = now_inside_today()
    seed(store, now)
    at = run_page()
    assert not at.exception
    html = board(at)
    today = start_of_day(now)
    expected = queries.read("live_queues", start=today).set_index("queue")
    shown = tiles(html)
    assert sorted(shown) == ["sales", "support"]
    for queue, row in expected.iterrows():
        tile = shown[str(queue)]
        for key, column_name in [("waiting", "waiting"), ("offered", "offered"),
                                 ("answered", "answered"), ("abandoned", "abandoned"),
                                 ("available", "agents_available"), ("ringing", "agents_ringing"),
                                 ("on_call", "agents_on_call"), ("paused", "agents_paused"),
                                 ("unavailable", "agents_unavailable")]:  # fmt: skip
            assert tile[key] == str(int(row[column_name])), (queue, key)
        assert tile["sl"] == percent(row["sl_answered_pct"])
        assert tile["asa"] == duration(row["asa_s"])
    assert shown["support"]["sl"] == "67 %" and shown["support"]["asa"] == "0:15"
    assert shown["support"]["longest_wait"].startswith("0:3")
    # Colours from the thresholds: 30 s waiting > 20 s, SL 67 % < 80 %, Bob paused > 900 s.
    alerts = {(k, q) for k, q, _ in _alert_cells(html)}
    assert {("longest_wait", "support"), ("sl", "support")} <= alerts
    assert ("sl", "sales") not in alerts
    agents = queries.read("live_agents", start=today)
    assert column(html, "agent") == agents["agent"].tolist()
    assert column(html, "state") == agents["state"].tolist()
    assert column(html, "calls_today") == [str(n) for n in agents["calls_today"]]
    assert column(html, "talk_today")[0] == "5:00"  # Alice: 100 + 200 s
    assert column(html, "call_caller")[0] == "777 Zed" and column(html, "call_queue")[0] == "sales"
    agent_alerts = [k for k, _, _ in _alert_cells(html) if k in ("state", "in_state")]
    assert agent_alerts == ["state", "in_state"]  # Bob's row only
    assert column(html, "caller_num")[:2] == ["555", "556"]  # waiting, oldest first
    assert column(html, "caller_num")[2:] == ["602"]  # to call back
    assert column(html, "needed") == ["—", "1"]  # sales: no answered call, no AHT
    assert "Live, updated" in column(html, "stamp")[0]


def _alert_cells(html: str) -> list[tuple[str, str, str]]:
    # cells() drops classes; find alert cells by their opening tags instead.
    import re

    found = re.findall(r'class="[^"]*alert[^"]*" data-k="([a-z_]+)"(?: data-q="([^"]*)")?', html)
    return [(k, q, "") for k, q in found]


def test_wallboard_shows_selected_queues_in_large_type_without_sidebar(store: Store) -> None:
    seed(store, now_inside_today())
    at = run_page(wallboard="1", queues="support")
    assert not at.exception
    html = board(at)
    assert sorted(tiles(html)) == ["support"]
    assert "cb-wall" in html and "<table" not in html  # tiles only
    styles = "".join(b for b in htmls(at) if "<style>" in b)
    assert 'data-testid="stSidebar"' in styles and "4.5rem" in styles
    assert not at.title  # no page title either: the wall shows the queues


def test_queue_filter_on_the_full_page(store: Store) -> None:
    seed(store, now_inside_today())
    html = board(run_page(queues="sales"))
    assert sorted(tiles(html)) == ["sales"]
    assert column(html, "agent") == ["Alice"]  # the agents of the chosen queues
    assert column(html, "caller_num") == []  # nobody waits in sales, nobody to call back


def test_empty_store_says_so(store: Store) -> None:
    at = run_page()
    assert not at.exception
    html = board(at)
    assert next(k for k, _, _ in cells(html)) == "no-queues"
    assert "Nobody is waiting." in html and "No agent is a queue member." in html


def test_without_a_store_the_page_says_so() -> None:
    at = run_page()
    assert not at.exception
    assert any("store is not open" in e.value for e in at.error)


@pytest.fixture
def service_with_pbx_down(tmp_path: Path) -> Iterator[service.Service]:
    """The real service, its PBX a loopback port nobody listens on: the link never connects."""
    settings = Settings(
        db_path=tmp_path / "cb.duckdb", demo="off", live_refresh_s=0.2,
        pbx=(PbxSettings(name="main", port=free_port(), username="cb", secret="x"),),
    )  # fmt: skip
    started = threading.Event()
    stop: list[asyncio.Event] = []

    async def main() -> None:
        async with service.Service(settings) as running:
            stop.append(asyncio.Event())
            started.set()
            await stop[0].wait()
            del running

    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    assert started.wait(20)
    running = service.current()
    assert running is not None
    deadline = time.monotonic() + 10
    while running.live.latest() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    try:
        yield running
    finally:
        loop.call_soon_threadsafe(stop[0].set)
        thread.join(20)


def test_stale_pbx_is_shown_as_stale(service_with_pbx_down: service.Service) -> None:
    at = run_page()
    assert not at.exception
    assert any("Stale: not live." in w.value and "PBX main is" in w.value for w in at.warning)
    html = board(at)
    assert "cb-stale" in html and "STALE, last update" in column(html, "stamp")[0]
    # The page rendered the service's own snapshot, built by its board task.
    assert service_with_pbx_down.live.ticks >= 1
