"""The manager notebooks, executed by papermill on a real kernel over fixture data: no error,
and their key figures as worked out by hand in tests/queries."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import nbformat
import papermill
import pytest
from nbconvert import HTMLExporter

from storage.export import export
from storage.store import Store
from tests.queries.kpi_fixture import DAY, put_day

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = REPO / "notebooks"
DAY_PARAMS = {"start": "2026-11-02", "end": "2026-11-03"}


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixture day in a closed DuckDB file and in a Parquet export beside it."""
    folder = tmp_path_factory.mktemp("notebooks")
    with Store(folder / "cb.duckdb", 0.05) as store:
        put_day(store)
        export(store.cursor(), folder / "export", now=DAY.replace(day=3, hour=1))
    return folder


def execute(name: str, output: Path, parameters: dict[str, Any]) -> dict[str, Any]:
    """Run the notebook as `make report` does; return the key figures its last cell prints."""
    papermill.execute_notebook(
        NOTEBOOKS / f"{name}.ipynb", output, parameters=parameters, cwd=str(NOTEBOOKS),
        kernel_name="python3", progress_bar=False,
    )  # fmt: skip
    notebook = nbformat.read(output, as_version=4)
    last = notebook.cells[-1].outputs
    return dict(json.loads(last[0]["text"]))


def test_weekly_review_on_the_export(data: Path, tmp_path: Path) -> None:
    output = tmp_path / "weekly_review.ipynb"
    figures = execute("weekly_review", output, {"dataset": str(data / "export"), **DAY_PARAMS})
    assert figures == {
        "offered": {"sales": 4, "support": 8},
        "sl_answered_pct": {"sales": 50.0, "support": 66.6667},  # 1 / 2, 2 / 3: test_kpis.py
        "unanswered": 7,  # 12 stays, 5 answered
        "patience_end_pct": {"sales": 66.6667, "support": 0.0},  # test_patience_staffing.py
        "agents": ["Alice", "Bob", "Carol", "Dave"],
    }
    html, _ = HTMLExporter().from_filename(str(output))
    assert "Caller patience" in html and "plotly" in html


def test_staffing_on_the_duckdb_file(data: Path, tmp_path: Path) -> None:
    parameters = {"db": str(data / "cb.duckdb"), "bucket": "1 hour", **DAY_PARAMS}
    figures = execute("staffing", tmp_path / "staffing.ipynb", parameters)
    assert figures["intervals"] == 2 * 24  # two queues, every hour of the day
    assert figures["needed"] == {  # test_patience_staffing.py
        "sales 08:00": 1, "sales 09:00": 1, "support 08:00": 1, "support 09:00": 1,
    }  # fmt: skip
    assert figures["staffed"] == {
        "sales 08:00": 1.0, "sales 09:00": 0.5, "support 08:00": 2.3333, "support 09:00": 2.5,
    }  # fmt: skip
