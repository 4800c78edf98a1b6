"""The sandboxed Jinja2 environment that evaluates Kestra's Pebble templates (Jinja2's public API only).

Only plain data reaches a template: a variable path is looked up by :func:`~.state.lookup` in
mappings and lists (never as a Python attribute), a function is called through one dispatcher that
knows only Kestra's functions and those the runner supplies, and there is no loader, so
``include``/``import`` cannot reach files. The environment is Jinja's ``ImmutableSandboxedEnvironment``
as a second wall. Templates are parsed by :class:`~.syntax.PebbleParser` on the package's own lexer
and compiled with ``Environment.from_string`` (which takes a parsed tree); no function runs while a
template compiles.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from jinja2 import pass_context
from jinja2.environment import Template
from jinja2.exceptions import SecurityError
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import missing

from . import values
from .check import TemplateProblem, template_problems
from .filters import FILTERS
from .functions import dispatch
from .predicates import TESTS
from .state import SCALARS, PebbleUndefined, lookup, reveal, reveal_deep
from .syntax import CALL, parse
from .values import ExpressionProblem, check_size
from .versions import KestraVersion

__all__ = ["Compiled", "compile_template", "environment"]


def _finalize(value: Any) -> str:
    if type(value) is str:
        return value
    if isinstance(value, PebbleUndefined):
        value.fail()
    if callable(value):
        raise SecurityError("printing a function is not allowed in a template")
    return values.to_text(reveal_deep(value))


def _iterable(value: Any) -> Any:
    if isinstance(value, PebbleUndefined):
        value.fail()
    value = reveal(value)
    if value is None:
        return []
    if isinstance(value, Mapping):
        return [{"key": k, "value": v} for k, v in value.items()]
    if isinstance(value, (list, tuple, set, frozenset)):
        return value
    raise ExpressionProblem(f"for can only loop over a list or a map, got {values.to_text(value)!r}")


def _strict(operation: Callable[..., Any]) -> Callable[..., Any]:
    """An operator: an undefined operand fails (strict variables), secrets are revealed."""

    def apply(*operands: Any) -> Any:
        for operand in operands:
            if type(operand) not in SCALARS:
                if isinstance(operand, PebbleUndefined):
                    operand.fail()
                return operation(*map(reveal_deep, operands))
        return operation(*operands)

    return apply


def _variable(context: Any, name: str) -> Any:
    value = context.resolve_or_missing(name)
    return PebbleUndefined(name=name) if value is missing else value


@pass_context
def _call(context: Context, name: str, *args: Any, **kwargs: Any) -> Any:
    """A function call, ``name(args)``. Taking the context keeps Jinja2 from evaluating a call of
    constants while it compiles (a cached template must call ``now()`` or ``secret()`` each time)."""
    return dispatch(name, *args, **kwargs)


def _coalesce(value: Any) -> tuple[Any, ...]:
    """``a ?? b``: ``a`` boxed when it is defined and not null, else an empty (false) box."""
    return () if isinstance(value, PebbleUndefined) or value is None else (value,)


def _undefined_coalesce(value: Any) -> tuple[Any, ...]:
    """``a ??? b``: ``a`` boxed when it is defined (null included)."""
    return () if isinstance(value, PebbleUndefined) else (value,)


_OPERATORS: dict[str, Callable[..., Any]] = {
    CALL: _call,
    "op:get": lookup,
    "op:variable": _variable,
    "op:iterable": _iterable,
    "op:coalesce": _coalesce,
    "op:undefined_coalesce": _undefined_coalesce,
    "op:box": lambda value: (value,),
    "op:unwrap": lambda box: box[0],
    "op:bool": _strict(values.truth),
    "op:not_null": _strict(lambda value: value is not None),
    "op:eq": _strict(values.equals),
    "op:ne": _strict(lambda a, b: not values.equals(a, b)),
    "op:lt": _strict(lambda a, b: values.compare(a, b, "<")),
    "op:gt": _strict(lambda a, b: values.compare(a, b, ">")),
    "op:lteq": _strict(lambda a, b: values.compare(a, b, "<=")),
    "op:gteq": _strict(lambda a, b: values.compare(a, b, ">=")),
    "op:contains": _strict(values.contains),
    "op:add": _strict(values.add),
    "op:sub": _strict(values.subtract),
    "op:mul": _strict(lambda a, b: values.arithmetic(a, b, "*")),
    "op:div": _strict(lambda a, b: values.arithmetic(a, b, "/")),
    "op:mod": _strict(lambda a, b: values.arithmetic(a, b, "%")),
    "op:unary_sub": _strict(lambda a: values.arithmetic(-1, a, "*")),
    "op:unary_add": _strict(lambda a: values.arithmetic(1, a, "*")),
    "op:concat": _strict(values.concat),
    "op:range": _strict(values.inclusive_range),
}


class PebbleEnvironment(ImmutableSandboxedEnvironment):
    """Jinja's immutable sandbox with Pebble's operators and Kestra's output rules; templates
    never reach Python attributes, items or callables (the parser emits no such nodes, and these
    overrides refuse them should one appear)."""

    def getattr(self, obj: Any, attribute: str) -> Any:
        raise SecurityError(f"attribute access ({attribute!r}) is not allowed in a template")

    def getitem(self, obj: Any, argument: Any) -> Any:
        raise SecurityError("item access is not allowed in a template")

    def call(self, context: Any, obj: Any, /, *args: Any, **kwargs: Any) -> Any:
        raise SecurityError("calling a value is not allowed in a template")


def _build() -> PebbleEnvironment:
    env = PebbleEnvironment(
        undefined=PebbleUndefined,
        finalize=_finalize,
        autoescape=False,
        keep_trailing_newline=True,
        cache_size=0,
        optimized=False,  # no constant folding: a filter runs when the template renders
    )
    env.filters = {**FILTERS, **_OPERATORS}
    env.tests = dict(TESTS)
    env.globals = {}
    return env


environment = _build()


#: Kestra's own pre-processing of raw blocks (``VariableRenderer.RAW_PATTERN``, single line as in
#: Java): their text is set aside before the template engine runs, so ``{%- raw %}`` trims nothing
_RAW = re.compile(r"\{%-*\s*raw\s*-*%\}(.*?)\{%-*\s*endraw\s*-*%\}")


@dataclass(frozen=True)
class Compiled:
    """A compiled template and the raw blocks to put back into its output."""

    template: Template
    raw: tuple[str, ...]

    def render(self, variables: Mapping[str, Any]) -> str:
        """The output, refused as soon as it grows past :data:`~..limits.MAX_TEXT` characters (a
        ``{% for %}`` printing 10**8 characters stops after the first few million)."""
        output = io.StringIO()  # one growing buffer: no list of 10**8 one-letter pieces
        size = 0
        for piece in self.template.generate(variables):
            size += len(piece)
            check_size(size, "the template's output")
            output.write(piece)
        text = output.getvalue()
        for index, piece in enumerate(self.raw):
            text = text.replace(_raw_mark(index), piece)
        return text


def _raw_mark(index: int) -> str:
    return f"\x00raw{index}\x00"


@lru_cache(maxsize=4096)
def compile_template(source: str, kestra: KestraVersion = "1.3") -> Compiled:
    """The compiled template of ``source``, cached: a flow renders the same texts many times.

    Raises Jinja's ``TemplateSyntaxError`` or :class:`~.check.TemplateProblem` (unknown filter,
    test or function; with ``kestra="2.0"`` also what Kestra 2.0 removed, such as ``json``).
    """
    raw: list[str] = []

    def set_aside(match: re.Match[str]) -> str:
        raw.append(match.group(1))
        return _raw_mark(len(raw) - 1)

    tree = parse(_RAW.sub(set_aside, source))
    problems = template_problems(tree, kestra=kestra)
    if problems:
        raise TemplateProblem(problems)
    return Compiled(environment.from_string(tree), tuple(raw))
