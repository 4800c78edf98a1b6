"""The package's own Pebble lexer: tokens, whitespace control, raw blocks, errors with their place."""

from __future__ import annotations

import pytest
from jinja2 import Environment
from jinja2.exceptions import TemplateSyntaxError

from kestra_airflow_sdk.flows.expressions import check_template, render_text
from kestra_airflow_sdk.flows.pebble.lexer import PebbleLexer
from kestra_airflow_sdk.flows.pebble.syntax import parse


def _tokens(source: str) -> list[tuple[int, str, object]]:
    return [(t.lineno, t.type, t.value) for t in PebbleLexer(Environment()).tokenize(source)]


def test_tokens_of_an_expression() -> None:
    assert _tokens("a\n{{ x.y ?? 'q' ~ 1..3 }}") == [
        (1, "data", "a\n"),
        (2, "variable_begin", "{{"),
        (2, "name", "x"),
        (2, "dot", "."),
        (2, "name", "y"),
        (2, "op:??", "??"),
        (2, "string", "q"),
        (2, "tilde", "~"),
        (2, "integer", 1),
        (2, "op:..", ".."),
        (2, "integer", 3),
        (2, "variable_end", "}}"),
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a  {{- 'b' -}}  c", "abc"),
        ("a \n{%- if true -%}\n b {%- endif %} c", "ab c"),
        ("a {#- note -#} b", "ab"),
        ("{% raw %}\n{{ x }} {% endraw -%}  a", "\n{{ x }} a"),
        ("{{ {'a': {'b': 1}} }}", '{"a":{"b":1}}'),  # closing braces of maps before the print's
        ("{{ 'it\\'s' ~ \"a \\\"b\\\"\" ~ '\\u00e9' }}", 'it\'sa "b"é'),
        ("{{ 010 + 1_000 + 2.5e1 }}", "1035.0"),
        ("line1\r\nline2 {{ 1 }}", "line1\nline2 1"),
    ],
)
def test_renders(text: str, expected: str) -> None:
    assert render_text(text, {}) == expected


@pytest.mark.parametrize(
    ("text", "message", "line"),
    [
        ("{{ a", "unexpected end of template: {{ is not closed by }}", 1),
        ("a\n{# note", "the comment {# ... has no closing #}", 2),
        ("{% raw %}x", "{% raw %} has no {% endraw %}", 1),
        ("x\n\n{{ a $ b }}", "unexpected character '$' at column 6", 3),
        ("{{ (a]] }}", "unexpected ']' at column 6", 1),
        ('{{ "#{a}" }}', "string interpolation", 1),
    ],
)
def test_errors_name_the_problem_and_line(text: str, message: str, line: int) -> None:
    with pytest.raises(TemplateSyntaxError) as err:
        parse(text)
    assert message in str(err.value.message) and err.value.lineno == line
    assert check_template(text)[0].startswith(f"syntax error: {message}")
