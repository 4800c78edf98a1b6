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
   ``poll_frequency`` until the run is ``success`` or ``failed``; at ``max_duration`` it fails
   (``failOnMaxReached``);
4. ``failed``: a ``Fail`` task when the run failed.

Its flow outputs are TriggerDagRun's: ``dagId``, ``dagRunId``, ``state``, ``started``, ``ended``.
Deploy it once per namespace (``write_flows`` writes it beside the flows that call it); its polling
frequency and longest wait are those ``flows_for_dags`` was given.
"""

from __future__ import annotations

import math
from typing import Any, Literal

from ..airflow.errors import InvalidArgumentError
from ..flows.durations import parse_duration
from ..flows.flow import Flow
from ..flows.tasks.flowable import Subflow
from ..flows.yaml_io import dump_document

__all__ = ["SUBFLOW_ID", "subflow_call", "trigger_subflow"]

#: the id of the subflow every generated Airflow 3 flow calls
SUBFLOW_ID = "airflow3_trigger_dag_run"
_FINAL = "['success', 'failed']"
_RUN = "fromJson(outputs.poll.body)"
_TRIGGERED = "fromJson(outputs.trigger.body)"


def _auth_header(auth: str) -> str:
    if auth == "basic":
        return "Bearer {{ fromJson(outputs.token.body).access_token }}"
    return "Bearer {{ secret('%s') }}"


def trigger_subflow(
    namespace: str,
    *,
    auth: Literal["basic", "bearer"] = "basic",
    username_secret: str = "AIRFLOW_USERNAME",
    password_secret: str = "AIRFLOW_PASSWORD",
    token_secret: str = "AIRFLOW_TOKEN",
    poll_frequency: str = "PT30S",
    max_duration: str = "PT24H",
) -> Flow:
    """The ``airflow3_trigger_dag_run`` subflow of ``namespace`` (a Kestra 2.0 flow of core tasks).

    Args:
        namespace: the namespace of the subflow and of the flows that call it.
        auth: ``"basic"``: log in with the username/password secrets; ``"bearer"``: send the token
            secret as it is (managed Airflow services).
        username_secret / password_secret / token_secret: the names of the Kestra secrets.
        poll_frequency: how often the run is read while it runs (ISO-8601, TriggerDagRun's
            ``pollFrequency``; the LoopUntil's ``checkFrequency.interval``).
        max_duration: how long to wait for the run before failing (TriggerDagRun's ``maxDuration``;
            the LoopUntil's ``checkFrequency.maxDuration``, with ``failOnMaxReached``).
    """
    if auth not in ("basic", "bearer"):
        raise InvalidArgumentError(f"auth: expected 'basic' or 'bearer', got {auth!r}")
    poll, longest = parse_duration(poll_frequency), parse_duration(max_duration)
    iterations = math.ceil(longest / poll) + 1 if poll.total_seconds() > 0 else 1_000_000
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
                    "description": "Read the run every pollFrequency until it ends; fail at maxDuration",
                    "condition": f"{{{{ {_FINAL} contains {_RUN}.state }}}}",
                    "checkFrequency": {
                        "interval": poll_frequency,
                        "maxDuration": max_duration,
                        "maxIterations": iterations,
                    },
                    "failOnMaxReached": True,
                    "tasks": [
                        {
                            "id": "poll",
                            "type": "io.kestra.plugin.core.http.Request",
                            "uri": api + "/{{ inputs.dag_run_id }}",
                            "headers": dict(header),
                        }
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
        ],
        "tasks": tasks,
        "outputs": [
            {"id": "dagId", "type": "STRING", "value": "{{ inputs.dag_id }}"},
            {"id": "dagRunId", "type": "STRING", "value": "{{ inputs.dag_run_id }}"},
            {"id": "state", "type": "STRING", "value": "{{ " + last + ".state ?? '' }}"},
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
        },
        wait=True,
        transmit_failed=True,
    )
