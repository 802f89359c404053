"""Named queries: every number Callboard shows comes from one `queries/<name>.sql` file.

Each file opens with a comment header (title, definition, params, and optionally
disabled_optimizers: DuckDB optimizers the query is planned without, each measured in
bench/README.md). `run(name, con, **params)` binds the parameters (never formats them into
SQL) and returns a pandas DataFrame; pages, notebooks, the CLI (`python -m queries`) and
tests all call it.
"""

from __future__ import annotations

import contextlib
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa

from errors import QueryError, StoreError
from queries.dataset import dataset_connection, dataset_files
from storage import store as _store

__all__ = ["dataset_connection", "dataset_files", "load", "names", "read", "run"]

QUERY_DIR = Path(__file__).parent
_PARAM_RE = re.compile(r"\$([a-z_][a-z0-9_]*)")
_OPTIMIZERS_RE = re.compile(r"[a-z_]+(,[a-z_]+)*")
# The values a parameter may take, checked before any query runs (the SQL casts `bucket` to
# an INTERVAL, which would also take values no page offers, or fail on text).
CHOICES: dict[str, tuple[str, ...]] = {
    "bucket": ("15 minutes", "30 minutes", "1 hour", "1 day", "1 week", "1 month"),
}
# Longest quoted value and database message in a QueryError.
SHOWN_CHARS = 80
ERROR_CHARS = 400
# Parameters bound as a VARCHAR[] list; on the command line their value is split on commas.
LIST_PARAMS = frozenset({"queues", "agents"})


@dataclass(frozen=True)
class NamedQuery:
    """One query file: its header and SQL, and the `$params` the SQL uses."""

    name: str
    title: str
    definition: str
    params_help: str
    sql: str
    params: tuple[str, ...]
    disabled_optimizers: str = ""  # DuckDB's setting while it runs: names, comma-separated


def names() -> list[str]:
    """Every named query, sorted."""
    return sorted(p.stem for p in QUERY_DIR.glob("*.sql"))


@cache
def load(name: str) -> NamedQuery:
    """Read and parse `queries/<name>.sql`; unknown names raise QueryError."""
    if name not in names():
        raise QueryError(f"unknown query {_shown(name)}; known: {', '.join(names())}")
    text = (QUERY_DIR / f"{name}.sql").read_text()
    header: dict[str, str] = {}
    key = ""
    for line in text.splitlines():
        if not line.startswith("--"):
            break
        body = line[2:].strip()
        label, sep, rest = body.partition(":")
        if sep and label in ("title", "definition", "params", "disabled_optimizers"):
            key = label
            header[key] = rest.strip()
        elif key:
            header[key] += " " + body
    params = tuple(dict.fromkeys(_PARAM_RE.findall(text)))
    off = header.get("disabled_optimizers", "").replace(" ", "")
    if off and not _OPTIMIZERS_RE.fullmatch(off):
        raise QueryError(f"{name}: disabled_optimizers must be names and commas, not {_shown(off)}")
    return NamedQuery(
        name,
        header.get("title", name),
        header.get("definition", ""),
        header.get("params", ""),
        text,
        params,
        off,
    )


def run(name: str, con: duckdb.DuckDBPyConnection, **params: Any) -> pd.DataFrame:
    """Run a named query with bound parameters; missing optional params are NULL."""
    query = load(name)
    unknown = sorted(set(params) - set(query.params))
    if unknown:
        raise QueryError(
            f"{name}: unknown parameter {_shown(unknown[0])} "
            f"(takes: {', '.join(query.params) or 'none'})"
        )
    values = {p: _checked(name, p, params.get(p)) for p in query.params}
    try:
        with _planned_without(con, query.disabled_optimizers):
            return frame(con.execute(query.sql, values))
    except duckdb.Error as e:
        raise QueryError(f"{name} failed: {_cut(str(e), ERROR_CHARS)}") from None


@contextlib.contextmanager
def _planned_without(con: duckdb.DuckDBPyConnection, optimizers: str) -> Iterator[None]:
    """DuckDB's `optimizers` (comma-separated; none: nothing done) off on `con` while the
    block runs, and reset after: the connection is the caller's, and other queries plan
    better with them (bench/README.md, session 11)."""
    if not optimizers:
        yield
        return
    con.execute("SET disabled_optimizers = $off", {"off": optimizers})
    try:
        yield
    finally:
        with contextlib.suppress(duckdb.Error):  # the query's own error is the one to tell
            con.execute("RESET disabled_optimizers")


# The column types `frame` converts through Arrow; any other type (DATE, DECIMAL, HUGEINT,
# MAP, LIST, INTERVAL) leaves the result to DuckDB's own `.df()`, whose dtypes for them Arrow
# would not give (datetime.date and Decimal objects, lists of pairs).
ARROW_TYPES = frozenset(
    {"VARCHAR", "BOOLEAN", "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "DOUBLE", "FLOAT"}
    | {"TIMESTAMP", "TIMESTAMP WITH TIME ZONE"}
)
# pandas' nullable dtypes, which DuckDB's `.df()` gives an integer or boolean column holding
# NULLs (Arrow would give floats and objects).
_NULLABLE: dict[pa.DataType, Any] = {
    pa.int8(): pd.Int8Dtype(),
    pa.int16(): pd.Int16Dtype(),
    pa.int32(): pd.Int32Dtype(),
    pa.int64(): pd.Int64Dtype(),
    pa.bool_(): pd.BooleanDtype(),
}
# DuckDB 2.0 warns that Arrow from an executed statement copies the rows and points to
# `con.sql(query)`; but a relation binds its query when made and again when fetched, 10-20 ms
# of planning more on every page query (bench/README.md), where the copy costs less than 1 ms
# a thousand rows. Set once at import: `warnings.catch_warnings` per call is not thread-safe.
warnings.filterwarnings("ignore", "Arrow output on a DB-API result", UserWarning)


def frame(result: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """An executed query's rows as the DataFrame DuckDB's `.df()` gives, built through Arrow.

    DuckDB 2.0's `.df()` takes 2x as long for a result of tens of thousands of rows (`calls`
    for a day at 10M callers: 70 of its 80 ms; bench/README.md); Arrow's conversion gives the
    same frame once the columns `.df()` shapes otherwise are shaped alike: an integer or
    boolean column with NULLs becomes pandas' nullable type, a text column of NULLs only (or
    of no rows) holds None (object). tests/queries/test_frame.py compares both on every named
    query.
    """
    if result.description is None or not all(
        str(column[1]) in ARROW_TYPES for column in result.description
    ):
        return result.df()
    table: pa.Table = result.to_arrow_table()
    df = table.to_pandas()
    for i, field in enumerate(table.schema):
        column = table.column(i)
        if pa.types.is_string(field.type) and column.null_count == len(column):
            df[field.name] = pd.Series([None] * len(column), dtype=object)
        elif field.type in _NULLABLE and column.null_count > 0:
            df[field.name] = column.to_pandas(types_mapper=_NULLABLE.get)
    return df


def from_text(param: str, text: str) -> str | list[str]:
    """A parameter's value as typed on the command line: list parameters split on commas."""
    if param in LIST_PARAMS:
        return [part.strip() for part in text.split(",") if part.strip()]
    return text


def _checked(name: str, param: str, value: Any) -> Any:
    """The value to bind for `param`, or QueryError when it is not one the query can take."""
    if value is None:
        return None
    choices = CHOICES.get(param)
    if choices is not None and value not in choices:
        raise QueryError(
            f"{name}: {param} must be one of {', '.join(choices)}; not {_shown(value)}"
        )
    if param in LIST_PARAMS:
        if isinstance(value, str) or not isinstance(value, list | tuple):
            raise QueryError(f"{name}: {param} takes a list of names, not {_shown(value)}")
        return list(value)
    return value


def _shown(value: Any) -> str:
    """A value as an error message quotes it: its repr, cut so that a hostile value (10 KB of
    text) does not become a 10 KB message on a page or in a log."""
    return _cut(repr(value), SHOWN_CHARS)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def read(name: str, **params: Any) -> pd.DataFrame:
    """Run a named query on the store open in this process (the running service's)."""
    store = _store.current()
    if store is None:
        raise StoreError("the store is not open in this process; start Callboard with `make run`")
    cursor = store.cursor()
    try:
        return run(name, cursor, **params)
    finally:
        cursor.close()
