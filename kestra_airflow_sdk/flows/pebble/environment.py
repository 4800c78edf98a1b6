"""The sandboxed Jinja2 environment that evaluates Kestra's Pebble templates.

Only plain data reaches a template: a variable path is looked up by :func:`lookup` in mappings and
lists (never as a Python attribute), a function is called through one dispatcher that knows only
Kestra's functions and those the runner supplies, and there is no loader, so ``include``/``import``
cannot reach files. The environment is Jinja's ``ImmutableSandboxedEnvironment`` as a second wall.

Per render, the state a template needs (secret resolver, runner functions, whether a secret was
read) lives in a :class:`contextvars.ContextVar`, so one compiled template serves every renderer.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import Any, NoReturn

from jinja2 import StrictUndefined, nodes
from jinja2.environment import Template
from jinja2.exceptions import SecurityError, TemplateRuntimeError, UndefinedError
from jinja2.runtime import LoopContext
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import missing
from pydantic import SecretStr

from . import values
from .syntax import PebbleLexer, PebbleParser
from .values import ExpressionProblem

__all__ = [
    "Compiled",
    "PebbleUndefined",
    "RenderState",
    "UndefinedVariable",
    "compile_template",
    "current_state",
    "environment",
    "lookup",
    "reveal",
    "reveal_deep",
]


class UndefinedVariable(UndefinedError):
    """A variable path that names nothing was used where a value is needed."""

    def __init__(self, path: str, known: list[str] | None) -> None:
        super().__init__(f"{path} is not defined")
        self.path = path
        self.known = known


class PebbleUndefined(StrictUndefined):
    """What an unknown variable path evaluates to: it passes through ``.x``, ``[k]`` and filters
    (so ``??``, ``default`` and ``is defined`` can handle it) and fails, naming the path, where its
    value is needed (printed, compared, iterated, tested)."""

    __slots__ = ("_known",)

    def __init__(
        self,
        hint: str | None = None,
        obj: Any = missing,
        name: str | None = None,
        exc: type[TemplateRuntimeError] = UndefinedError,
        known: Mapping[Any, Any] | None = None,
    ) -> None:
        super().__init__(hint, obj, name, exc)
        self._known = known  # the mapping the path missed a key of (listed only in the error)

    def _fail_with_undefined_error(self, *args: Any, **kwargs: Any) -> NoReturn:
        known = None if self._known is None else sorted(map(str, self._known))
        raise UndefinedVariable(self._undefined_name or "a value", known)

    def __getattr__(self, name: str) -> Any:
        if name[:2] == "__":
            raise AttributeError(name)
        return self


@dataclass
class RenderState:
    """What one render needs besides the variables."""

    variables: Mapping[str, Any]
    functions: Mapping[str, Callable[..., Any]]
    #: renders a nested value (``render()``), given by the renderer
    render: Callable[[Any, bool], Any]
    #: resolves ``secret('NAME')``
    secret: Callable[[str], SecretStr]
    tainted: bool = False
    #: the secret values revealed so far, masked in error messages
    revealed: set[str] = field(default_factory=set)


_STATE: ContextVar[RenderState | None] = ContextVar("pebble_render_state", default=None)


def current_state() -> RenderState:
    """The state of the render in progress (for functions such as ``secret()`` and ``render()``)."""
    state = _STATE.get()
    if state is None:
        raise ExpressionProblem("this function needs a render in progress")
    return state


def set_state(state: RenderState) -> Any:
    """Make ``state`` the current render's; returns the token :func:`reset_state` takes."""
    return _STATE.set(state)


def reset_state(token: Any) -> None:
    """End the render :func:`set_state` started."""
    _STATE.reset(token)


def reveal(value: Any) -> Any:
    """The text of a secret value, marking the render as having used a secret."""
    if isinstance(value, SecretStr):
        text = value.get_secret_value()
        state = _STATE.get()
        if state is not None:
            state.tainted = True
            state.revealed.add(text)
        return text
    return value


def reveal_deep(value: Any) -> Any:
    """:func:`reveal` applied inside maps and lists too (what filters, functions and output see)."""
    if type(value) in _SCALARS:
        return value
    if isinstance(value, Mapping) and not isinstance(value, PebbleUndefined):
        return {k: reveal_deep(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [reveal_deep(v) for v in value]
    return reveal(value)


_SCALARS = frozenset({str, int, float, bool, type(None)})
_LOOP_ATTRIBUTES = {
    "index": "index0",
    "revindex": "revindex0",
    "first": "first",
    "last": "last",
    "length": "length",
}


def lookup(node: Any, key: Any, path: str) -> Any:
    """One step of a variable path (``.key`` or ``[key]``): a mapping's key or a list's index."""
    if type(node) is dict and type(key) is str:  # the common case, first
        if key in node:
            return reveal(node[key])
        return PebbleUndefined(name=path, known=node)
    if isinstance(node, PebbleUndefined):
        return node
    if isinstance(key, PebbleUndefined):
        return key
    key = reveal(key)
    if type(node) is dict:
        if key in node:
            return reveal(node[key])
        return PebbleUndefined(name=path, known=node)
    if isinstance(node, Mapping):
        try:
            if key in node:
                return reveal(node[key])
        except TypeError:
            pass
        return PebbleUndefined(name=path, known=node)
    if isinstance(node, (list, tuple)) and isinstance(key, int) and not isinstance(key, bool):
        if 0 <= key < len(node):
            return reveal(node[key])
        return PebbleUndefined(name=f"{path} (index {key} of a list of {len(node)})")
    if isinstance(node, LoopContext) and key in _LOOP_ATTRIBUTES:
        return getattr(node, _LOOP_ATTRIBUTES[key])
    return PebbleUndefined(name=path)


def _finalize(value: Any) -> str:
    if type(value) is str:
        return value
    if isinstance(value, PebbleUndefined):
        value._fail_with_undefined_error()
    if callable(value):
        raise SecurityError("printing a function is not allowed in a template")
    return values.to_text(reveal_deep(value))


def _iterable(value: Any) -> Any:
    if isinstance(value, PebbleUndefined):
        value._fail_with_undefined_error()
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
            if type(operand) not in _SCALARS:
                if isinstance(operand, PebbleUndefined):
                    operand._fail_with_undefined_error()
                return operation(*map(reveal_deep, operands))
        return operation(*operands)

    return apply


def _variable(context: Any, name: str) -> Any:
    value = context.resolve_or_missing(name)
    return PebbleUndefined(name=name) if value is missing else value


_OPERATORS: dict[str, Callable[..., Any]] = {
    "op:get": lookup,
    "op:variable": _variable,
    "op:iterable": _iterable,
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
_OPERATOR_TESTS: dict[str, Callable[..., bool]] = {
    "op:coalesce": lambda v: not isinstance(v, PebbleUndefined) and v is not None,
    "op:undefined_coalesce": lambda v: not isinstance(v, PebbleUndefined),
}


class PebbleEnvironment(ImmutableSandboxedEnvironment):
    """Jinja's immutable sandbox with Pebble's lexer, parser, operators and Kestra's output rules."""

    #: calls Kestra's function by name (``functions.dispatch``), the only callable templates reach
    pebble_call: Callable[..., Any]

    @cached_property
    def lexer(self) -> PebbleLexer:
        return PebbleLexer(self)

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        return PebbleParser(self, source, name, filename).parse()

    def call(__self, __context: Any, __obj: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if __obj is not __self.pebble_call:
            raise SecurityError("calling a value is not allowed in a template")
        kwargs.pop("_loop_vars", None)  # what Jinja adds to calls made inside a loop or block
        kwargs.pop("_block_vars", None)
        return __obj(*args, **kwargs)

    def getattr(self, obj: Any, attribute: str) -> Any:
        raise SecurityError(f"attribute access ({attribute!r}) is not allowed in a template")

    def getitem(self, obj: Any, argument: Any) -> Any:
        raise SecurityError("item access is not allowed in a template")


def _build() -> PebbleEnvironment:
    from .filters import FILTERS
    from .functions import dispatch
    from .predicates import TESTS

    env = PebbleEnvironment(
        undefined=PebbleUndefined,
        finalize=_finalize,
        autoescape=False,
        keep_trailing_newline=True,
        cache_size=0,
    )
    env.filters = {**FILTERS, **_OPERATORS}
    env.tests = {**TESTS, **_OPERATOR_TESTS}
    env.globals = {}
    env.pebble_call = dispatch
    return env


environment = _build()


def parse(source: str) -> nodes.Template:
    """The template's syntax tree (raises Jinja's ``TemplateSyntaxError``)."""
    return environment.parse(source)


#: Kestra's own pre-processing of raw blocks (``VariableRenderer.RAW_PATTERN``, single line as in
#: Java): their text is set aside before the template engine runs, so ``{%- raw %}`` trims nothing
_RAW = re.compile(r"\{%-*\s*raw\s*-*%\}(.*?)\{%-*\s*endraw\s*-*%\}")


@dataclass(frozen=True)
class Compiled:
    """A compiled template and the raw blocks to put back into its output."""

    template: Template
    raw: tuple[str, ...]

    def render(self, variables: dict[str, Any]) -> str:
        # shared: the variables are the context as they are (no copy, no globals)
        text = "".join(self.template.root_render_func(self.template.new_context(variables, shared=True)))
        for index, piece in enumerate(self.raw):
            text = text.replace(_raw_mark(index), piece)
        return text


def _raw_mark(index: int) -> str:
    return f"\x00raw{index}\x00"


@lru_cache(maxsize=4096)
def compile_template(source: str) -> Compiled:
    """The compiled template of ``source``, cached: a flow renders the same texts many times.

    Raises Jinja's ``TemplateSyntaxError`` or :class:`~.check.TemplateProblem` (unknown filter/test).
    """
    from .check import TemplateProblem, template_problems

    raw: list[str] = []

    def set_aside(match: re.Match[str]) -> str:
        raw.append(match.group(1))
        return _raw_mark(len(raw) - 1)

    tree = parse(_RAW.sub(set_aside, source))
    problems = template_problems(tree)
    if problems:
        raise TemplateProblem(problems)
    code = environment.compile(tree)
    return Compiled(environment.template_class.from_code(environment, code, {}, None), tuple(raw))
