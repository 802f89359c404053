"""No SQL is built from text: every string in the service's code that looks like SQL and is
put together at run time (f-string, `+`, `%`, `.format`) is listed here with what goes into
it, and each of those is a fixed name, never a value. A new one fails this test until it is
reviewed and added. (bench/ builds synthetic schemas from its own names; tests/ are tests.)"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from tests.conftest import REPO

SQL = re.compile(
    r"\b(SELECT|INSERT\s+INTO|UPDATE|DELETE\s+FROM|CREATE|DROP|ALTER|WHERE|VALUES|COPY|"
    r"ATTACH|PRAGMA|SET)\b"
)
# (file, what is put into the SQL) -> why that is safe.
REVIEWED: dict[tuple[str, frozenset[str]], str] = {
    ("storage/backfill.py", frozenset({"_KNOWN"})): "a module constant of fixed SQL text",
    ("storage/backfill.py", frozenset({"_OF_FRESH"})): "a module constant of fixed SQL text",
    ("storage/agent_days.py", frozenset({"_FOLD"})): "a module constant of fixed SQL text",
    ("storage/backfill.py", frozenset({"table"})): "a loop over a literal tuple of table names",
    ("storage/store.py", frozenset({"cls.TABLE"})): "the row classes' fixed table names",
    ("storage/export.py", frozenset({"table"})): "PARTITIONED / UNPARTITIONED, fixed tables",
    ("storage/export.py", frozenset({"WHOLE", "table"})): "the constant 'all' and a fixed table",
    ("storage/export.py", frozenset({"column", "table"})): "a fixed table, its fixed column",
    ("queries/dataset.py", frozenset({"_known(con, table)"})): "checked against the store's tables",
    ("storage/rollups.py", frozenset({"view"})): "a key of _SHAPES: a fixed rollup name",
    ("storage/rollups.py", frozenset({"query", "view"})): "a fixed rollup name, its _SHAPES query",
}


def parts(node: ast.expr) -> tuple[str, list[str]]:
    """(the literal text, the source of each expression put into it) of a built string."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value, []
    if isinstance(node, ast.JoinedStr):
        text = "".join(str(v.value) for v in node.values if isinstance(v, ast.Constant))
        exprs = [ast.unparse(v.value) for v in node.values if isinstance(v, ast.FormattedValue)]
        return text, exprs
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Mod):
        left, right = parts(node.left), parts(node.right)
        if isinstance(node.op, ast.Mod):
            return left[0], left[1] + [ast.unparse(node.right)]
        return left[0] + right[0], left[1] + right[1]
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr == "format"):  # fmt: skip
        text, exprs = parts(node.func.value)
        args = [*node.args, *(k.value for k in node.keywords)]
        return text, exprs + [ast.unparse(a) for a in args]
    return "", [ast.unparse(node)]


def built_sql() -> set[tuple[str, frozenset[str]]]:
    found = set()
    for path in sorted(REPO.rglob("*.py")):
        relative = path.relative_to(REPO)
        if relative.parts[0] in (".venv", "tests", "bench", "notebooks", "build"):
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.JoinedStr | ast.BinOp) or (
                isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr == "format"):  # fmt: skip
                text, exprs = parts(node)
                if exprs and SQL.search(text):
                    found.add((str(relative), frozenset(exprs)))
    return found


def test_sql_is_only_ever_built_from_reviewed_fixed_names() -> None:
    found = built_sql()
    unreviewed = sorted((f, sorted(e)) for f, e in found if (f, e) not in REVIEWED)
    assert not unreviewed, f"SQL built at run time from: {unreviewed}; bind values instead"


def test_the_scan_finds_what_it_must(tmp_path: Path) -> None:
    # The scanner itself: each way of building SQL from a value is caught.
    for source in ['f"SELECT * FROM t WHERE q = {queue}"', '"DELETE FROM t WHERE a = " + a',
                   '"SELECT %s" % v', '"SELECT {}".format(v)']:  # fmt: skip
        text, exprs = parts(ast.parse(source, mode="eval").body)
        assert exprs and SQL.search(text), source


def test_named_queries_take_values_only_as_bound_parameters() -> None:
    # queries/*.sql are run as they are, with $name parameters: nothing is ever pasted in.
    for path in (REPO / "queries").glob("*.sql"):
        text = path.read_text()
        assert not re.search(r"\{[a-z_][a-z0-9_]*\}|%\(|%s", text), path.name
