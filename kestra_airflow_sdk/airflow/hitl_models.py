"""Human-in-the-loop requests of Airflow 3.1+ (``HITLOperator``, ``ApprovalOperator``, ...) as typed models.

A task of a human-in-the-loop operator writes a request (a subject, the options a person may choose,
the params a person may fill in) and waits until someone answers it (``awaiting_input`` on Airflow 3.3+,
``deferred`` before). :class:`HitlRequest` is Airflow's ``HITLDetail`` with the task instance it
belongs to flattened into ``dag_id`` / ``dag_run_id`` / ``task_id`` / ``map_index``;
:class:`HitlResponse` is what answering one returns (``HITLDetailResponse``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from .models import AwareDatetime, DagRunState

__all__ = ["HitlRequest", "HitlResponse", "HitlUser", "awaits_a_person", "task_text"]

#: the task states of a task whose human-in-the-loop request waits for an answer (3.3+ / 3.1-3.2)
WAITING_TASK_STATES = frozenset({"awaiting_input", "deferred"})


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


class HitlUser(_Model):
    """A user a request is assigned to, or who answered it."""

    id: str
    name: str


class HitlRequest(_Model):
    """One human-in-the-loop request: what a task asks a person, and the answer once there is one.

    Attributes:
        dag_id / dag_run_id / task_id / map_index / try_number: the task instance that asks.
        task_state: that task instance's state (``awaiting_input`` or ``deferred`` while it waits).
        subject: the headline shown to the person.
        body: the longer text (Markdown), if any.
        options: what the person may choose (at least one).
        multiple: whether more than one option may be chosen.
        defaults: the options taken when the request times out, if any.
        params: the inputs a person may fill in, by name: ``{"value", "description", "schema"}``
            each (``value`` is the default).
        assigned_users: who may answer (empty: anyone allowed to act on the DAG).
        created_at: when the request was written.
        response_received: whether it has been answered.
        responded_at / responded_by / chosen_options / params_input: the answer.
    """

    dag_id: str
    dag_run_id: str
    task_id: str
    map_index: int = -1
    try_number: int | None = None
    task_state: str | None = None
    subject: str
    body: str | None = None
    options: list[str]
    multiple: bool = False
    defaults: list[str] | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    assigned_users: list[HitlUser] = Field(default_factory=list)
    created_at: AwareDatetime = None
    response_received: bool = False
    responded_at: AwareDatetime = None
    responded_by: HitlUser | None = None
    chosen_options: list[str] | None = None
    params_input: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _flatten(cls, data: Any) -> Any:
        """Airflow nests the task instance (``task_instance``) and names the responder
        ``responded_by_user``: one flat shape here."""
        if not isinstance(data, dict):
            return data
        data = dict(data)
        ti = data.pop("task_instance", None)
        if isinstance(ti, dict):
            data.setdefault("dag_id", ti.get("dag_id"))
            data.setdefault("dag_run_id", ti.get("dag_run_id") or ti.get("run_id"))
            data.setdefault("task_id", ti.get("task_id"))
            data.setdefault("map_index", ti.get("map_index", -1))
            data.setdefault("try_number", ti.get("try_number"))
            data.setdefault("task_state", ti.get("state"))
        if data.get("responded_by") is None:
            data["responded_by"] = data.get("responded_by_user")
        data["params"] = data.get("params") or {}
        data["params_input"] = data.get("params_input") or {}
        data["assigned_users"] = data.get("assigned_users") or []
        return data

    @property
    def pending(self) -> bool:
        """True while nobody has answered the request."""
        return not self.response_received

    @property
    def param_defaults(self) -> dict[str, Any]:
        """Each param's default value, by name."""
        return {
            name: spec.get("value") if isinstance(spec, dict) else spec for name, spec in self.params.items()
        }

    def describe(self) -> str:
        """``task 'approve' (map index 2) in DAG run 'r' of DAG 'd'``: which task asks, for messages."""
        return task_text(self.dag_id, self.dag_run_id, self.task_id, self.map_index)


def task_text(dag_id: str, dag_run_id: str, task_id: str, map_index: int) -> str:
    """``task 'approve' (map index 2) in DAG run 'r' of DAG 'd'`` (no map index when -1)."""
    mapped = f" (map index {map_index})" if map_index >= 0 else ""
    return f"task {task_id!r}{mapped} in DAG run {dag_run_id!r} of DAG {dag_id!r}"


class HitlResponse(_Model):
    """The answer Airflow recorded for a request (what :meth:`respond` returns)."""

    chosen_options: list[str]
    params_input: dict[str, Any] = Field(default_factory=dict)
    responded_at: AwareDatetime = None
    responded_by: HitlUser | None = None


def awaits_a_person(run_state: DagRunState | str | None, task_states: Iterable[object]) -> bool:
    """Whether a run may be waiting for a person: it is running and one of its task instances is
    ``awaiting_input`` (Airflow 3.3+) or ``deferred`` (a human-in-the-loop task before 3.3).

    A display asks Airflow for the run's pending requests only then.
    """
    return str(run_state) == DagRunState.RUNNING.value and any(
        str(state) in WAITING_TASK_STATES for state in task_states if state is not None
    )
