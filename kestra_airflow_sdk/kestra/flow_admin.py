"""The flows a Kestra server holds: list a namespace's (a typed frame), read one with its source,
delete one, enable or disable several. A mixin of :class:`~.server.KestraOperations`.

Endpoints (kestra-io/kestra ``FlowController``, the same on 1.3 and 2.0): ``GET /flows/{namespace}``,
``GET /flows/{namespace}/{id}?source=true``, ``DELETE /flows/{namespace}/{id}`` (204), and
``POST /flows/enable/by-ids`` / ``POST /flows/disable/by-ids`` with ``[{"namespace", "id"}]``,
answering ``{"count": n}`` (``BulkResponse``).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from ..flows.flow import Flow
from ..transport.effects import Op
from ..transport.operation import operation
from .errors import KestraError
from .models import StoredFlow
from .session import KestraSession, segment

if TYPE_CHECKING:
    import pandas as pd

    from ..history.schemas import Schema

__all__ = ["FlowAdministration", "FlowRef", "flow_ref", "flows_schema"]

FlowRef = Flow | tuple[str, str]


def flow_ref(flow: Any) -> tuple[str, str]:
    """``(namespace, flow_id)`` of a :class:`Flow` or a pair; :class:`KestraError` otherwise."""
    if isinstance(flow, Flow):
        return flow.namespace, flow.id
    if isinstance(flow, tuple) and len(flow) == 2 and all(isinstance(x, str) and x for x in flow):
        return flow[0], flow[1]
    raise KestraError(f"flow: expected a Flow or a (namespace, flow_id) pair, got {flow!r}")


def _refs(flows: Any) -> list[tuple[str, str]]:
    items = (
        [flows]
        if isinstance(flows, (Flow, tuple))
        else list(flows)
        if isinstance(flows, Iterable)
        else [flows]
    )
    if not items:
        raise KestraError(
            "flows: expected one or more flows (a Flow or a (namespace, flow_id) pair), got none"
        )
    return [flow_ref(item) for item in items]


@functools.cache
def flows_schema() -> Schema:
    """The columns of :meth:`FlowAdministration.flows`: ``id``, ``namespace``, ``description``
    (``string``), ``revision`` and ``tasks`` (how many top-level tasks, ``Int64``), ``disabled``,
    ``deleted`` (``boolean``), ``labels`` (dicts), ``triggers`` (lists of trigger ids)."""
    from ..history.schemas import Column, Schema

    return Schema(
        "kestra_flows",
        (
            Column("id", "str"),
            Column("namespace", "str"),
            Column("revision", "int"),
            Column("description", "str"),
            Column("disabled", "bool"),
            Column("deleted", "bool"),
            Column("tasks", "int"),
            Column("triggers", "object"),
            Column("labels", "object"),
        ),
    )


def _flow_row(item: Any) -> dict[str, Any] | None:
    if not isinstance(item, dict) or not isinstance(item.get("id"), str):
        return None
    labels = item.get("labels")
    if isinstance(labels, list):
        labels = {str(x.get("key")): str(x.get("value")) for x in labels if isinstance(x, dict)}
    revision = item.get("revision")
    tasks = item.get("tasks")
    return {
        "id": item["id"],
        "namespace": item.get("namespace"),
        "revision": revision if isinstance(revision, int) and not isinstance(revision, bool) else None,
        "description": item.get("description"),
        "disabled": bool(item.get("disabled", False)),
        "deleted": bool(item.get("deleted", False)),
        "tasks": len(tasks) if isinstance(tasks, list) else None,
        "triggers": [str(t.get("id")) for t in item.get("triggers") or [] if isinstance(t, dict)],
        "labels": dict(labels) if isinstance(labels, dict) else {},
    }


class FlowAdministration(KestraSession):
    """The flow operations of a Kestra server (list, read, delete, enable, disable)."""

    @operation
    def flows(self, namespace: str) -> Op[pd.DataFrame]:
        """The flows of ``namespace`` (``GET /flows/{namespace}``; sub-namespaces not included) as a
        typed DataFrame (:func:`flows_schema`), by id."""
        from .namespaced import check_namespace

        body = yield from self._call(
            "GET", f"/flows/{segment(check_namespace(namespace))}", action=f"Listing the flows of {namespace}"
        )
        if not isinstance(body, list):
            raise KestraError(f"Listing the flows of {namespace}: expected a list, got {str(body)[:200]!r}")
        rows = sorted(
            (row for row in map(_flow_row, body) if row is not None), key=lambda row: str(row["id"])
        )
        return flows_schema().frame(rows)

    @operation
    def get_flow(self, flow: FlowRef, *, revision: int | None = None) -> Op[StoredFlow]:
        """A flow as the server has it, with its YAML ``source`` (``GET /flows/{namespace}/{id}?source=true``;
        the latest revision unless ``revision``). ``.to_flow()`` reads the source as a :class:`Flow`."""
        namespace, flow_id = flow_ref(flow)
        params: dict[str, Any] = {"source": "true"}
        if revision is not None:
            if isinstance(revision, bool) or not isinstance(revision, int) or revision < 1:
                raise KestraError(f"revision: expected a flow revision number (>= 1), got {revision!r}")
            params["revision"] = revision
        body = yield from self._call(
            "GET",
            f"/flows/{segment(namespace)}/{segment(flow_id)}",
            action=f"Reading flow {namespace}.{flow_id}",
            params=params,
        )
        try:
            return StoredFlow.model_validate(body)
        except ValidationError as exc:
            raise KestraError(
                f"Reading flow {namespace}.{flow_id}: Kestra's answer does not have the expected shape: "
                f"{exc.errors()[0]['msg']}"
            ) from None

    @operation
    def delete_flow(self, flow: FlowRef) -> Op[None]:
        """Delete a flow (``DELETE /flows/{namespace}/{id}``); its executions stay."""
        namespace, flow_id = flow_ref(flow)
        yield from self._call(
            "DELETE",
            f"/flows/{segment(namespace)}/{segment(flow_id)}",
            action=f"Deleting flow {namespace}.{flow_id}",
        )

    @operation
    def enable_flows(self, flows: FlowRef | Iterable[FlowRef]) -> Op[int]:
        """Enable flows (``POST /flows/enable/by-ids``): their triggers fire again; how many Kestra enabled."""
        return (yield from self._bulk("enable", flows))

    @operation
    def disable_flows(self, flows: FlowRef | Iterable[FlowRef]) -> Op[int]:
        """Disable flows (``POST /flows/disable/by-ids``): their triggers stop firing (executions can
        still be started by hand); how many Kestra disabled."""
        return (yield from self._bulk("disable", flows))

    def _bulk(self, verb: str, flows: Any) -> Op[int]:
        refs = _refs(flows)
        body = yield from self._call(
            "POST",
            f"/flows/{verb}/by-ids",
            action=f"{verb.capitalize()} {len(refs)} flow(s)",
            json=[{"namespace": namespace, "id": flow_id} for namespace, flow_id in refs],
        )
        count = body.get("count") if isinstance(body, dict) else None
        if isinstance(count, bool) or not isinstance(count, int):
            raise KestraError(
                f"{verb.capitalize()} flows: expected Kestra's {{'count': n}}, got {str(body)[:200]!r}"
            )
        return count
