"""Every table the history page shows, downloadable as CSV, Parquet and Excel.

The bytes are made only when the manager clicks (Streamlit calls `data` when it is a
callable), so a re-run of the page costs nothing for the 24 buttons it draws.
"""

from __future__ import annotations

import io
from collections.abc import Callable

import pandas as pd
import streamlit as st

FORMATS: tuple[tuple[str, str, str], ...] = (
    ("CSV", "csv", "text/csv"),
    ("Parquet", "parquet", "application/vnd.apache.parquet"),
    ("Excel", "xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
)


def to_csv(frame: pd.DataFrame) -> bytes:
    """UTF-8 CSV with a header row and no index."""
    return frame.to_csv(index=False).encode()


def to_parquet(frame: pd.DataFrame) -> bytes:
    """A Parquet file (pyarrow, zstd); column types kept, timestamps with their zone."""
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False, compression="zstd")
    return buffer.getvalue()


def to_xlsx(frame: pd.DataFrame, sheet: str = "data") -> bytes:
    """An .xlsx workbook with one sheet. Excel has no time zones, so zoned timestamps are
    written as UTC wall-clock time (the column name says so)."""
    plain = frame.copy()
    for column in plain.columns:
        if isinstance(plain[column].dtype, pd.DatetimeTZDtype):
            plain[column] = plain[column].dt.tz_convert("UTC").dt.tz_localize(None)
            plain = plain.rename(columns={column: f"{column} (UTC)"})
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        plain.to_excel(writer, sheet_name=sheet[:31], index=False)
    return buffer.getvalue()


def _maker(frame: pd.DataFrame, extension: str, name: str) -> Callable[[], bytes]:
    if extension == "csv":
        return lambda: to_csv(frame)
    if extension == "parquet":
        return lambda: to_parquet(frame)
    return lambda: to_xlsx(frame, name)


def buttons(frame: pd.DataFrame, name: str) -> None:
    """A CSV, a Parquet and an Excel download button for `frame`, saved as `name.<ext>`."""
    row = st.container(horizontal=True)
    for label, extension, mime in FORMATS:
        row.download_button(
            label,
            data=_maker(frame, extension, name),
            file_name=f"{name}.{extension}",
            mime=mime,
            key=f"download-{name}-{extension}",
            icon=":material/download:",
            on_click="ignore",
        )
