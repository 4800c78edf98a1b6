"""Read back what the progress table shows, from its HTML (stdlib parser, no regexes)."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser


@dataclass
class Row:
    dag_id: str
    run_id: str
    state: str
    finished: int = -1
    total: int = -1
    counts: dict[str, int] = field(default_factory=dict)
    badge: str = ""
    link: str | None = None
    #: the text beside the progress bar (``1/3``, ``starting…``)
    done: str = ""


class _TableParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.rows: list[Row] = []
        self.finished_flag: str | None = None
        self.title = ""
        self._count: str | None = None
        self._in_badge = False
        self._in_title = False
        self._bar_depth = 0  # inside the progress bar's span (and how many spans deep)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "span" and self._bar_depth:
            self._bar_depth += 1
        if a.get("class") == "ka-progress":
            self.finished_flag = a.get("data-finished")
            self._in_title = True
        elif tag == "tr" and "data-run-id" in a:
            self.rows.append(Row(str(a["data-dag-id"]), str(a["data-run-id"]), str(a["data-state"])))
        elif a.get("class") == "ka-bar":
            self.rows[-1].finished = int(str(a["data-finished"]))
            self.rows[-1].total = int(str(a["data-total"]))
            self._bar_depth = 1
        elif "data-count" in a:
            self._count = str(a["data-count"])
        elif a.get("class") == "ka-badge" and self.rows:
            self._in_badge = True
        elif tag == "a" and self.rows:
            self.rows[-1].link = a.get("href")
        elif tag == "table":
            self._in_title = False

    def handle_endtag(self, tag: str) -> None:
        if tag == "td":
            self._count = None
        if tag == "span":
            self._in_badge = False
            self._bar_depth = max(self._bar_depth - 1, 0)

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
        elif self._count is not None:
            self.rows[-1].counts[self._count] = int(data)
        elif self._in_badge:
            self.rows[-1].badge += data
        elif self._bar_depth:
            self.rows[-1].done += data.strip()


def read_table(html: str) -> tuple[str, str | None, list[Row]]:
    """(summary line, data-finished flag, rows) of a progress table."""
    parser = _TableParser()
    parser.feed(html)
    return parser.title.strip(), parser.finished_flag, parser.rows
