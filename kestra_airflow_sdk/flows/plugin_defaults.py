"""``pluginDefaults`` applied as Kestra applies them (``PluginDefaultService``).

Every task (at any depth) whose ``type`` equals a default's ``type`` or starts with it gets the
default's ``values`` deep-merged: the task's own values win, unless the default is ``forced``.
Values a task got only from a default are not part of its document: the flow exports as written.
"""

from __future__ import annotations

from typing import Any

from pydantic import AliasChoices, ConfigDict

from .base import KestraModel

__all__ = ["PluginDefault", "apply_defaults", "forget_defaults"]


class PluginDefault(KestraModel):
    """One entry of ``pluginDefaults``: ``type`` (a task type or a prefix of one), ``values``, ``forced``."""

    model_config = ConfigDict(extra="forbid")

    type: str
    values: dict[str, Any]
    forced: bool = False


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """Kestra's ``MapUtils.merge``: maps merge key by key, anything else from ``over`` wins."""
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def apply_defaults(node: Any, defaults: list[PluginDefault]) -> Any:
    """``node`` (a document part: maps, lists, values) with the defaults merged into every task map."""
    if isinstance(node, list):
        return [apply_defaults(item, defaults) for item in node]
    if not isinstance(node, dict):
        return node
    result = {key: apply_defaults(value, defaults) for key, value in node.items()}
    kind = result.get("type")
    if not isinstance(kind, str):
        return result
    for default in defaults:
        if kind == default.type or kind.startswith(default.type):
            result = _merge(result, default.values) if default.forced else _merge(default.values, result)
    return result


def forget_defaults(model: Any, written: Any) -> None:
    """Unmark, in ``model`` and its children, the properties its document ``written`` did not have,
    so that an export (which writes only the properties set) leaves the defaults out."""
    if isinstance(model, KestraModel) and isinstance(written, dict):
        model._document_keys = tuple(type(model)._alias_of(str(key)) for key in written)
        extra = model.__pydantic_extra__
        if extra is not None:  # kept as written: the values a default added or merged go
            for key in list(extra):
                if key in written:
                    extra[key] = written[key]
                else:
                    del extra[key]
        for name, field in type(model).model_fields.items():
            choices = (
                field.validation_alias.choices if isinstance(field.validation_alias, AliasChoices) else []
            )
            spelled = [
                k for k in (field.alias or name, name, *choices) if isinstance(k, str) and k in written
            ]
            if spelled:
                forget_defaults(getattr(model, name), written[spelled[0]])
            elif name != "type":
                model.model_fields_set.discard(name)
    elif isinstance(model, list) and isinstance(written, list):
        for item, raw in zip(model, written, strict=False):
            forget_defaults(item, raw)
    elif isinstance(model, dict) and isinstance(written, dict):
        for key, item in model.items():
            if key in written:
                forget_defaults(item, written[key])
