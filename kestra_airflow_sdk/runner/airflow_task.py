"""Run ``TriggerDagRun`` with the SDK's async Airflow client (Airflow 2 ``/api/v1`` or 3 ``/api/v2``).

Differences from Kestra's plugin, on purpose: a ``failed`` DAG run fails the task; a transient 5xx
or connection error while triggering or polling is retried; ``headers`` are sent; a trailing ``/``
in ``baseUrl`` is harmless; reaching ``maxDuration`` fails the task with a clear message (and, with
``cancel_airflow_runs``, marks the Airflow run failed); the run id is chosen by the SDK (unless
``body.dag_run_id`` is given), which makes a retried trigger safe.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime
from typing import Any, TypeVar

import httpx
from pydantic import SecretStr

from ..airflow.errors import AirflowConnectionError, AirflowError, ApiError, WaitTimeoutError
from ..airflow.hitl_models import HitlRequest
from ..airflow.models import DagRun, TaskInstance
from ..airflow.operations.hitl import waiting_request
from ..flows.durations import parse_duration
from ..flows.errors import FlowValidationError
from ..flows.options import BasicAuthOption, BearerAuthOption, HttpOptions
from ..flows.secrets import MASK, mask_like, reveal
from ..flows.trigger import TriggerDagRun
from ..transport.effects import Op
from ..transport.retry import DEFAULT_RETRY, RetryPolicy, is_transient
from .executors import TaskContext, TaskFailedError
from .retry import http_retry_policy

__all__ = ["BODY_KEYS", "run_trigger_dag_run", "task_instance_rows"]

T = TypeVar("T")

#: keys of the trigger body the SDK sends (the same on Airflow 2 and 3)
BODY_KEYS = ("conf", "dag_run_id", "logical_date", "note")


def _text(value: Any) -> str:
    return value.get_secret_value() if isinstance(value, SecretStr) else str(value)


def _credentials(options: dict[str, Any] | None) -> dict[str, Any]:
    """Client keyword arguments from rendered options (current ``auth`` or legacy flat fields)."""
    if not options:
        return {}
    auth = options.get("auth") or {}
    kind = str(auth.get("type", "")).upper()
    if kind == "BEARER" and auth.get("token") is not None:
        return {"token": auth["token"]}
    user, password = auth.get("username"), auth.get("password")
    if kind != "BASIC":
        user, password = options.get("basic_auth_user"), options.get("basic_auth_password")
    if user is None and password is None:
        return {}
    return {"username": _text(user) if user is not None else None, "password": password}


def _timeout(options: dict[str, Any] | None) -> httpx.Timeout:
    timeout = (options or {}).get("timeout") or {}
    connect = timeout.get("connect_timeout") or (options or {}).get("connect_timeout")
    read = timeout.get("read_idle_timeout") or (options or {}).get("read_timeout")
    return httpx.Timeout(
        30.0,
        connect=parse_duration(_text(connect)).total_seconds() if connect else 30.0,
        read=parse_duration(_text(read)).total_seconds() if read else 300.0,
    )


def _rendered_options(task: TriggerDagRun, ctx: TaskContext) -> dict[str, Any] | None:
    options: HttpOptions | None = task.options
    if options is None:
        return None
    values: dict[str, Any] = {}
    auth = options.auth
    if isinstance(auth, BasicAuthOption):
        values["auth"] = {
            "type": "BASIC",
            "username": ctx.renderer.render(auth.username, "options.auth.username")
            if auth.username
            else None,
            "password": ctx.renderer.render(auth.password, "options.auth.password")
            if auth.password
            else None,
        }
    elif isinstance(auth, BearerAuthOption):
        token = ctx.renderer.render(auth.token, "options.auth.token") if auth.token else None
        values["auth"] = {"type": "BEARER", "token": token}
    for name, where in (("basic_auth_user", "basicAuthUser"), ("basic_auth_password", "basicAuthPassword")):
        value = getattr(options, name)
        if value is not None:
            values[name] = ctx.renderer.render(value, f"options.{where}")
    values["connect_timeout"], values["read_timeout"] = options.connect_timeout, options.read_timeout
    if options.timeout is not None:
        values["timeout"] = options.timeout.model_dump()
    return values


def _trigger_arguments(body: dict[str, Any] | None, default_run_id: str) -> dict[str, Any]:
    body = dict(body or {})
    unknown = sorted(set(body) - set(BODY_KEYS))
    if unknown:
        raise FlowValidationError(
            f"body: unsupported key(s) {', '.join(unknown)}; the trigger body may hold {', '.join(BODY_KEYS)}"
        )
    conf = body.get("conf")
    if conf is not None and not isinstance(conf, dict):
        raise FlowValidationError(
            f"body.conf: expected a mapping (the DAG run's conf), got {type(conf).__name__}"
        )
    logical_date = body.get("logical_date")
    if isinstance(logical_date, str) and logical_date:
        try:
            logical_date = datetime.fromisoformat(logical_date.replace("Z", "+00:00"))
        except ValueError:
            raise FlowValidationError(
                f"body.logical_date: expected an ISO-8601 date-time with a time zone, got {logical_date!r}"
            ) from None
    return {
        "conf": reveal(conf),
        "dag_run_id": _text(body.get("dag_run_id") or default_run_id),
        "logical_date": logical_date or None,
        "note": _text(body["note"]) if body.get("note") is not None else None,
    }


def task_instance_rows(task_instances: list[TaskInstance]) -> list[dict[str, Any]]:
    """DataFrame-ready rows (``pd.DataFrame(rows)``) of a DAG run's task instances."""
    return [
        {
            "task_id": ti.task_id,
            "map_index": ti.map_index,
            "state": None if ti.state is None else str(ti.state),
            "try_number": ti.try_number,
            "operator": ti.operator,
            "start_date": ti.start_date,
            "end_date": ti.end_date,
            "duration": None if ti.duration is None else ti.duration.total_seconds(),
        }
        for ti in task_instances
    ]


def _secret_texts(value: Any) -> list[str]:
    """The text of every :class:`SecretStr` inside ``value`` (longest first)."""
    if isinstance(value, SecretStr):
        return [value.get_secret_value()]
    items = value.values() if isinstance(value, dict) else value if isinstance(value, list) else []
    return sorted((t for item in items for t in _secret_texts(item)), key=len, reverse=True)


async def run_trigger_dag_run(task: TriggerDagRun, ctx: TaskContext) -> None:
    """Trigger the DAG run; with ``wait``, follow it and fail the task unless it succeeds.

    The Airflow client takes plain text, and its messages may quote what it was given (a user name,
    a DAG id); values that came from secrets are masked in those messages before they go further.
    """
    render = ctx.renderer.render
    rendered = {
        "base_url": render(task.base_url, "baseUrl"),
        "dag_id": render(task.dag_id, "dagId"),
        "body": render(task.body, "body") if task.body is not None else None,
        "headers": render(task.headers or {}, "headers"),
        "options": _rendered_options(task, ctx),
    }
    try:
        await _trigger_and_follow(task, ctx, rendered)
    except AirflowError as exc:
        message = str(exc) + (_retry_hint(task) if is_transient(exc) else "")
        for text in _secret_texts(rendered):
            message = message.replace(text, MASK) if text else message
        raise TaskFailedError(message) from None


def _retry_policy(task: TriggerDagRun) -> RetryPolicy:
    """How the task's HTTP requests are retried: ``options.retry``, else the client's default."""
    retry = task.options.retry if task.options is not None else None
    return DEFAULT_RETRY if retry is None else http_retry_policy(retry)


def _retry_hint(task: TriggerDagRun) -> str:
    """After a transient error: how many attempts the retry policy allows, and where it is set."""
    attempts = _retry_policy(task).max_attempts
    if task.options is not None and task.options.retry is not None:
        return f" [transient error; options.retry allows up to {attempts} attempt(s) per request to Airflow]"
    return (
        f" [transient error; requests to Airflow are tried up to {attempts} times by default, "
        "options.retry sets how]"
    )


async def _trigger_and_follow(task: TriggerDagRun, ctx: TaskContext, rendered: dict[str, Any]) -> None:
    dag_id, body, options = rendered["dag_id"], rendered["body"], rendered["options"]
    headers = {k: _text(v) for k, v in rendered["headers"].items()}
    # inside a ForEach one task runs once per value: its task run id keeps the run ids apart
    which = f"{task.id}__{ctx.task_run.id}" if ctx.task_run.iteration else task.id
    run_id = f"kestra__{ctx.execution.id}__{which}__{ctx.task_run.attempt}"
    arguments = _trigger_arguments(body, run_id)
    outputs = ctx.task_run.outputs
    sent_conf = (body or {}).get("conf")
    client = ctx.clients.get(
        _text(rendered["base_url"]),
        headers=headers or None,
        timeout=_timeout(options),
        retry=_retry_policy(task),
        **_credentials(options),
    )

    def masked(run: DagRun) -> DagRun:
        return run.model_copy(update={"conf": mask_like(sent_conf, run.conf)})

    def report(run: DagRun, task_instances: list[TaskInstance] | None) -> None:
        ctx.events.dag_run_polled(ctx.execution, ctx.task_run, masked(run), task_instances)
        outputs["state"] = str(run.state)

    asked: list[HitlRequest | None] = [None]  # the request the run waits on, as last said

    def polled(run: DagRun, task_instances: list[TaskInstance] | None) -> Op[None]:
        """Each poll: the report, and when the run starts (or stops) waiting for a person (seen
        when the poll read the task instances, as it does for a progress display), a log line
        and the observers' ``dag_run_waiting`` before that report."""
        request = yield from waiting_request(client, run, task_instances)
        if request != asked[0]:
            asked[0] = request
            if request is not None:
                ctx.log(
                    "INFO",
                    f"DAG run {run.dag_run_id} of DAG {run.dag_id}: waiting for a person: {request.subject}",
                )
            ctx.events.dag_run_waiting(ctx.execution, ctx.task_run, masked(run), request)
        report(run, task_instances)

    # the client retries and settles an ambiguous trigger by its run id: exactly one DAG run
    run = await client.trigger_dag_run(_text(dag_id), **arguments)
    outputs.update({"dagId": dag_id, "dagRunId": run.dag_run_id, "state": str(run.state)})
    report(run, None)
    if not task.wait:
        return
    try:
        run = await client.wait_for_dag_run(
            run.dag_id,
            run.dag_run_id,
            poll_frequency=parse_duration(task.poll_frequency).total_seconds(),
            timeout=parse_duration(task.max_duration).total_seconds(),
            on_poll=polled,
            task_instances=ctx.events.wants_task_instances,
        )
    except (asyncio.CancelledError, WaitTimeoutError) as exc:
        if ctx.cancel_airflow_runs:
            with contextlib.suppress(ApiError, AirflowConnectionError):
                await asyncio.shield(client.set_dag_run_state(run.dag_id, run.dag_run_id, "failed"))
        if isinstance(exc, WaitTimeoutError):
            raise TaskFailedError(
                f"DAG run {run.dag_run_id!r} of DAG {run.dag_id!r} did not finish within maxDuration "
                f"{task.max_duration} (last state: {exc.last_state or 'unknown'}); "
                + (
                    "it was marked failed in Airflow"
                    if ctx.cancel_airflow_runs
                    else "it is still going on in Airflow (run with cancel_airflow_runs=True to stop it)"
                )
            ) from None
        raise
    tis = await client.list_task_instances(run.dag_id, run.dag_run_id)
    outputs.update(
        {
            "state": str(run.state),
            "started": run.start_date,
            "ended": run.end_date,
            "taskInstances": task_instance_rows(tis),
        }
    )
    if str(run.state) != "success":
        failed = [
            ti.task_id
            for ti in tis
            if ti.state is not None and ti.state.is_final and str(ti.state) != "success"
        ]
        detail = f" (task instances not successful: {', '.join(failed)})" if failed else ""
        raise TaskFailedError(
            f"DAG run {run.dag_run_id!r} of DAG {run.dag_id!r} ended {run.state} in Airflow{detail}"
        )
