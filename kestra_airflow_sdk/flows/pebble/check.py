"""Static checks of a template: what can be known without rendering it."""

from __future__ import annotations

from collections.abc import Iterable

from jinja2 import nodes
from jinja2.exceptions import TemplateSyntaxError

from .syntax import CALL

__all__ = ["TemplateProblem", "check_template", "template_problems"]


class TemplateProblem(Exception):
    """A template uses a filter or test that does not exist."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def template_problems(tree: nodes.Template, functions: Iterable[str] | None = None) -> list[str]:
    """The unknown filters and tests of a parsed template, and its unknown functions when
    ``functions`` (the names the runner supplies) is given."""
    from .environment import environment
    from .functions import FUNCTIONS, UNSUPPORTED_FUNCTIONS

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
        available = {*FUNCTIONS, *functions}
        for call in tree.find_all(nodes.Call):
            if not (isinstance(call.node, nodes.Name) and call.node.name == CALL and call.args):
                continue
            name = call.args[0].as_const()
            if name in UNSUPPORTED_FUNCTIONS:
                problems.append(f"function {name}() needs Kestra's storage and is not supported locally")
            elif name not in available:
                problems.append(f"unknown function {name}(); supported: {', '.join(sorted(available))}")
    return list(dict.fromkeys(problems))


def check_template(text: str, functions: Iterable[str] | None = None) -> list[str]:
    """What keeps ``text`` from rendering, found without rendering it: syntax errors, unknown or
    unsupported filters, tests, tags and functions. Empty when the template is fine.

    Args:
        text: the template (a property's value).
        functions: the names of the execution-bound functions available (default: those the
            runner supplies, see :data:`~kestra_airflow_sdk.flows.pebble.functions.RUNNER_FUNCTIONS`).
    """
    from .environment import parse
    from .functions import RUNNER_FUNCTIONS

    if "{" not in text:
        return []
    try:
        tree = parse(text)
    except TemplateSyntaxError as exc:
        line = f" (line {exc.lineno})" if "\n" in text else ""
        return [f"syntax error: {exc.message}{line}"]
    return template_problems(tree, RUNNER_FUNCTIONS if functions is None else functions)
