"""Reads the numbers the realtime page shows back out of its HTML (`data-k`, `data-q`)."""

from __future__ import annotations

from collections import defaultdict
from html.parser import HTMLParser


class _Cells(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.cells: list[tuple[str, str, str]] = []  # (data-k, data-q, text)
        self._open: list[tuple[str, str, list[str]] | None] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        k = a.get("data-k")
        self._open.append((k, a.get("data-q") or "", []) if k else None)

    def handle_endtag(self, tag: str) -> None:
        top = self._open.pop() if self._open else None
        if top is not None:
            self.cells.append((top[0], top[1], "".join(top[2]).strip()))

    def handle_data(self, data: str) -> None:
        for entry in self._open:
            if entry is not None:
                entry[2].append(data)


def cells(html: str) -> list[tuple[str, str, str]]:
    """Every (data-k, data-q, text) in document order."""
    parser = _Cells()
    parser.feed(html)
    return parser.cells


def tiles(html: str) -> dict[str, dict[str, str]]:
    """{queue: {key: text}} of the queue tiles."""
    out: dict[str, dict[str, str]] = defaultdict(dict)
    for k, q, text in cells(html):
        if q:
            out[q][k] = text
    return dict(out)


def column(html: str, key: str) -> list[str]:
    """The texts of one table column (or any element) with data-k = key, in order."""
    return [text for k, q, text in cells(html) if k == key and not q]
