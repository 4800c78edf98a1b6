"""Kestra's functions, called by bare name (``now()``, ``fromJson(x)``, ``secret('NAME')``).

Every call goes through :func:`dispatch`: first the functions the runner gave the renderer for
this execution (``errorLogs()``, ``tasksWithState(state)`` ...: see
:data:`RUNNER_FUNCTIONS`), then the built-in ones below. An unknown name is an error naming it;
functions Kestra has but the local runner cannot provide (``encrypt``, ``decrypt`` ...) are
refused by name too.
"""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Callable
from typing import Any

import yaml

from ..limits import safe_load
from . import dates
from .calendar_functions import CALENDAR_FUNCTIONS
from .state import PebbleUndefined, current_state, reveal, reveal_deep
from .values import ExpressionProblem, arguments_problem, bounded, inclusive_range, to_number
from .versions import ADDED_IN_2_0

__all__ = [
    "FUNCTIONS",
    "FUNCTIONS_2_0",
    "KESTRA_FUNCTIONS",
    "RUNNER_FUNCTIONS",
    "UNSUPPORTED_FUNCTIONS",
    "dispatch",
]

#: functions bound to an execution: the runner passes them to ``Renderer(functions=...)``
RUNNER_FUNCTIONS = frozenset(
    {"errorLogs", "tasksWithState", "currentEachOutput", "loopOutputs", "kv"}
    | {"read", "fileURI", "fileSize", "fileExists", "isFileEmpty"}  # the execution's files
)
#: Kestra functions that need Kestra's storage, KV store or key: refused by name
UNSUPPORTED_FUNCTIONS = frozenset({"encrypt", "decrypt", "fromIon", "id"})


_MISSING: Any = object()


def _from_json(json_: Any = _MISSING) -> Any:
    if json_ is _MISSING:
        raise ExpressionProblem("fromJson(json) takes the JSON text to parse")
    if json_ is None:
        return None
    if not isinstance(json_, str):
        raise ExpressionProblem("fromJson takes a JSON string")
    try:
        return json.loads(json_)
    except ValueError as exc:
        raise ExpressionProblem(f"fromJson: invalid JSON: {exc}") from None


def _from_yaml(yaml_: Any = None) -> Any:
    if not isinstance(yaml_, str):
        raise ExpressionProblem("yaml takes a YAML string")
    try:
        return safe_load(yaml_)
    except yaml.YAMLError as exc:
        raise ExpressionProblem(f"yaml: invalid YAML: {exc}") from None


def _secret(key: Any = None) -> str:
    if not isinstance(key, str) or not key:
        raise ExpressionProblem("secret() takes the secret's name as a quoted string")
    state = current_state()
    return str(reveal(state.secret(key)))


def _render(toRender: Any = None, recursive: bool = True) -> Any:
    if not isinstance(recursive, bool):
        raise ExpressionProblem("render(): recursive must be true or false")
    return current_state().render(toRender, recursive)


def _random_int(lower: Any = None, upper: Any = None) -> int:
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in (lower, upper)):
        raise ExpressionProblem("randomInt(lower, upper) takes two whole numbers")
    if upper < lower:
        raise ExpressionProblem("randomInt: upper is less than lower")
    return lower if upper == lower else random.randrange(lower, upper)


def _extreme(pick: Callable[[Any, Any], bool]) -> Callable[..., Any]:
    def apply(*numbers: Any) -> Any:
        if not numbers:
            raise ExpressionProblem("max/min take at least one value")
        best = numbers[0]
        for number in numbers[1:]:
            if pick(to_number(number), to_number(best)):
                best = number
        return best

    return apply


def _print_context() -> Any:
    return dict(current_state().variables)


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "now": dates.now,
    "json": _from_json,
    "fromJson": _from_json,
    "yaml": _from_yaml,
    "secret": _secret,
    "render": _render,
    "renderOnce": lambda toRender=None: _render(toRender, recursive=False),
    "range": lambda start, end, step=1: inclusive_range(start, end, step),
    "max": _extreme(lambda a, b: a > b),
    "min": _extreme(lambda a, b: a < b),
    "randomInt": _random_int,
    "uuid": lambda: str(uuid.uuid4()),
    "printContext": _print_context,
    "fetchContext": _print_context,
}
#: the functions Kestra 2.0 added that the local runner has (with ``kestra="2.0"`` only)
FUNCTIONS_2_0: dict[str, Callable[..., Any]] = dict(CALENDAR_FUNCTIONS)
#: every function Kestra knows (a name outside it is an error in Kestra too)
KESTRA_FUNCTIONS = frozenset({*FUNCTIONS, *RUNNER_FUNCTIONS, *UNSUPPORTED_FUNCTIONS})
_KEYWORDS = {"json": "json_", "yaml": "yaml_"}  # Kestra argument names that clash with Python's


def dispatch(name: str, /, *args: Any, **kwargs: Any) -> Any:
    """Call the function ``name`` (the template's ``name(args)``)."""
    for value in (*args, *kwargs.values()):
        if isinstance(value, PebbleUndefined):
            return value
    state = current_state()
    function = state.functions.get(name) or FUNCTIONS.get(name)
    if function is None and state.kestra == "2.0":
        function = FUNCTIONS_2_0.get(name)
    if function is None:
        if name in UNSUPPORTED_FUNCTIONS:
            raise ExpressionProblem(
                f"the function {name}() needs Kestra's storage and is not supported locally"
            )
        if name in RUNNER_FUNCTIONS:
            raise ExpressionProblem(f"the function {name}() is not available in this part of the flow")
        if name in ADDED_IN_2_0 and state.kestra == "2.0":
            raise ExpressionProblem(
                f"the function {name}() of Kestra 2.0 is not supported by the local runner"
            )
        raise ExpressionProblem(f"unknown function {name}(); supported: {', '.join(sorted(FUNCTIONS))}")
    args = tuple(reveal_deep(a) for a in args)
    kwargs = {_KEYWORDS.get(k, k): reveal_deep(v) for k, v in kwargs.items()}
    try:
        result = function(*args, **kwargs)
    except TypeError as exc:
        problem = arguments_problem(f"{name}()", exc)
        if problem is None:
            raise
        raise problem from None
    return bounded(result, f"{name}()")
