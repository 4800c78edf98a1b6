"""The flows a ``Subflow`` task may run: Flow objects given to ``run(flows=[...])`` and the flow
files of ``flows_dir`` (``*.yaml``/``*.yml``, searched recursively, read once when first needed)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ..flows.errors import FlowValidationError
from ..flows.flow import Flow

__all__ = ["FlowCatalog"]


class FlowCatalog:
    """Find a flow by namespace and id among the given flows, then in the folder."""

    def __init__(self, flows: Sequence[Flow] | None = None, flows_dir: str | Path | None = None) -> None:
        for flow in flows or []:
            if not isinstance(flow, Flow):
                raise FlowValidationError(f"flows: expected Flow objects, got {type(flow).__name__}")
        self.flows = list(flows or [])
        self.flows_dir = Path(flows_dir) if flows_dir is not None else None
        if self.flows_dir is not None and not self.flows_dir.is_dir():
            raise FlowValidationError(f"flows_dir: {str(self.flows_dir)!r} is not a folder")
        self._files: list[Flow] | None = None
        self.unreadable: dict[str, str] = {}

    def _folder(self) -> list[Flow]:
        if self._files is None:
            self._files = []
            if self.flows_dir is not None:
                paths = sorted([*self.flows_dir.rglob("*.yaml"), *self.flows_dir.rglob("*.yml")])
                for path in paths:
                    try:
                        self._files.append(Flow.from_yaml(path))
                    except FlowValidationError as exc:
                        self.unreadable[str(path)] = str(exc)
        return self._files

    def find(self, namespace: str, flow_id: str) -> Flow | None:
        """The flow ``namespace``.``flow_id`` (given flows first), or None."""
        for flow in [*self.flows, *self._folder()]:
            if flow.namespace == namespace and flow.id == flow_id:
                return flow
        return None

    def describe(self) -> str:
        """Where flows were looked for (for an error message)."""
        known = [f"{f.namespace}.{f.id}" for f in [*self.flows, *self._folder()]]
        where = "flows given: " + (", ".join(known) if known else "none")
        where += f"; flows_dir: {self.flows_dir}" if self.flows_dir else "; no flows_dir"
        if self.unreadable:
            where += f"; unreadable files: {', '.join(self.unreadable)}"
        return where + " (pass run(flows=[...]) or run(flows_dir=...))"
