"""The task and input rules kestra-migrate automates: retry, HTTP options, Echo, Exit, PurgeKV, dbt, legacy
types, the State Store, Pebble ``json`` and the input types."""

from __future__ import annotations

import re
from typing import Any

from ..dialect import JSON_FILTER, JSON_FUNCTION, LEGACY_PREFIXES, guide_page, task_nodes
from ..registry import task_class
from .common import (
    CORE,
    NEED_AUTH,
    STATE_KINDS,
    Note,
    Upgrade,
    rename_key,
    replace_in_place,
    rewrite_pebble,
    rewrite_strings,
)


def upgrade_task(path: str, task: dict[str, Any], result: Upgrade) -> None:
    """Apply the task rules to one task map, in place."""
    kind = task["type"]
    retry = task.get("retry")
    if isinstance(retry, dict) and "maxAttempt" in retry:
        task["retry"] = rename_key(retry, "maxAttempt", "maxAttempts")
        result.changes.append(f"{path}.retry: maxAttempt -> maxAttempts")
    options = task.get("options")
    if (
        isinstance(options, dict)
        and isinstance(options.get("retry"), dict)
        and "maxAttempt" in options["retry"]
    ):
        options["retry"] = rename_key(options["retry"], "maxAttempt", "maxAttempts")
    if isinstance(options, dict):
        _upgrade_http_options(path, options, result)
    if kind.endswith("debug.Echo") or kind == "io.kestra.core.tasks.debugs.Echo":
        new = rename_key(task, "format", "message")
        new["type"] = f"{CORE}log.Log"
        replace_in_place(task, new)
        result.changes.append(f"{path}: Echo -> Log (format -> message)")
    elif kind.endswith("execution.Exit") and task.get("state") == "CANCELED":
        task["state"] = "CANCELLED"
        result.changes.append(f"{path}: Exit state CANCELED -> CANCELLED")
    elif kind == f"{CORE}kv.PurgeKV" and "expiredOnly" in task:
        replace_in_place(
            task,
            rename_key(
                task,
                "expiredOnly",
                "behavior",
                {"type": "key", "expiredOnly": task["expiredOnly"]},
                keep=False,
            ),
        )
        result.changes.append(f"{path}: expiredOnly -> behavior")
    elif kind == "io.kestra.plugin.dbt.cli.Build":
        _upgrade_dbt_build(task)
        result.changes.append(f"{path}: dbt Build -> DbtCLI (commands: [dbt build])")
    elif kind.startswith(LEGACY_PREFIXES):
        cls = task_class(kind)
        types: tuple[str, ...] = getattr(cls, "TYPES", ())
        if types:
            task["type"] = types[0]
            result.changes.append(f"{path}: {kind} -> {types[0]}")
        else:
            result.notes.append(
                Note(
                    "error",
                    path,
                    f"legacy type {kind}: Kestra 2.0 resolves no aliases; use its io.kestra.plugin.core.* name",
                )
            )
    if "CANCELED" in (task.get("states") or []) and isinstance(task["states"], list):
        task["states"] = ["CANCELLED" if s == "CANCELED" else s for s in task["states"]]
        result.changes.append(f"{path}.states: CANCELED -> CANCELLED")
    if kind in NEED_AUTH and "auth" not in task:
        result.notes.append(
            Note(
                "warning",
                path,
                f"{kind} calls the Kestra API, which 2.0 serves only with credentials: set auth (or server/namespace credentials)",
                guide_page("sdk-authentication"),
            )
        )


def _upgrade_http_options(path: str, options: dict[str, Any], result: Upgrade) -> None:
    if {"basicAuthUser", "basicAuthPassword", "connectTimeout", "readTimeout"} & set(options):
        new: dict[str, Any] = {}
        for key, value in options.items():
            if key in ("basicAuthUser", "basicAuthPassword"):
                auth = new.setdefault("auth", options.get("auth") or {"type": "BASIC"})
                auth["username" if key == "basicAuthUser" else "password"] = value
            elif key in ("connectTimeout", "readTimeout"):
                timeout = new.setdefault("timeout", dict(options.get("timeout") or {}))
                timeout.setdefault("connectTimeout" if key == "connectTimeout" else "readIdleTimeout", value)
            elif key not in new:
                new[key] = value
        replace_in_place(options, new)
        result.changes.append(f"{path}.options: basicAuth*/timeouts -> auth/timeout")


def _upgrade_dbt_build(task: dict[str, Any]) -> None:
    task["type"] = "io.kestra.plugin.dbt.cli.DbtCLI"
    task.pop("dbtPath", None)
    docker = task.pop("dockerOptions", None)
    if isinstance(docker, dict) and docker.get("image") and "containerImage" not in task:
        task["containerImage"] = docker["image"]
    task.setdefault("commands", ["dbt build"])


def _slugify(text: str) -> str:
    """Kestra's ``Slugify.of`` for a flow id (dots go, ``_`` becomes ``-``)."""
    slug = re.sub(r"[^A-Za-z0-9_-]", "", text).replace("_", "-")
    while "--" in slug:
        slug = slug.replace("--", "-")
    return slug.strip("-").lower()


def upgrade_state_tasks(document: dict[str, Any], result: Upgrade) -> None:
    """State Store tasks -> KV tasks on the key the 1.3 State Store used, so stored state is still
    read; references to a Get's ``data``/``count`` read the KV value (JSON, or base64 of it)."""
    slug = _slugify(str(document.get("id", "")))
    gets: list[str] = []
    for path, task in list(task_nodes(document)):
        suffix = task["type"].replace("io.kestra.core.tasks.states.", "state.").removeprefix(CORE)
        kind = STATE_KINDS.get(suffix)
        if kind is None:
            continue
        prefix = "" if task.get("namespace") is True else f"{slug}_"
        key = f"{prefix}states_tasks-states_{task.get('name', 'default')}"
        new: dict[str, Any] = {}
        for name, value in task.items():
            if name in ("namespace", "taskrunValue"):
                continue
            if name == "name":
                new["key"] = key
            elif name == "data" and kind == "Set":
                new["value"] = value
            else:
                new[name] = f"{CORE}kv.{kind}" if name == "type" else value
            if name == "type" and "name" not in task:
                new["key"] = key
        replace_in_place(task, new)
        result.changes.append(f"{path}: state.{kind} -> kv.{kind} (key {key})")
        if kind == "Set":
            result.notes.append(
                Note(
                    "warning", path, "state.Set merged data into the stored state, kv.Set replaces the value"
                )
            )
        if kind == "Get":
            gets.append(task["id"])
    if gets:
        ids = "|".join(re.escape(i) for i in gets)
        reference = re.compile(
            r"outputs(\.(?:" + ids + r")|\[\s*['\"](?:" + ids + r")['\"]\s*\])\.(data|count)\b"
        )

        def read(match: re.Match[str]) -> str:
            value = f"outputs{match.group(1)}.value"
            parsed = f"fromJson(({value} ?? '{{}}') contains '{{' ? ({value} ?? '{{}}') : ({value} | base64decode))"
            return f"({parsed} | length)" if match.group(2) == "count" else parsed

        for key in ("tasks", "errors", "finally"):
            if key in document:
                document[key] = rewrite_strings(
                    document[key], lambda s: rewrite_pebble(s, lambda b: reference.sub(read, b))
                )


def upgrade_json(document: dict[str, Any], result: Upgrade) -> dict[str, Any]:
    """``json(x)`` -> ``fromJson(x)`` and ``x | json`` -> ``x | toJson`` in every Pebble tag."""

    def body(text: str) -> str:
        return JSON_FILTER.sub("| toJson", JSON_FUNCTION.sub("fromJson(", text))

    upgraded = rewrite_strings(document, lambda s: rewrite_pebble(s, body))
    assert isinstance(upgraded, dict)
    if upgraded != document:
        result.changes.append("Pebble json() -> fromJson(), | json -> | toJson")
    return upgraded


def upgrade_inputs(document: dict[str, Any], result: Upgrade) -> None:
    """The input rules: ``name`` -> ``id``, ``BOOLEAN``/``ENUM``, MULTISELECT ``options``, FILE ``extension``,
    optional inputs with ``defaults``."""
    for i, spec in enumerate(document.get("inputs") or []):
        if not isinstance(spec, dict):
            continue
        where = f"inputs[{i}]"
        if "name" in spec and "id" not in spec:
            replace_in_place(spec, rename_key(spec, "name", "id"))
            result.changes.append(f"{where}: name -> id")
        if spec.get("type") == "MULTISELECT" and "options" in spec and "values" not in spec:
            replace_in_place(spec, rename_key(spec, "options", "values"))
            result.changes.append(f"{where}: MULTISELECT options -> values")
        if spec.get("type") == "FILE" and spec.pop("extension", None) is not None:
            result.changes.append(f"{where}: FILE extension removed (2.0 no longer enforces it)")
        if spec.get("required") is False and spec.get("defaults") is not None:
            del spec["required"]
            result.changes.append(
                f"{where}: required: false removed (an input with defaults is required in 2.0)"
            )
        renamed = {"BOOLEAN": "BOOL", "ENUM": "SELECT"}.get(str(spec.get("type")))
        if renamed:
            result.changes.append(f"{where} (input {spec.get('id')!r}): type {spec['type']} -> {renamed}")
            spec["type"] = renamed
