"""Static checks of a template: what can be known without rendering it."""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

from jinja2 import nodes
from jinja2.exceptions import TemplateSyntaxError

from .filters import FILTERS
from .functions import FUNCTIONS, FUNCTIONS_2_0, KESTRA_FUNCTIONS, RUNNER_FUNCTIONS
from .predicates import TESTS
from .syntax import function_calls, is_template, parse
from .versions import ADDED_IN_2_0, REMOVED_IN_2_0, KestraVersion, kestra_version

__all__ = ["TemplateProblem", "check_template", "syntax_message", "template_problems"]


def syntax_message(exc: TemplateSyntaxError, text: str) -> str:
    """A syntax error as the user wrote Pebble, not Jinja, with its line in a multi-line text."""
    message = (exc.message or "invalid syntax").replace("Jinja was looking for", "Expected")
    return message + (f" (line {exc.lineno})" if "\n" in text else "")


class TemplateProblem(Exception):
    """A template uses a filter, test or function that does not exist (in the chosen Kestra version)."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def _known(names: Iterable[str]) -> str:
    return ", ".join(sorted(names))


def template_problems(
    tree: nodes.Template,
    functions: Iterable[str] | None = None,
    *,
    local: bool = False,
    kestra: KestraVersion = "1.3",
) -> list[str]:
    """The unknown filters and tests of a parsed template, and with ``kestra="2.0"`` those Kestra 2.0
    removed; with ``functions`` (the names the runner supplies) also its unknown functions (the
    functions Kestra 2.0 added are known with ``kestra="2.0"`` only), and with ``local`` those Kestra
    has but the local runner cannot run. Functions 2.0 removed are reported whether or not
    ``functions`` is given."""
    problems: list[str] = []
    removed = REMOVED_IN_2_0 if kestra == "2.0" else {}
    removed_functions = {name for kind, name in removed if kind == "function"}
    known_functions = {*KESTRA_FUNCTIONS, *(ADDED_IN_2_0 if kestra == "2.0" else ())} - removed_functions
    local_functions = {*FUNCTIONS, *(FUNCTIONS_2_0 if kestra == "2.0" else ())}
    filters = [n for n in FILTERS if ("filter", n) not in removed]
    for node in tree.find_all(nodes.Filter):
        if node.name.startswith("op:"):  # the parser's own operators: no template can spell them
            continue
        if ("filter", node.name) in removed:
            problems.append(
                f"the {node.name} filter was removed in Kestra 2.0; {removed['filter', node.name]}"
            )
        elif node.name not in FILTERS:
            problems.append(f"unknown filter {node.name!r}; supported filters: {_known(filters)}")
    for test in tree.find_all(nodes.Test):
        if test.name not in TESTS:
            problems.append(f"unknown test {test.name!r}; supported tests: {_known(TESTS)}")
    given = set(functions or ())
    for name in function_calls(tree):
        if ("function", name) in removed and name not in given:
            problems.append(f"the function {name}() was removed in Kestra 2.0; {removed['function', name]}")
        elif functions is None:
            continue
        elif name not in known_functions and name not in given:
            problems.append(
                f"unknown function {name}(); Kestra's functions are: {_known({*known_functions, *given})}"
            )
        elif local and name not in local_functions and name not in given:
            problems.append(f"function {name}() is not supported by the local runner")
    return list(dict.fromkeys(problems))


def check_template(
    text: str,
    functions: Iterable[str] | None = None,
    *,
    local: bool = False,
    kestra: KestraVersion = "1.3",
) -> list[str]:
    """What keeps ``text`` from rendering, found without rendering it: syntax errors, unsupported
    tags, unknown filters, tests and functions. Empty when the template is fine.

    Args:
        text: the template (a property's value).
        functions: the execution-bound functions available (default: those the runner supplies,
            :data:`~kestra_airflow_sdk.flows.pebble.functions.RUNNER_FUNCTIONS`, less those the
            Kestra version removed).
        local: also report Kestra functions the local runner cannot run (``read()``, ``fileURI()`` ...).
        kestra: the Kestra version whose expressions to check, ``"1.3"`` (default) or ``"2.0"``
            (which also reports the ``json`` filter and function 2.0 removed).

    Raises:
        FlowValidationError: ``kestra`` is not one of :data:`~.versions.KESTRA_VERSIONS`.
    """
    version = kestra_version(kestra)
    if not is_template(text):
        return []
    if functions is None:  # the runner's functions that exist in that version
        removed = REMOVED_IN_2_0 if version == "2.0" else {}
        functions = RUNNER_FUNCTIONS - {name for kind, name in removed if kind == "function"}
    return list(_check(text, frozenset(functions), local, version))


@lru_cache(maxsize=4096)
def _check(text: str, functions: frozenset[str], local: bool, kestra: KestraVersion) -> tuple[str, ...]:
    try:
        tree = parse(text)
    except TemplateSyntaxError as exc:
        return (f"syntax error: {syntax_message(exc, text)}",)
    return tuple(template_problems(tree, functions, local=local, kestra=kestra))
