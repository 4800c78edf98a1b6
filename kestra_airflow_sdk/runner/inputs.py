"""A run's inputs, checked and typed as Kestra does before an execution exists
(``FlowInputOutput.resolveInputs`` in Kestra's core): the given value, else ``defaults``; a missing
required input, a value that does not parse as its type and a value that breaks a rule of its
input are errors, all reported together, each naming the input, the value and the rule.

Inputs whose id has dots (``nested.more.int``) are nested maps in the result, as in Kestra
(``{{ inputs.nested.more.int }}``). SECRET values are :class:`~pydantic.SecretStr` (masked in every
repr) and are registered with the run's :class:`~kestra_airflow_sdk.flows.secrets.SecretResolver`,
so that their text is masked in log lines too.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pydantic import SecretStr

from ..flows.errors import InvalidInputsError
from ..flows.expressions import KestraVersion, Renderer
from ..flows.input_values import InputValueError, java_text, parse_value
from ..flows.inputs import FlowInput, check_value
from ..flows.secrets import SecretResolver

__all__ = ["resolve_inputs"]

_UNSET = object()


def _shown(spec: FlowInput, value: Any, from_secret: bool = False) -> str:
    if spec.kind == "SECRET" or from_secret or isinstance(value, SecretStr):
        return "a SECRET value (not shown)"
    return f"`{java_text(value)}`"


class _Resolution:
    """Resolve every declared input once (an input's ``dependsOn`` inputs first)."""

    def __init__(
        self,
        declared: list[FlowInput],
        given: dict[str, Any],
        secrets: SecretResolver,
        variables: Mapping[str, Any],
        store_file: Callable[[str, Any], str] | None = None,
        kestra: KestraVersion = "1.3",
    ) -> None:
        self.kestra: KestraVersion = kestra
        self.specs = {spec.input_id: spec for spec in declared}
        self.store_file = store_file
        self.given = given
        self.secrets = secrets
        self.variables = dict(variables)
        self.values: dict[str, Any] = {}
        self.enabled: dict[str, bool] = {}
        self.problems: list[str] = []

    def resolve(self, input_id: str) -> bool:
        """Resolve ``input_id``; True when it is enabled (its ``dependsOn`` condition holds)."""
        if input_id in self.enabled:
            return self.enabled[input_id]
        self.enabled[input_id] = False  # a dependency cycle resolves as disabled
        spec = self.specs[input_id]
        enabled = self._dependencies_hold(spec)
        self.enabled[input_id] = enabled
        if enabled:
            self._value(spec)
        return enabled

    def _dependencies_hold(self, spec: FlowInput) -> bool:
        depends = spec.depends_on or {}
        ids = [i for i in depends.get("inputs") or [] if i in self.specs and i != spec.input_id]
        if not all([self.resolve(i) for i in ids]):
            return False
        condition = depends.get("condition")
        if condition is None:
            return True
        variables = {"inputs": _nested({i: self.values.get(i) for i in ids})}
        try:
            rendered = Renderer(variables, self.secrets, kestra=self.kestra).render(
                str(condition), f"inputs.{spec.input_id}.dependsOn"
            )
        except Exception as exc:  # the renderer's own errors name the expression
            self.problems.append(f"inputs.{spec.input_id}: Invalid condition: {exc}")
            return False
        text = rendered.get_secret_value() if isinstance(rendered, SecretStr) else str(rendered)
        return text.strip() == "true"

    def _value(self, spec: FlowInput) -> None:
        input_id = spec.input_id
        where = f"inputs.{input_id} ({spec.type})"
        raw = self.given.get(input_id)
        from_secret = False  # a default rendered from secret(): its text stays hidden
        if raw is None and isinstance(spec.defaults, str) and "{{" in spec.defaults:
            try:  # Kestra renders defaults (since 0.24), before the execution exists
                rendered = Renderer(self.variables, self.secrets, kestra=self.kestra).render(
                    spec.defaults, f"inputs.{input_id}.defaults"
                )
            except Exception as exc:  # the renderer's own errors name the expression and the variable
                self.problems.append(f"inputs.{input_id}: its defaults cannot be rendered: {exc}")
                return
            from_secret = isinstance(rendered, SecretStr)
            raw = rendered.get_secret_value() if isinstance(rendered, SecretStr) else rendered
        elif raw is None:
            raw = spec.defaults
        if isinstance(raw, SecretStr) and spec.kind != "SECRET":  # a secret given to a text input
            from_secret, raw = True, raw.get_secret_value()
        if raw is None:
            if spec.required:
                self.problems.append(
                    f"inputs.{input_id}: required input ({spec.type}) has no value and no defaults"
                )
            else:
                self.values[input_id] = None
            return
        if spec.type == "FILE":
            self._file(input_id, where, raw)
            return
        if spec.expression is not None:
            self.problems.append(
                f"{where}: values computed from an expression are not supported by a local run; "
                "list the values in `values`"
            )
            return
        try:
            value = parse_value(
                spec.kind, raw, spec.item_type or ("STRING" if spec.type == "MULTISELECT" else None)
            )
        except InputValueError as exc:
            self.problems.append(f"{where}: {exc}, but received {_shown(spec, raw, from_secret)}")
            return
        broken = check_value(spec, value)
        if broken is not None:
            self.problems.append(f"{where}: {broken}, but received {_shown(spec, raw, from_secret)}")
            return
        if from_secret and isinstance(value, str):
            value = SecretStr(value)
        if isinstance(value, SecretStr):
            self.secrets.register(value)
        self.values[input_id] = value

    def _file(self, input_id: str, where: str, raw: Any) -> None:
        """A FILE input: a local file, stored in the execution's storage, whose URI is the value."""
        if self.store_file is None:
            self.problems.append(
                f"{where}: FILE inputs need the execution's storage; give the file to a flow run "
                "(flow.run(inputs={...: path}))"
            )
            return
        try:
            self.values[input_id] = self.store_file(input_id, raw)
        except ValueError as exc:
            self.problems.append(f"{where}: {exc}")


def _nested(flat: Mapping[str, Any]) -> dict[str, Any]:
    """``{"a.b": 1, "c": 2}`` → ``{"a": {"b": 1}, "c": 2}`` (Kestra's ``flattenToNestedMap``)."""
    result: dict[str, Any] = {}
    for key, value in flat.items():
        node = result
        *parents, leaf = key.split(".")
        for part in parents:
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {}
            node = child
        node[leaf] = value
    return result


def resolve_inputs(
    declared: list[FlowInput] | None,
    given: Mapping[str, Any] | None,
    secrets: SecretResolver | None = None,
    flow: str = "",
    variables: Mapping[str, Any] | None = None,
    store_file: Callable[[str, Any], str] | None = None,
    kestra: KestraVersion = "1.3",
) -> dict[str, Any]:
    """The execution's inputs, typed (see the module documentation).

    Args:
        declared: the flow's inputs.
        given: values by input id (text, as Kestra's API receives them, or already typed).
        secrets: the run's resolver; SECRET input values are registered with it for masking.
        flow: ``namespace.id`` of the flow, for the error message.
        variables: what expressions in ``defaults`` and ``dependsOn.condition`` see besides the
            inputs (``flow``; there is no execution yet).
        store_file: ``(input id, given value) → URI``: stores a FILE input's file (a local file)
            in the execution's internal storage, as Kestra stores an uploaded file
            (``kestra:///<namespace>/<flow>/executions/<id>/inputs/<input id>/<file name>``), and
            returns its URI, the input's value (raises ``ValueError`` saying what was expected);
            without it, FILE inputs are refused.
        kestra: the Kestra version whose expressions ``defaults`` and ``dependsOn.condition`` follow.

    Raises:
        InvalidInputsError: one line per problem: missing required inputs, values of the wrong
            type, values breaking a rule, inputs the flow does not declare.
    """
    declared = declared or []
    given = dict(given or {})
    resolution = _Resolution(
        declared, given, secrets or SecretResolver(), variables or {}, store_file, kestra
    )
    for spec in declared:
        resolution.resolve(spec.input_id)
    undeclared = sorted(set(given) - set(resolution.specs))
    if undeclared:
        known = ", ".join(resolution.specs) or "none"
        resolution.problems.append(
            f"inputs {', '.join(map(repr, undeclared))}: not declared by the flow (declared inputs: {known}); "
            "Kestra would ignore them, the SDK refuses them so that a misspelt input cannot go unnoticed"
        )
    if resolution.problems:
        raise InvalidInputsError(resolution.problems, flow)
    enabled = {k: v for k, v in resolution.values.items() if resolution.enabled.get(k)}
    return _nested(enabled)
