"""Deploying the step-1 migration flows of an Airflow 3 server to Kestra 2.0, checked against the
Kestra OpenAPI spec on the Prism mock (``--errors``: a request the spec does not allow is answered
4xx with its violations).

What the mock checks is the HTTP contract (path, method, content type, credentials, a body where one
is required); the spec types the flow source as a YAML *string*, so the tests also validate what the
YAML holds against the spec's models that constrain a flow source: every task against ``Task`` (id
and type present, their patterns), the flow's id and namespace against ``AbstractFlow``, its inputs
and outputs against ``Input_Object_`` / ``Output``. Negative cases show each check can fail.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Iterator
from functools import cache
from typing import Any

import httpx
import jsonschema
import pytest
import yaml
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

from kestra_airflow_sdk import AsyncKestraServer, Flow, KestraServer
from kestra_airflow_sdk.kestra import DeployedFlow, KestraApiError
from kestra_airflow_sdk.migration.airflow3 import SUBFLOW_ID
from tests.kestra.conftest import SPEC
from tests.kestra.test_contract import Recording, RecordingAsync
from tests.migration.test_airflow3_trigger import _generate

AUTH = ("admin@kestra.io", "Admin1234")
YAML = {"Content-Type": "application/x-yaml"}


@pytest.fixture(scope="module")
def step1() -> list[Flow]:
    """The subflow and the DAG's flow, as ``flows_for_dags`` writes them for an Airflow 3 server."""
    generated = _generate("v2")
    flows = list(generated)
    assert [f.id for f in flows] == [SUBFLOW_ID, "etl"]
    return flows


@cache
def _spec() -> dict[str, Any]:
    spec: dict[str, Any] = yaml.safe_load(SPEC.read_text())
    return spec


@cache
def _validator(schema: str) -> jsonschema.Draft7Validator:
    registry: Registry[Any] = Registry().with_resource(
        "urn:kestra", Resource.from_contents(_spec(), default_specification=DRAFT7)
    )
    return jsonschema.Draft7Validator({"$ref": f"urn:kestra#/components/schemas/{schema}"}, registry=registry)


def _tasks(node: Any) -> Iterator[dict[str, Any]]:
    """Every task of a flow source, nested ones too (``tasks``, ``then``, ``cases``, ``finally``, ...)."""
    if isinstance(node, dict):
        if isinstance(node.get("type"), str) and "id" in node:
            yield node
        for value in node.values():
            yield from _tasks(value)
    elif isinstance(node, list):
        for value in node:
            yield from _tasks(value)


def _violations(source: dict[str, Any]) -> list[str]:
    """What the spec's models say is wrong with one flow source (empty: nothing)."""
    found: list[str] = []
    flow_properties = _spec()["components"]["schemas"]["AbstractFlow"]["properties"]
    for key in ("id", "namespace"):
        if key not in source:
            found.append(f"{key}: missing")
            continue
        checker = jsonschema.Draft7Validator(flow_properties[key])
        found += [f"{key}: {e.message}" for e in checker.iter_errors(source[key])]
    for section in ("tasks", "errors", "finally"):
        for task in _tasks(source.get(section)):
            found += [f"task {task.get('id')!r}: {e.message}" for e in _validator("Task").iter_errors(task)]
    if not source.get("tasks"):
        found.append("tasks: missing or empty")
    for item in source.get("inputs") or ():
        # the spec types `defaults` as Property<Object> (an object or a string), which is how Kestra
        # serializes it, not what its YAML reader takes (any value): id and type are checked
        shape = {k: v for k, v in item.items() if k != "defaults"}
        found += [
            f"input {item.get('id')!r}: {e.message}" for e in _validator("Input_Object_").iter_errors(shape)
        ]
    for item in source.get("outputs") or ():
        found += [f"output {item.get('id')!r}: {e.message}" for e in _validator("Output").iter_errors(item)]
    return found


def _conformant(exchanges: list[tuple[httpx.Request, httpx.Response]]) -> None:
    assert exchanges
    for request, response in exchanges:
        assert response.status_code < 400, (request.method, request.url, response.text[:500])
        assert "sl-violations" not in response.headers, response.headers["sl-violations"]


def test_the_step1_flows_hold_what_the_spec_models_allow(step1: list[Flow]) -> None:
    for flow in step1:
        source = yaml.safe_load(flow.to_yaml())
        assert _violations(source) == [], flow.id
    subflow = yaml.safe_load(step1[0].to_yaml())
    assert len(list(_tasks(subflow["tasks"]))) >= 4  # login, trigger, the loop and its poll: all checked
    assert {o["id"] for o in subflow["outputs"]} == {"dagId", "dagRunId", "state", "started", "ended"}


def test_the_model_check_can_fail(step1: list[Flow]) -> None:
    """A control: a broken copy of the subflow is refused, naming what is wrong."""
    broken = copy.deepcopy(yaml.safe_load(step1[0].to_yaml()))
    broken["namespace"] = "Company.Airflow"  # upper case: not a namespace
    broken["tasks"][0]["id"] = "_login"  # not a task id: it must start with a letter or digit
    broken["tasks"][1]["type"] = "io.kestra.plugin.core.http.Request()"  # not a class name
    broken["outputs"][0].pop("type")
    problems = "\n".join(_violations(broken))
    assert "namespace: 'Company.Airflow' does not match" in problems
    assert "task '_login': '_login' does not match" in problems
    assert (
        f"task {broken['tasks'][1]['id']!r}: 'io.kestra.plugin.core.http.Request()' does not match"
        in problems
    )
    assert "output 'dagId': 'type' is a required property" in problems


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_deploying_the_subflow_and_a_generated_flow_conforms(
    kind: str, prism_url: str, step1: list[Flow]
) -> None:
    recording = Recording()
    if kind == "sync":
        with KestraServer(
            prism_url, username=AUTH[0], password=AUTH[1], transport=recording, version="2.0"
        ) as s:
            deployed = s.deploy(step1)
    else:

        async def main() -> list[DeployedFlow]:
            async with AsyncKestraServer(
                prism_url,
                username=AUTH[0],
                password=AUTH[1],
                transport=RecordingAsync(recording),
                version="2.0",
            ) as server:
                return await server.deploy(step1)

        deployed = asyncio.run(main())
    _conformant(recording.exchanges)
    assert deployed and all(isinstance(d, DeployedFlow) for d in deployed)
    [(request, _)] = recording.exchanges
    assert (request.method, request.url.path) == ("POST", "/api/v1/main/flows/bulk")
    assert request.url.params["delete"] == "false"
    assert request.headers["content-type"] == "application/x-yaml"
    sent = [Flow.from_yaml(yaml.safe_dump(doc)) for doc in yaml.safe_load_all(request.content.decode())]
    assert sent == step1  # what Kestra receives is the generated flows, unchanged


def test_validating_and_creating_each_flow_conforms(prism_url: str, step1: list[Flow]) -> None:
    """``POST /flows/validate`` through the SDK, and ``POST /api/v1/{tenant}/flows`` (createFlow,
    one YAML source per request, as Kestra's UI and CLI deploy) with each flow."""
    recording = Recording()
    with KestraServer(prism_url, username=AUTH[0], password=AUTH[1], transport=recording, version="2.0") as s:
        verdicts = s.validate(step1)
    assert len(verdicts) >= 1
    with httpx.Client(transport=recording, auth=AUTH) as http:
        for flow in step1:
            http.post(f"{prism_url}/api/v1/main/flows", content=flow.to_yaml().encode(), headers=YAML)
    _conformant(recording.exchanges)
    assert [r.url.path for r, _ in recording.exchanges] == [
        "/api/v1/main/flows/validate",
        "/api/v1/main/flows",
        "/api/v1/main/flows",
    ]


def test_the_mock_refuses_a_deployment_the_spec_does_not_allow(prism_url: str, step1: list[Flow]) -> None:
    """Controls: the same flow as JSON, no body, no credentials, each refused."""
    body = step1[0].to_yaml().encode()
    url = f"{prism_url}/api/v1/main/flows"
    as_json = httpx.post(url, json=yaml.safe_load(body), auth=AUTH)
    assert as_json.status_code == 415
    assert "application/x-yaml" in as_json.json()["detail"]
    no_body = httpx.post(url, headers=YAML, auth=AUTH)
    assert no_body.status_code == 422
    assert "Body parameter is required" in no_body.text
    anonymous = httpx.post(url, content=body, headers=YAML)
    assert anonymous.status_code == 401


def test_a_refused_deployment_is_a_kestra_api_error(prism_url: str, step1: list[Flow]) -> None:
    """Without credentials the SDK's deploy is refused by the mock and says so, naming the action."""
    with KestraServer(prism_url, version="2.0") as server, pytest.raises(KestraApiError) as caught:
        server.deploy(step1)
    assert (caught.value.status, caught.value.path) == (401, "/api/v1/main/flows/bulk")
    assert "Deploying 2 flow(s)" in str(caught.value)
