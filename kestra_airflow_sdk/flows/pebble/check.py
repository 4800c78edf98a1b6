"""Static checks of a template: what can be known without rendering it."""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

from jinja2 import nodes
from jinja2.exceptions import TemplateSyntaxError

from .syntax import CALL, is_template

__all__ = ["TemplateProblem", "check_template", "syntax_message", "template_problems"]


def syntax_message(exc: TemplateSyntaxError, text: str) -> str:
    """A syntax error as the user wrote Pebble, not Jinja, with its line in a multi-line text."""
    message = (exc.message or "invalid syntax").replace("Jinja was looking for", "Expected")
    return message + (f" (line {exc.lineno})" if "\n" in text else "")


class TemplateProblem(Exception):
    """A template uses a filter or test that does not exist."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def template_problems(
    tree: nodes.Template, functions: Iterable[str] | None = None, *, local: bool = False
) -> list[str]:
    """The unknown filters and tests of a parsed template; with ``functions`` (the names the runner
    supplies) also its unknown functions, and with ``local`` those Kestra has but the local runner
    cannot run."""
    from .environment import environment
    from .functions import FUNCTIONS, KESTRA_FUNCTIONS

    problems: list[str] = []
    for node in tree.find_all(nodes.Filter):
        if node.name not in environment.filters:
            known = ", ".join(sorted(n for n in environment.filters if not n.startswith("op:")))
            problems.append(f"unknown filter {node.name!r}; supported filters: {known}")
    for test in tree.find_all(nodes.Test):
        if test.name not in environment.tests:
            known = ", ".join(sorted(n for n in environment.tests if not n.startswith("op:")))
            problems.append(f"unknown test {test.name!r}; supported tests: {known}")
    if functions is not None:
        given = set(functions)
        for call in tree.find_all(nodes.Call):
            if not (
                isinstance(call.node, nodes.EnvironmentAttribute) and call.node.name == CALL and call.args
            ):
                continue
            name = call.args[0].as_const()
            if name not in KESTRA_FUNCTIONS and name not in given:
                known = ", ".join(sorted({*KESTRA_FUNCTIONS, *given}))
                problems.append(f"unknown function {name}(); Kestra's functions are: {known}")
            elif local and name not in FUNCTIONS and name not in given:
                problems.append(f"function {name}() is not supported by the local runner")
    return list(dict.fromkeys(problems))


def check_template(text: str, functions: Iterable[str] | None = None, *, local: bool = False) -> list[str]:
    """What keeps ``text`` from rendering, found without rendering it: syntax errors, unsupported
    tags, unknown filters, tests and functions. Empty when the template is fine.

    Args:
        text: the template (a property's value).
        functions: the execution-bound functions available (default: those the runner supplies,
            :data:`~kestra_airflow_sdk.flows.pebble.functions.RUNNER_FUNCTIONS`).
        local: also report Kestra functions the local runner cannot run (``kv()``, ``read()`` ...).
    """
    from .functions import RUNNER_FUNCTIONS

    if not is_template(text):
        return []
    return list(_check(text, frozenset(RUNNER_FUNCTIONS if functions is None else functions), local))


@lru_cache(maxsize=4096)
def _check(text: str, functions: frozenset[str], local: bool) -> tuple[str, ...]:
    from .environment import parse

    try:
        tree = parse(text)
    except TemplateSyntaxError as exc:
        return (f"syntax error: {syntax_message(exc, text)}",)
    return tuple(template_problems(tree, functions, local=local))
