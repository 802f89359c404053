"""Fuzzing the queue_log importer (hypothesis): the recorded queue_logs mutated (lines dropped,
repeated, reordered, fields replaced by any text) and files of any bytes, through
`fold_calls` and through `backfill_file` into a real store. No exception, every line counted,
every bad one reported by its number, a line of any length bounded, nothing imported twice."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from collectors.rows import OUTCOMES
from storage.backfill import _chunks, backfill_file
from storage.queue_log import (
    KEPT_BAD_LINES,
    MAX_LINE_CHARS,
    OVERSIZED_LINE,
    QueueLogFolder,
    fold_calls,
)
from storage.store import Store
from tests.conftest import CAPTURES

LINES = [
    line
    for scenario in ("a_all_answered", "b_mixed")
    for line in (CAPTURES / scenario / "queue_log").read_text().splitlines()
]
VERBS = sorted({line.split("|")[4] for line in LINES})
# A field never holds a line break: one would make two lines of one (they are fuzzed apart).
_field = st.text(st.characters(codec="utf-8", exclude_characters="\r\n"), max_size=20)
_text = _field | st.sampled_from(["", "-1", "1e309", "nan", "inf", "NONE", "0"])
_edit = st.tuples(st.integers(0, 12), _text | st.sampled_from(VERBS))


def edit(line: str, field: int, value: str) -> str:
    parts = line.split("|")
    if field < len(parts):
        parts[field] = value
    else:
        parts.append(value)
    return "|".join(parts)


mutated = st.lists(
    st.tuples(st.integers(0, len(LINES) - 1), st.lists(_edit, max_size=2)), max_size=150
)


@given(mutated)
def test_mutated_queue_logs_fold_without_error_every_line_counted(
    picks: list[tuple[int, list[tuple[int, str]]]],
) -> None:
    lines = []
    for index, edits in picks:
        line = LINES[index]
        for field, value in edits:
            line = edit(line, field, value)
        lines.append(line)
    result = fold_calls(lines, pbx="fuzz")
    assert result.lines == len(lines)
    numbers = [n for n, _ in result.bad_lines]
    assert numbers == sorted(set(numbers)) and all(1 <= n <= len(lines) for n in numbers)
    assert result.bad_line_count == len(result.bad_lines)  # under KEPT_BAD_LINES here
    enters = sum(line.split("|")[4:5] == ["ENTERQUEUE"] for line in lines)
    assert len(result.calls) <= enters
    for call in result.calls:
        assert call.outcome in OUTCOMES
        assert all(v is None or v >= 0 for v in (call.wait_s, call.talk_s))


@given(st.binary(max_size=2000))
def test_any_bytes_are_read_and_every_line_counted(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "queue_log"
        path.write_bytes(data)
        folder = QueueLogFolder("fuzz")
        for chunk in _chunks(path):
            folder.feed(chunk)
    text = data.decode("utf-8", "replace")
    assert folder.account.lines == text.count("\n") + (text != "" and not text.endswith("\n"))


@given(
    st.lists(st.integers(0, 60), max_size=40),
    st.integers(1, 50),
    st.sampled_from(["\n", "\r\n"]),
)
def test_a_line_of_any_length_is_bounded_wherever_the_reads_cut(
    lengths: list[int], block: int, end: str
) -> None:
    max_line = 20
    lines = [(f"{i}|" + "x" * n)[: max(n, 1)] for i, n in enumerate(lengths, 1)]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "queue_log"
        path.write_text("".join(line + end for line in lines), newline="")
        read = [line for chunk in _chunks(path, block, max_line) for line in chunk]
    expected = [OVERSIZED_LINE if len(line + end) - 1 > max_line else line + end[:-1]
                for line in lines]  # fmt: skip
    assert read == expected


def test_an_oversized_line_is_reported_by_its_number(tmp_path: Path) -> None:
    path = tmp_path / "queue_log"
    huge = "1700000000|1.1|support|NONE|ENTERQUEUE||" + "9" * (MAX_LINE_CHARS + 10)
    path.write_text("\n".join([LINES[0], huge, LINES[1], "x" * (3 * MAX_LINE_CHARS)]))
    with Store(tmp_path / "cb.duckdb") as store:
        report = backfill_file(store, path, "fuzz")
    assert report.lines == 4
    assert report.bad_lines == [
        (2, f"longer than {MAX_LINE_CHARS} characters: not read"),
        (4, f"longer than {MAX_LINE_CHARS} characters: not read"),
    ]


def test_bad_line_reasons_are_bounded_and_every_one_counted() -> None:
    result = fold_calls(["garbage"] * (KEPT_BAD_LINES + 500), pbx="fuzz")
    assert (len(result.bad_lines), result.bad_line_count) == (KEPT_BAD_LINES, KEPT_BAD_LINES + 500)


@settings(max_examples=10)  # a real store per example: few, and more in the deep profile's
@given(mutated)
def test_a_mutated_queue_log_imports_once(picks: list[tuple[int, list[tuple[int, str]]]]) -> None:
    lines = [LINES[i] if not edits else edit(LINES[i], *edits[0]) for i, edits in picks]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "queue_log"
        path.write_text("".join(line + "\n" for line in lines))
        with Store(Path(tmp) / "cb.duckdb") as store:
            first = backfill_file(store, path, "fuzz")
            again = backfill_file(store, path, "fuzz")
            (stored, distinct) = store.cursor().execute(
                "SELECT count(*), count(DISTINCT (pbx, queue, call_id, entered_at)) "
                "FROM queue_calls"
            ).fetchone() or (0, 0)
    assert first.lines == len(lines) and again.calls_added == 0
    assert stored == distinct == first.calls_added
