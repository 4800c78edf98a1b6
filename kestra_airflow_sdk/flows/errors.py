"""The errors raised while defining, loading, exporting and rendering flows.

Every message names the place (field path, task id, file line/column), the offending value when it
is not secret, and the rule that was broken.
"""

from __future__ import annotations

from ..errors import KestraAirflowError

__all__ = [
    "ExpressionError",
    "FlowError",
    "FlowValidationError",
    "FlowYamlError",
    "InvalidInputsError",
    "SecretNotFoundError",
    "UnsupportedTaskError",
]


class FlowError(KestraAirflowError):
    """Base class of every flow error raised by the SDK."""


class FlowValidationError(FlowError, ValueError):
    """A flow or task breaks one of Kestra's rules (one line per problem in the message).

    Attributes:
        problems: one human-readable line per problem, each naming field, value and rule.
    """

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or [message]


class FlowYamlError(FlowValidationError):
    """A flow document is not valid YAML, or not a YAML mapping; the message has line and column."""

    def __init__(self, message: str, *, line: int | None = None, column: int | None = None) -> None:
        super().__init__(message)
        self.line = line
        self.column = column


class InvalidInputsError(FlowValidationError):
    """A run's inputs break the flow's input declarations; raised before an execution exists.

    Attributes:
        problems: one line per problem, each naming the input, the value (never a SECRET's) and
            the rule, e.g. ``inputs.age (INT): it must be less than `64`, but received `70```.
    """

    def __init__(self, problems: list[str], flow: str = "") -> None:
        head = f"Invalid inputs for flow {flow}" if flow else "Invalid inputs"
        lines = f" {problems[0]}" if len(problems) == 1 else "\n" + "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"{head}:{lines}", problems)


class ExpressionError(FlowError):
    """A ``{{ ... }}`` expression cannot be parsed or rendered (unknown variable, bad syntax).

    Attributes:
        expression: the expression text, as written.
        where: the task and property it was used in, e.g. ``task 'run_dag', property body.conf.flow``.
    """

    def __init__(self, message: str, *, expression: str = "", where: str = "") -> None:
        super().__init__(message)
        self.expression = expression
        self.where = where


class SecretNotFoundError(ExpressionError):
    """``secret('NAME')`` found no value in ``secrets=`` nor in the ``SECRET_<NAME>`` variable."""

    def __init__(self, message: str, *, name: str, where: str = "") -> None:
        super().__init__(message, expression=f"secret('{name}')", where=where)
        self.name = name


class UnsupportedTaskError(FlowError):
    """The flow has a task type the local runner cannot execute (it still round-trips as YAML)."""
