"""Pebble's lexer: a template's text as the tokens Jinja2's parser reads (:class:`jinja2.lexer.Token`).

The package owns its lexer (Jinja2's has no public way to learn new operators): it splits text from
``{{ }}`` prints, ``{% %}`` tags and ``{# #}`` comments, applies whitespace control (``{{-``, ``-}}``),
passes ``{% raw %}`` blocks through as text and reads expressions: names, strings, numbers and
operators, Pebble's ``??``, ``???``, ``?`` and ``..`` among them (as ``op:??`` ... tokens). Errors are
Jinja2's :class:`~jinja2.exceptions.TemplateSyntaxError` with the line, and the column where it helps.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from jinja2.exceptions import TemplateSyntaxError
from jinja2.lexer import Lexer, Token, TokenStream, operators

__all__ = ["PEBBLE_OPERATORS", "PebbleLexer"]

#: Pebble's operators Jinja2 does not have, as the token types the parser sees
PEBBLE_OPERATORS = {"???": "op:???", "??": "op:??", "?": "op:?", "..": "op:.."}

_OPENERS = {"{{": ("variable_begin", "}}", "variable_end"), "{%": ("block_begin", "%}", "block_end")}
_START = re.compile(r"\{\{|\{%|\{#")
_RAW_BEGIN = re.compile(r"\{%(-?)\s*raw\s*(-?)%\}")
_RAW_END = re.compile(r"\{%(-?)\s*endraw\s*(-?)%\}")
_SPACE = re.compile(r"\s+")
_NAME = re.compile(r"[^\W\d]\w*")
_STRING = re.compile(r"'([^'\\]*(?:\\.[^'\\]*)*)'|\"([^\"\\]*(?:\\.[^\"\\]*)*)\"", re.DOTALL)
_FLOAT = re.compile(r"(?<!\.)\d+(?:_\d+)*(?:\.\d+(?:_\d+)*(?:[eE][+-]?\d+)?|[eE][+-]?\d+)")
_INTEGER = re.compile(r"\d+(?:_\d+)*")
_OPERATOR = re.compile(
    "|".join(re.escape(op) for op in sorted({*operators, *PEBBLE_OPERATORS}, key=len, reverse=True))
)
_BRACKETS = {"(": ")", "[": "]", "{": "}"}


class PebbleLexer(Lexer):
    """Tokenizes Pebble templates (see the module's description); Jinja2's parser reads its tokens."""

    def tokenize(
        self, source: str, name: str | None = None, filename: str | None = None, state: str | None = None
    ) -> TokenStream:
        return TokenStream(_Scan(source, name, filename).tokens(), name, filename)


class _Scan:
    """One pass over one template's text."""

    def __init__(self, source: str, name: str | None, filename: str | None) -> None:
        self.source = source
        self.name = name
        self.filename = filename
        self.pos = 0
        self.strip_next = False  # the previous tag ended with '-': strip the whitespace that follows
        self.newlines = 0  # newlines before ``counted``: line numbers are counted once, forwards
        self.counted = 0

    def fail(self, message: str, at: int) -> TemplateSyntaxError:
        return TemplateSyntaxError(message, self.line(at), self.name, self.filename)

    def line(self, at: int) -> int:
        if at < self.counted:
            return self.source.count("\n", 0, at) + 1
        self.newlines += self.source.count("\n", self.counted, at)
        self.counted = at
        return self.newlines + 1

    def column(self, at: int) -> int:
        return at - (self.source.rfind("\n", 0, at) + 1) + 1

    def tokens(self) -> Iterator[Token]:
        source = self.source
        while self.pos < len(source):
            start = _START.search(source, self.pos)
            end = len(source) if start is None else start.start()
            raw = _RAW_BEGIN.match(source, end)
            trims = (raw is not None and raw.group(1) == "-") or source.startswith("-", end + 2)
            yield from self.data(source[self.pos : end], trims)
            if start is None:
                return
            self.pos = end
            if raw is not None:
                yield from self.raw(raw)
            elif start.group() == "{#":
                self.comment()
            else:
                yield from self.tag(start.group())

    def data(self, text: str, strip_end: bool) -> Iterator[Token]:
        at = self.pos
        if self.strip_next:
            stripped = text.lstrip()
            at += len(text) - len(stripped)
            text = stripped
            self.strip_next = False
        if strip_end:
            text = text.rstrip()
        if text:
            yield Token(self.line(at), "data", text.replace("\r\n", "\n").replace("\r", "\n"))

    def raw(self, begin: re.Match[str]) -> Iterator[Token]:
        end = _RAW_END.search(self.source, begin.end())
        if end is None:
            raise self.fail("{% raw %} has no {% endraw %}", begin.start())
        self.pos = begin.end()
        self.strip_next = begin.group(2) == "-"
        yield from self.data(self.source[begin.end() : end.start()], end.group(1) == "-")
        self.pos = end.end()
        self.strip_next = end.group(2) == "-"

    def comment(self) -> None:
        close = self.source.find("#}", self.pos + 2)
        if close == -1:
            raise self.fail("the comment {# ... has no closing #}", self.pos)
        self.strip_next = self.source[close - 1] == "-" and close - 1 > self.pos + 2
        self.pos = close + 2

    def tag(self, opener: str) -> Iterator[Token]:
        begin, closer, end = _OPENERS[opener]
        source = self.source
        yield Token(self.line(self.pos), begin, opener)
        self.pos += 2 + (source.startswith("-", self.pos + 2))
        stack: list[str] = []
        previous = begin
        while True:
            space = _SPACE.match(source, self.pos)
            if space is not None:
                self.pos = space.end()
            if self.pos >= len(source):
                raise self.fail(f"unexpected end of template: {opener} is not closed by {closer}", self.pos)
            if not stack and source.startswith(("-" + closer, closer), self.pos):
                self.strip_next = source[self.pos] == "-"
                self.pos += len(closer) + self.strip_next
                yield Token(self.line(self.pos), end, closer)
                return
            token = self.expression_token(stack, previous)
            previous = token.type
            yield token

    def expression_token(self, stack: list[str], previous: str) -> Token:
        source, at = self.source, self.pos
        lineno = self.line(at)
        match = _NAME.match(source, at)
        if match is not None:
            self.pos = match.end()
            if not match.group().isidentifier():
                raise self.fail(f"invalid name {match.group()!r} at column {self.column(at)}", at)
            return Token(lineno, "name", match.group())
        match = _STRING.match(source, at)
        if match is not None:
            self.pos = match.end()
            return Token(lineno, "string", self.string(match.group(), at))
        match = _FLOAT.match(source, at)
        if match is not None:
            self.pos = match.end()
            return _token(lineno, "float", float(match.group().replace("_", "")))
        match = _INTEGER.match(source, at)
        if match is not None:
            self.pos = match.end()
            return _token(lineno, "integer", int(match.group().replace("_", "")))
        match = _OPERATOR.match(source, at)
        if match is None:
            raise self.fail(f"unexpected character {source[at]!r} at column {self.column(at)}", at)
        self.pos = match.end()
        operator = match.group()
        if operator in ("*", "**") and previous in ("lparen", "comma", "lbracket"):
            raise self.fail(
                f"unpacking with {operator!r} (column {self.column(at)}) is not supported: "
                "Pebble passes arguments and items one by one",
                at,
            )
        if operator in _BRACKETS:
            stack.append(_BRACKETS[operator])
        elif operator in _BRACKETS.values() and (not stack or stack.pop() != operator):
            raise self.fail(f"unexpected {operator!r} at column {self.column(at)}", at)
        return Token(lineno, PEBBLE_OPERATORS.get(operator) or operators[operator], operator)

    def string(self, literal: str, at: int) -> str:
        if literal.startswith('"') and "#{" in literal:
            raise self.fail(
                f"string interpolation {literal} is not supported; concatenate with ~ instead", at
            )
        text = literal[1:-1].replace("\r\n", "\n").replace("\r", "\n")
        try:
            return text.encode("ascii", "backslashreplace").decode("unicode-escape")
        except ValueError as exc:
            raise self.fail(f"invalid escape in the string {literal}: {exc}", at) from None


def _token(lineno: int, kind: str, value: float) -> Token:
    """A number token: its value is the number (as Jinja2's own lexer stores it; ``Token`` is typed
    for text only)."""
    return Token(lineno, kind, value)  # type: ignore[arg-type]
