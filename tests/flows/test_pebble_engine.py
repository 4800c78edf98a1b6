"""The pebble package as an owned component: Jinja2's public API only, no import cycle, ``??``
evaluating its left side once, unpacked arguments refused, the Kestra 1.3 / 2.0 dialects."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

import jinja2
import pytest
from packaging.requirements import Requirement

from kestra_airflow_sdk.flows import ExpressionError, FlowValidationError
from kestra_airflow_sdk.flows.expressions import Renderer, check_template, render_text
from kestra_airflow_sdk.flows.secrets import SecretResolver

ROOT = Path(__file__).resolve().parents[2]
PEBBLE = ROOT / "kestra_airflow_sdk" / "flows" / "pebble"
MODULES = sorted(path.stem for path in PEBBLE.glob("*.py") if path.stem != "__init__")
#: Jinja2 names without a leading underscore that are internal all the same
_JINJA2_INTERNALS = {"root_render_func", "from_code", "rules"}


def _trees(folder: Path) -> Iterator[tuple[Path, ast.AST]]:
    for path in sorted(folder.rglob("*.py")):
        yield path, ast.parse(path.read_text(encoding="utf-8"))


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _jinja2_private_names() -> set[str]:
    """Every private name Jinja2 defines: classes, functions, methods, attributes it assigns."""
    names: set[str] = set()
    for _, tree in _trees(Path(jinja2.__file__).parent):
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.add(node.name)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                names.add(node.attr)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
    return {name for name in names if _private(name)}


def _defined_in_pebble() -> set[str]:
    names: set[str] = set()
    for _, tree in _trees(PEBBLE):
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.add(node.name)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                names.add(node.attr)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
    return names


def test_the_pebble_package_uses_no_jinja2_private_name() -> None:
    """No private Jinja2 name is imported, read, called or overridden, no name-mangled signature is
    copied, and none of Jinja2's unprefixed internals is touched."""
    jinja_private = _jinja2_private_names()
    assert {"_parse", "_tokenize", "_fail_with_undefined_error", "_undefined_name"} <= jinja_private
    ours = _defined_in_pebble()
    found: list[str] = []
    for path, tree in _trees(PEBBLE):
        for node in ast.walk(tree):
            where = f"{path.name}:{getattr(node, 'lineno', '?')}"
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("jinja2"):
                found += [f"{where} imports {a.name}" for a in node.names if _private(a.name)]
            elif isinstance(node, ast.Attribute) and _private(node.attr):
                if node.attr in jinja_private or node.attr not in ours:
                    found.append(f"{where} uses .{node.attr}")
            elif isinstance(node, ast.Attribute) and node.attr in _JINJA2_INTERNALS:
                found.append(f"{where} uses Jinja2's internal .{node.attr}")
            elif isinstance(node, ast.ClassDef):
                methods = [m for m in node.body if isinstance(m, (ast.FunctionDef, ast.AsyncFunctionDef))]
                found += [f"{where} overrides Jinja2's {m.name}" for m in methods if m.name in jinja_private]
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                mangled = [a.arg for a in (*node.args.posonlyargs, *node.args.args) if a.arg.startswith("__")]
                found += [f"{where} has the name-mangled parameter {name}" for name in mangled]
    assert found == [], "\n".join(found)


def test_jinja2_is_pinned_to_the_minor_version_the_package_is_written_for() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    (line,) = re.findall(r'^\s*"(jinja2[^"]*)"', pyproject, re.MULTILINE | re.IGNORECASE)
    requirement = Requirement(line)
    assert any(spec.operator == "<" for spec in requirement.specifier), requirement
    assert metadata.version("jinja2") in requirement.specifier


@pytest.mark.parametrize("module", MODULES)
def test_each_pebble_module_imports_on_its_own(module: str) -> None:
    """In a fresh interpreter, each module imports first (an import cycle would show as a failure
    for the module that starts it); the import-linter contract "pebble" checks the layering."""
    name = f"kestra_airflow_sdk.flows.pebble.{module}"
    done = subprocess.run(
        [sys.executable, "-c", f"import {name}"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr


def test_the_pebble_contract_lists_every_module() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    contract = pyproject.split('id = "pebble"', 1)[1].split("[[", 1)[0]
    layers = re.findall(r'^\s*"([^"]+)",', contract.split("layers = [", 1)[1], re.MULTILINE)
    assert 'containers = ["kestra_airflow_sdk.flows.pebble"]' in contract
    assert {name.strip() for layer in layers for name in layer.split("|")} == set(MODULES)


# --------------------------------------------------------------------------- evaluation


def _counting() -> tuple[dict[str, Any], list[str]]:
    calls: list[str] = []

    def value(result: Any = "v") -> Any:
        calls.append("value")
        return result

    return {"counted": value}, calls


@pytest.mark.parametrize(
    ("text", "expected", "count"),
    [
        ("{{ counted() ?? 'fallback' }}", "v", 1),
        ("{{ counted() ??? 'fallback' }}", "v", 1),
        ("{{ counted(null) ?? 'fallback' }}", "fallback", 1),
        ("{{ counted(null) ??? 'fallback' }}", "", 1),
        ("{{ 'left' ?? counted() }}", "left", 0),  # the right side runs only when needed
        ("{{ missing ?? counted() }}", "v", 1),
        ("{{ missing ?? counted(null) ?? counted('last') }}", "last", 2),
    ],
)
def test_coalescing_evaluates_each_side_at_most_once(text: str, expected: str, count: int) -> None:
    functions, calls = _counting()
    renderer = Renderer({}, SecretResolver({}, environ={}), "t", functions=functions)
    assert renderer.render_text(text) == expected
    assert len(calls) == count


@pytest.mark.parametrize(
    ("text", "expected", "count"),
    [
        ("{% for x in counted([1, 2]) %}{{ x }}{% endfor %}", "12", 1),
        ("{% for x in counted(null) %}{{ x }}{% else %}empty{% endfor %}", "", 1),  # null: nothing at all
        ("{% for x in counted([]) %}{{ x }}{% else %}empty{% endfor %}", "empty", 1),
        ("{% for x in [1, 2] %}{% for y in counted([x]) %}{{ y }}{% endfor %}{% endfor %}", "12", 2),
        ("{{ counted(true) ? 'yes' : counted('no') }}", "yes", 1),
    ],
)
def test_loops_and_conditions_evaluate_their_expression_once(text: str, expected: str, count: int) -> None:
    functions, calls = _counting()
    renderer = Renderer({}, SecretResolver({}, environ={}), "t", functions=functions)
    assert renderer.render_text(text) == expected
    assert len(calls) == count


def test_a_call_of_constants_runs_at_each_render() -> None:
    """The compiled template is cached; a function of constant arguments still runs every time."""
    functions, calls = _counting()
    renderer = Renderer({}, SecretResolver({}, environ={}), "t", functions=functions)
    for _ in range(3):
        assert renderer.render_text("{{ counted('x') }}") == "x"
    assert len(calls) == 3
    uuids = {renderer.render_text("{{ uuid() }}") for _ in range(3)}
    assert len(uuids) == 3


@pytest.mark.parametrize(
    "text",
    [
        "{{ now(*x) }}",
        "{{ max(1, **kw) }}",
        "{{ flow | default(*y) }}",
        "{{ [1, *rest] }}",
        "a\n{{ now(\n  *x) }}",
    ],
)
def test_unpacked_arguments_are_syntax_errors_naming_the_place(text: str) -> None:
    column = len(text[: text.index("*")].split("\n")[-1]) + 1
    with pytest.raises(ExpressionError) as err:
        Renderer({"x": [], "kw": {}}, SecretResolver({}, environ={}), "t").render_text(text, "message")
    message = str(err.value)
    assert "Cannot parse the expression" in message and text in message
    assert "property message" in message and f"(column {column})" in message and "not supported" in message
    (problem,) = check_template(text)
    assert problem.startswith("syntax error: unpacking with") and f"column {column}" in problem


# --------------------------------------------------------------------------- Kestra 1.3 / 2.0


def _renderer(kestra: Any = "1.3", **variables: Any) -> Renderer:
    return Renderer(variables, SecretResolver({}, environ={}), "t", kestra=kestra)


@pytest.mark.parametrize(
    ("text", "in_1_3", "removed", "replacement"),
    [
        ("{{ data | json }}", '{"a":1}', "json filter was removed in Kestra 2.0", "use toJson"),
        ("{{ json(text).a }}", "1", "function json() was removed in Kestra 2.0", "use fromJson()"),
        (
            "{% for x in json(text) %}{{ x.key }}{% endfor %}",
            "a",
            "function json() was removed",
            "use fromJson()",
        ),
    ],
)
def test_kestra_2_refuses_json_naming_its_replacement(
    text: str, in_1_3: str, removed: str, replacement: str
) -> None:
    assert _renderer("1.3", data={"a": 1}, text='{"a": 1}').render_text(text) == in_1_3
    with pytest.raises(ExpressionError) as err:
        _renderer("2.0", data={"a": 1}, text='{"a": 1}').render_text(text, "message")
    message = str(err.value)
    assert removed in message and replacement in message and text in message and "property message" in message
    assert check_template(text) == []
    (problem,) = check_template(text, kestra="2.0")
    assert removed in problem and replacement in problem


@pytest.mark.parametrize("kestra", ["1.3", "2.0"])
def test_to_json_and_from_json_exist_in_both_versions(kestra: str) -> None:
    renderer = _renderer(kestra, data={"a": [1, None]}, text='{"b": true}')
    assert renderer.render_text("{{ data | toJson }} {{ fromJson(text).b }}") == '{"a":[1,null]} true'
    assert renderer.render_text("{{ text is json }}") == "true"


@pytest.mark.parametrize("kestra", ["1.3", "2.0"])
def test_rendering_is_not_recursive_unless_render_asks(kestra: str) -> None:
    renderer = _renderer(kestra, inner="{{ deeper }}", deeper="{{ name }}", name="kestra")
    assert renderer.render_text("{{ inner }}") == "{{ deeper }}"
    assert renderer.render_text("{{ renderOnce(inner) }}") == "{{ name }}"
    assert renderer.render_text("{{ render(inner) }}") == "kestra"


def test_functions_kestra_2_added_are_known_in_2_0_only() -> None:
    text = "{{ isPublicHoliday(trigger.date, 'FR') }}"
    (unknown,) = check_template(text)
    assert unknown.startswith("unknown function isPublicHoliday()")
    assert "isPublicHoliday" not in unknown.split(":", 1)[1]  # not among the functions 1.3 knows
    assert check_template(text, kestra="2.0") == []
    assert check_template(text, local=True, kestra="2.0") == [
        "function isPublicHoliday() is not supported by the local runner"
    ]
    with pytest.raises(
        ExpressionError, match=r"isPublicHoliday\(\) of Kestra 2\.0 is not supported by the local runner"
    ):
        _renderer("2.0", trigger={"date": "2026-01-03"}).render_text(text)
    with pytest.raises(ExpressionError, match=r"unknown function isWeekend\(\)"):
        _renderer("1.3", trigger={"date": "2026-01-03"}).render_text("{{ isWeekend(trigger.date) }}")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{{ dayOfWeek('2025-01-06T00:30:00+02:00') }}", "MONDAY"),  # the day as written, not in UTC
        ("{{ dayOfWeek(d) }}", "SATURDAY"),
        ("{{ dayOfWeek('2025-01-05T23:30:00Z[Europe/Paris]') }}", "SUNDAY"),
        ("{{ dayOfMonth('2026-02-28') }}/{{ monthOfYear('2026-02-28') }}", "28/2"),
        ("{{ hourOfDay('2025-01-06T14:30:00+02:00') }} {{ hourOfDay('2025-01-06T09:05') }}", "14 9"),
        ("{{ hourOfDay(moment) }}", "22"),
        ("{{ isWeekend('2026-01-03') }} {{ isWeekend('2026-01-05T10:00:00Z') }}", "true false"),
        ("{{ isDayWeekInMonth('2026-01-05', 'monday', 'FIRST') }}", "true"),
        ("{{ isDayWeekInMonth('2026-01-12', 'MONDAY', 'second') }}", "true"),
        ("{{ isDayWeekInMonth('2026-01-26', 'MONDAY', 'LAST') }}", "true"),
        ("{{ isDayWeekInMonth('2026-01-19', 'MONDAY', 'LAST') }}", "false"),
        ("{{ isDayWeekInMonth('2026-02-27', 'FRIDAY', 'LAST') }}", "true"),
        ("{{ isDayWeekInMonth(date='2026-01-22', dayOfWeek='THURSDAY', position='FOURTH') }}", "true"),
    ],
)
def test_kestra_2_calendar_functions(text: str, expected: str) -> None:
    moment = datetime(2026, 1, 3, 22, 15, tzinfo=timezone(timedelta(hours=-5)))
    assert _renderer("2.0", d="2026-01-03", moment=moment).render_text(text) == expected


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("{{ dayOfWeek('2025-01-06T10:00:00') }}", "could not parse 'date'"),  # no offset: Kestra refuses too
        ("{{ hourOfDay('2025-01-06') }}", "could not parse 'date'"),
        ("{{ isWeekend('monday') }}", "could not parse 'date'"),
        ("{{ isDayWeekInMonth('2026-01-05', 'LUNDI', 'FIRST') }}", "dayOfWeek 'LUNDI' is not one of MONDAY"),
        ("{{ isDayWeekInMonth('2026-01-05', 'MONDAY', 'FIFTH') }}", "position 'FIFTH' is not one of FIRST"),
        ("{{ dayOfWeek() }}", "expects a 'date' argument"),
    ],
)
def test_kestra_2_calendar_functions_name_what_is_wrong(text: str, problem: str) -> None:
    with pytest.raises(ExpressionError, match=re.escape(problem)):
        _renderer("2.0").render_text(text)


def test_current_each_output_went_with_foreach_in_2_0() -> None:
    text = "{{ currentEachOutput(outputs.t) }}"
    assert check_template(text) == []
    (problem,) = check_template(text, kestra="2.0")
    assert (
        problem == "the function currentEachOutput() was removed in Kestra 2.0; ForEach is replaced by Loop"
    )


def test_render_text_takes_the_kestra_version() -> None:
    assert render_text("{{ x | json }}", {"x": [1]}) == "[1]"
    with pytest.raises(ExpressionError, match="use toJson"):
        render_text("{{ x | json }}", {"x": [1]}, kestra="2.0")


def test_an_unknown_kestra_version_is_refused() -> None:
    with pytest.raises(FlowValidationError, match=r"kestra must be one of 1\.3, 2\.0, got '3\.0'"):
        _renderer("3.0")
    with pytest.raises(FlowValidationError, match="kestra must be one of"):
        check_template("{{ x }}", kestra="1.x")  # type: ignore[arg-type]
