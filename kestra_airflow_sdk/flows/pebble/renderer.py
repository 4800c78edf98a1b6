"""``Renderer``: render a task's properties against its variables, as Kestra renders them."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from jinja2.exceptions import SecurityError, TemplateSyntaxError
from pydantic import SecretStr

from ..errors import ExpressionError
from ..secrets import MASK, SecretResolver
from .check import TemplateProblem, syntax_message
from .environment import compile_template
from .state import (
    RenderState,
    UndefinedVariable,
    reset_state,
    reveal,
    set_state,
)
from .syntax import is_template
from .values import ExpressionProblem
from .versions import KestraVersion, kestra_version

__all__ = ["MAX_RENDERING", "Renderer", "render_text"]

#: how many times ``render()`` renders a value again before giving up (Kestra's limit)
MAX_RENDERING = 100


class Renderer:
    """Render Kestra (Pebble) expressions against one task's variables.

    Args:
        variables: ``flow``, ``task``, ``execution``, ``inputs``, ``outputs``, ``labels``, ``vars`` ...
        secrets: resolves ``secret('NAME')``.
        task_id: the task being rendered, for error messages.
        functions: the execution-bound functions the runner supplies, by name (e.g. ``errorLogs``,
            ``tasksWithState``); each is called with the template's arguments and returns plain data.
        kestra: the Kestra version whose expression semantics to follow, ``"1.3"`` (the default) or
            ``"2.0"``. Kestra 2.0 removed the ``json`` filter and the ``json()`` function: with
            ``"2.0"`` they are an error naming their replacements, the ``toJson`` filter and the
            ``fromJson()`` function, which both versions have. Rendering is not recursive in either:
            an expression's value is printed as it is, and ``render()`` renders it again on request
            (1.x's ``kestra.variables.recursive-rendering`` server option, off by default, is gone in
            2.0 and not modelled here).

    Raises:
        FlowValidationError: ``kestra`` is not one of :data:`~.versions.KESTRA_VERSIONS`.
    """

    def __init__(
        self,
        variables: Mapping[str, Any],
        secrets: SecretResolver,
        task_id: str = "",
        functions: Mapping[str, Callable[..., Any]] | None = None,
        kestra: KestraVersion = "1.3",
    ) -> None:
        self.kestra = kestra_version(kestra)
        self.variables = variables
        self._scope = variables if isinstance(variables, dict) else dict(variables)
        self.secrets = secrets
        self.task_id = task_id
        self.functions = dict(functions or {})

    def render(self, value: Any, where: str = "") -> Any:
        """Render every string inside ``value``: dicts (their keys too, as Kestra does) and lists are walked."""
        if isinstance(value, str):
            return self.render_text(value, where)
        if isinstance(value, SecretStr):
            rendered = self.render_text(value.get_secret_value(), where)
            return rendered if isinstance(rendered, SecretStr) else SecretStr(rendered)
        if isinstance(value, dict):
            walked: dict[Any, Any] = {}
            for key, item in value.items():
                place = f"{where}.{key}" if where else str(key)
                # the first of two keys that render alike wins, as in Kestra
                walked.setdefault(self._key(key, place), self.render(item, place))
            return walked
        if isinstance(value, list):
            return [self.render(v, f"{where}[{i}]") for i, v in enumerate(value)]
        return value

    def _key(self, key: Any, where: str) -> Any:
        if not isinstance(key, str):
            return key
        rendered = self.render_text(key, f"{where} (key)")
        if isinstance(rendered, SecretStr):
            raise ExpressionError(
                f"A map key cannot hold a secret ({self._where(where)}): keys are not masked; move it to the value",
                expression=key,
                where=self._where(where),
            )
        return rendered

    def render_text(self, text: str, where: str = "") -> str | SecretStr:
        """Render one string; a :class:`SecretStr` when a secret went into it."""
        if not is_template(text):  # as Kestra: text without {{, {% or {# is printed as written
            return text
        state = RenderState(
            variables=self.variables,
            functions=self.functions,
            render=lambda value, recursive: self._render_again(value, recursive, where),
            secret=lambda name: self.secrets.resolve(name, self._where(where)),
            kestra=self.kestra,
        )
        token = set_state(state)
        try:
            result = compile_template(text, self.kestra).render(self._scope)
        except ExpressionError:
            raise
        except Exception as exc:
            raise self._error(exc, text, self._where(where), state.revealed) from None
        finally:
            reset_state(token)
        return SecretStr(result) if state.tainted else result

    def _render_again(self, value: Any, recursive: bool, where: str) -> Any:
        """``render(value)``: render the strings in ``value``, again and again when ``recursive``."""
        for _ in range(MAX_RENDERING if recursive else 1):
            rendered = reveal_all(self.render(value, where))
            if rendered == value:
                return rendered
            value = rendered
        if not recursive:
            return value
        raise ExpressionProblem(f"render(): too many rendering attempts (more than {MAX_RENDERING})")

    def _where(self, where: str) -> str:
        task = f"task {self.task_id!r}" if self.task_id else "the flow"
        return f"{task}, property {where}" if where else task

    def _error(self, exc: Exception, text: str, place: str, revealed: set[str]) -> ExpressionError:
        shown = text if len(text) <= 300 else text[:297] + "..."
        if isinstance(exc, TemplateProblem):
            head, _, hint = exc.problems[0].partition("; ")
            message = f"{head[0].upper()}{head[1:]} in {shown} ({place}){'; ' + hint if hint else ''}"
        elif isinstance(exc, TemplateSyntaxError):
            message = f"Cannot parse the expression {shown} in {place}: {syntax_message(exc, text)}"
        elif isinstance(exc, UndefinedVariable):
            known = exc.known if exc.known is not None else sorted(map(str, self.variables))
            listed = f" (known here: {', '.join(known)})" if known else ""
            message = f"Undefined variable in {shown} ({place}): {exc.path} is not defined{listed}"
        elif isinstance(exc, SecurityError):
            message = f"Not allowed in {shown} ({place}): {exc}"
        elif isinstance(exc, ExpressionProblem):
            message = f"Cannot render {shown} ({place}): {exc}"
        else:
            message = f"Cannot render {shown} ({place}): {type(exc).__name__}: {exc}"
        for value in sorted(filter(None, revealed), key=len, reverse=True):
            message = message.replace(value, MASK)
        return ExpressionError(self.secrets.redact(message), expression=shown, where=place)


def reveal_all(value: Any) -> Any:
    """``value`` with :class:`SecretStr` revealed (marking the render in progress as secret)."""
    if isinstance(value, dict):
        return {k: reveal_all(v) for k, v in value.items()}
    if isinstance(value, list):
        return [reveal_all(v) for v in value]
    return reveal(value)


def render_text(
    text: str,
    variables: Mapping[str, Any],
    secrets: SecretResolver | None = None,
    *,
    kestra: KestraVersion = "1.3",
) -> Any:
    """Render one string against ``variables`` (convenience for tests and one-off use); ``kestra``
    as in :class:`Renderer`."""
    return Renderer(variables, secrets or SecretResolver(), kestra=kestra).render_text(text)
