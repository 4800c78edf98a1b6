"""Step 1 on Airflow 3: a Kestra 2.0 subflow that triggers a DAG run over Airflow 3's REST API
with core tasks only, and the call to it each generated flow makes.

Kestra's own Airflow plugin (``io.kestra.plugin.airflow.dags.TriggerDagRun``) builds its URLs from
``%s/api/v1/dags/%s/dagRuns`` (``AirflowConnection.java`` in kestra-io/plugin-airflow) and knows basic
auth only, so it cannot reach Airflow 3 (``/api/v2``, a JWT from ``POST /auth/token``). The subflow
:func:`trigger_subflow` writes does what the plugin does, with ``io.kestra.plugin.core.http.Request``:

1. ``token``: ``POST /auth/token`` with the credentials of ``secret('AIRFLOW_USERNAME')`` /
   ``secret('AIRFLOW_PASSWORD')`` (or a static token from ``secret('AIRFLOW_TOKEN')``: no login);
2. ``trigger``: ``POST /api/v2/dags/{dag_id}/dagRuns`` with ``dag_run_id``, ``logical_date: null``
   and ``conf``. The caller derives the run id from its execution and task, so a retried trigger
   (Airflow answers 409: the run exists) follows the run the first try started instead of a second;
3. ``wait_for_run`` (when ``wait``): ``LoopUntil`` polls ``GET …/dagRuns/{dag_run_id}`` every
   ``poll_seconds`` until the run is ``success`` or ``failed``, or ``max_seconds`` have passed since
   the subflow started;
4. ``failed`` / ``timed_out``: a ``Fail`` task when the run failed or did not finish in time.

Its flow outputs are TriggerDagRun's: ``dagId``, ``dagRunId``, ``state``, ``started``, ``ended``.
Deploy it once per namespace (``write_flows`` writes it beside the flows that call it).
"""

from __future__ import annotations

from typing import Any, Literal

from ..airflow.errors import InvalidArgumentError
from ..flows.flow import Flow
from ..flows.tasks.flowable import Subflow
from ..flows.yaml_io import dump_document

__all__ = ["SUBFLOW_ID", "subflow_call", "trigger_subflow"]

#: the id of the subflow every generated Airflow 3 flow calls
SUBFLOW_ID = "airflow3_trigger_dag_run"
_FINAL = "['success', 'failed']"
_RUN = "(outputs.poll.body | fromJson)"
_TRIGGERED = "(outputs.trigger.body | fromJson)"


def _auth_header(auth: str) -> str:
    if auth == "basic":
        return "Bearer {{ (outputs.token.body | fromJson).access_token }}"
    return "Bearer {{ secret('%s') }}"


def trigger_subflow(
    namespace: str,
    *,
    auth: Literal["basic", "bearer"] = "basic",
    username_secret: str = "AIRFLOW_USERNAME",
    password_secret: str = "AIRFLOW_PASSWORD",
    token_secret: str = "AIRFLOW_TOKEN",
) -> Flow:
    """The ``airflow3_trigger_dag_run`` subflow of ``namespace`` (a Kestra 2.0 flow of core tasks).

    Args:
        namespace: the namespace of the subflow and of the flows that call it.
        auth: ``"basic"``: log in with the username/password secrets; ``"bearer"``: send the token
            secret as it is (managed Airflow services).
        username_secret / password_secret / token_secret: the names of the Kestra secrets.
    """
    if auth not in ("basic", "bearer"):
        raise InvalidArgumentError(f"auth: expected 'basic' or 'bearer', got {auth!r}")
    header = {"Authorization": _auth_header(auth).replace("%s", token_secret)}
    api = "{{ inputs.base_url }}/api/v2/dags/{{ inputs.dag_id }}/dagRuns"
    tasks: list[dict[str, Any]] = []
    if auth == "basic":
        credentials = f"{{'username': secret('{username_secret}'), 'password': secret('{password_secret}')}}"
        tasks.append(
            {
                "id": "token",
                "type": "io.kestra.plugin.core.http.Request",
                "description": "Log in to Airflow 3: a JWT for the requests below",
                "uri": "{{ inputs.base_url }}/auth/token",
                "method": "POST",
                "contentType": "application/json",
                "body": "{{ " + credentials + " | toJson }}",
            }
        )
    tasks += [
        {
            "id": "trigger",
            "type": "io.kestra.plugin.core.http.Request",
            "description": "Start the DAG run; 409: a retry of this trigger, the run exists already",
            "uri": api,
            "method": "POST",
            "contentType": "application/json",
            "headers": dict(header),
            "body": "{{ {'dag_run_id': inputs.dag_run_id, 'logical_date': null, 'conf': inputs.conf} | toJson }}",
            "options": {"allowedResponseCodes": [200, 409]},
        },
        {
            "id": "wait_for_run",
            "type": "io.kestra.plugin.core.flow.If",
            "condition": "{{ inputs.wait }}",
            "then": [
                {
                    "id": "poll_until_done",
                    "type": "io.kestra.plugin.core.flow.LoopUntil",
                    "condition": (
                        f"{{{{ {_RUN}.state in {_FINAL} or "
                        "(now() | timestamp) > (execution.startDate | dateAdd(inputs.max_seconds, 'SECONDS') "
                        "| timestamp) }}"
                    ),
                    "checkFrequency": {"interval": "PT0S", "maxIterations": 1000000, "maxDuration": "P366D"},
                    "tasks": [
                        {
                            "id": "poll",
                            "type": "io.kestra.plugin.core.http.Request",
                            "uri": api + "/{{ inputs.dag_run_id }}",
                            "headers": dict(header),
                        },
                        {
                            "id": "pause",
                            "type": "io.kestra.plugin.core.flow.If",
                            "condition": f"{{{{ {_RUN}.state not in {_FINAL} }}}}",
                            "then": [
                                {
                                    "id": "sleep",
                                    "type": "io.kestra.plugin.core.flow.Sleep",
                                    "duration": "PT{{ inputs.poll_seconds }}S",
                                }
                            ],
                        },
                    ],
                },
                {
                    "id": "failed",
                    "type": "io.kestra.plugin.core.flow.If",
                    "condition": f"{{{{ {_RUN}.state == 'failed' }}}}",
                    "then": [
                        {
                            "id": "dag_run_failed",
                            "type": "io.kestra.plugin.core.execution.Fail",
                            "errorMessage": (
                                "Airflow DAG run {{ inputs.dag_id }}/{{ inputs.dag_run_id }} ended failed"
                            ),
                        }
                    ],
                },
                {
                    "id": "timed_out",
                    "type": "io.kestra.plugin.core.flow.If",
                    "condition": f"{{{{ {_RUN}.state not in {_FINAL} }}}}",
                    "then": [
                        {
                            "id": "max_duration_reached",
                            "type": "io.kestra.plugin.core.execution.Fail",
                            "errorMessage": (
                                "Airflow DAG run {{ inputs.dag_id }}/{{ inputs.dag_run_id }} did not finish "
                                "within {{ inputs.max_seconds }} s (state {{ " + _RUN + ".state }})"
                            ),
                        }
                    ],
                },
            ],
        },
    ]
    last = f"(outputs.poll is defined ? {_RUN} : {_TRIGGERED})"
    document = {
        "id": SUBFLOW_ID,
        "namespace": namespace,
        "description": (
            "Trigger an Airflow 3 DAG run over its REST API (/api/v2, JWT) and wait for it, with core "
            "tasks only: what io.kestra.plugin.airflow.dags.TriggerDagRun does for Airflow 2. "
            "Generated by kestra-airflow-sdk; the flows of this namespace that trigger DAGs call it."
        ),
        "inputs": [
            {"id": "base_url", "type": "STRING", "description": "Airflow's URL, as Kestra reaches it"},
            {"id": "dag_id", "type": "STRING"},
            {
                "id": "dag_run_id",
                "type": "STRING",
                "description": "the run's id: derived from the calling execution, so a retry finds its run",
            },
            {"id": "conf", "type": "JSON", "required": False, "description": "the DAG run's conf"},
            {"id": "wait", "type": "BOOL", "defaults": True},
            {"id": "poll_seconds", "type": "INT", "defaults": 30},
            {"id": "max_seconds", "type": "INT", "defaults": 86400},
        ],
        "tasks": tasks,
        "outputs": [
            {"id": "dagId", "type": "STRING", "value": "{{ inputs.dag_id }}"},
            {"id": "dagRunId", "type": "STRING", "value": "{{ inputs.dag_run_id }}"},
            {"id": "state", "type": "STRING", "value": "{{ " + last + ".state }}"},
            {"id": "started", "type": "STRING", "value": "{{ " + last + ".start_date ?? '' }}"},
            {"id": "ended", "type": "STRING", "value": "{{ " + last + ".end_date ?? '' }}"},
        ],
    }
    return Flow.from_yaml(dump_document(document), kestra="2.0")


def subflow_call(
    task_id: str,
    namespace: str,
    *,
    base_url: str,
    dag_id: str,
    conf: dict[str, Any],
    poll_seconds: int,
    max_seconds: int,
) -> Subflow:
    """The task of a generated flow that runs the namespace's ``airflow3_trigger_dag_run`` for
    ``dag_id`` (the run id: ``kestra_<execution id>_<task id>``, the same on every retry)."""
    return Subflow(
        id=task_id,
        description=f"Trigger Airflow DAG {dag_id} (Airflow 3) and wait for its run",
        namespace=namespace,
        flow_id=SUBFLOW_ID,
        inputs={
            "base_url": base_url,
            "dag_id": dag_id,
            "dag_run_id": "kestra_{{ execution.id }}_{{ task.id }}",
            "conf": conf,
            "wait": True,
            "poll_seconds": poll_seconds,
            "max_seconds": max_seconds,
        },
        wait=True,
        transmit_failed=True,
    )
