"""Downloads: the bytes each format gives read back, with a real parser, as the table shown."""

from __future__ import annotations

import io

import openpyxl
import pandas as pd
import pyarrow.parquet as pq

import queries
from storage.store import Store
from tests.queries.kpi_fixture import at, put_day
from ui import downloads, tables


def agent_table(store: Store) -> pd.DataFrame:
    put_day(store)
    frame = queries.run("agent_summary", store.cursor(), start=at("07:00:00"), end=at("11:00:00"))
    return tables.agents(frame)


def test_csv_reads_back(store: Store) -> None:
    frame = agent_table(store)
    back = pd.read_csv(io.BytesIO(downloads.to_csv(frame)))
    assert list(back.columns) == list(frame.columns)
    pd.testing.assert_frame_equal(back, frame, check_dtype=False)


def test_parquet_reads_back_with_types(store: Store) -> None:
    put_day(store)
    frame = queries.run("calls", store.cursor())  # zoned timestamps, text, numbers, NULLs
    back = pq.read_table(io.BytesIO(downloads.to_parquet(frame))).to_pandas()
    pd.testing.assert_frame_equal(back, frame, check_dtype=False)
    assert str(back["entered_at"].dt.tz) in ("UTC", "Etc/UTC")


def test_xlsx_opens_in_a_spreadsheet_reader(store: Store) -> None:
    frame = agent_table(store)
    book = openpyxl.load_workbook(io.BytesIO(downloads.to_xlsx(frame, "agents")))
    sheet = book["agents"]
    rows = list(sheet.iter_rows(values_only=True))
    assert list(rows[0]) == list(frame.columns)
    assert [r[0] for r in rows[1:]] == ["Alice", "Bob", "Carol", "Dave"]
    assert rows[2][list(frame.columns).index("pause Training (s)")] == 1800.0


def test_xlsx_writes_zoned_timestamps_as_utc(store: Store) -> None:
    put_day(store)
    frame = queries.run("calls", store.cursor())
    book = openpyxl.load_workbook(io.BytesIO(downloads.to_xlsx(frame, "calls")))
    header = [c.value for c in next(book["calls"].iter_rows(max_row=1))]
    assert "entered_at (UTC)" in header
    cell = book["calls"].cell(row=2, column=header.index("entered_at (UTC)") + 1).value
    assert cell == frame["entered_at"][0].tz_convert("UTC").tz_localize(None).to_pydatetime()


def test_agent_table_spreads_pause_reasons() -> None:
    frame = pd.DataFrame(
        {"agent": ["A", "B"], "pause_by_reason_s": [{"": 60.0, "Lunch": 30.0}, pd.NA]}
    )
    flat = tables.agents(frame)
    assert list(flat.columns) == ["agent", "pause (no reason) (s)", "pause Lunch (s)"]
    assert flat.iloc[0, 1:].tolist() == [60.0, 30.0]
    assert flat.iloc[1, 1:].isna().all()
