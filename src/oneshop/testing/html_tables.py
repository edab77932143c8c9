"""Read a server-rendered page's tables back as a seller sees them: the rows of a table
by its id, each as its cells' text (the page's own markup, or Chromium's --dump-dom of it)."""

from __future__ import annotations

from html.parser import HTMLParser


class Tables(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: dict[str, list[list[str]]] = {}
        self.links: list[str] = []
        self.scripts = 0
        self._stack: list[str | None] = []  # the id of each open table (None: nested)
        self._row: list[str] | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "script":
            self.scripts += 1
        elif tag == "a" and found.get("href"):
            self.links.append(found["href"] or "")
        elif tag == "table":
            self._stack.append(found.get("id") if not self._stack else None)
            if self._stack[-1]:
                self.tables[str(self._stack[-1])] = []
        elif tag == "tr" and len(self._stack) == 1 and self._stack[0]:
            self._row = []
        elif tag == "td" and self._row is not None and len(self._stack) == 1:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "table" and self._stack:
            self._stack.pop()
        elif tag == "td" and self._cell is not None and len(self._stack) == 1:
            assert self._row is not None
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._row is not None and len(self._stack) == 1:
            if self._row:
                self.tables[str(self._stack[0])].append(self._row)
            self._row = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def read(page: str) -> Tables:
    parser = Tables()
    parser.feed(page)
    parser.close()
    return parser
