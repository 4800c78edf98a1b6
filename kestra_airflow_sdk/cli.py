"""``kestra-airflow``: run or validate a Kestra flow file from the command line.

    kestra-airflow run FLOW.yaml [--secret NAME=VALUE ...] [--input KEY=VALUE ...] [--cancel-airflow-runs]
    kestra-airflow validate FLOW.yaml [--upgrade]

``run`` prints progress to stderr and the outputs (YAML) to stdout; it exits 0 for SUCCESS or
WARNING, 1 for FAILED, 2 for a flow or input error, 130 when interrupted (execution KILLED).
``validate`` checks Kestra's rules, says which tasks could not run locally, and with ``--upgrade``
prints the document with legacy options rewritten for Kestra 2.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from typing import Any

import yaml

from .flows.errors import FlowError
from .flows.flow import Flow
from .flows.registry import supported_types
from .flows.yaml_io import dump_document
from .runner.execution import Execution, State
from .runner.observer import TextReporter
from .runner.support import local_problems

__all__ = ["main"]


def _pairs(values: Sequence[str], option: str) -> dict[str, str]:
    pairs = {}
    for value in values:
        name, sep, text = value.partition("=")
        if not sep or not name:
            raise SystemExit(f"kestra-airflow: {option} expects NAME=VALUE, got {value.split('=')[0]!r}...")
        pairs[name] = text
    return pairs


def _printable(value: Any) -> Any:
    """Outputs as plain YAML values (datetimes as ISO text, secrets stay masked)."""
    if isinstance(value, dict):
        return {k: _printable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_printable(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def _err(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _run(args: argparse.Namespace) -> int:
    flow = Flow.from_yaml(args.flow)
    runner = flow.runner(
        _pairs(args.input, "--input"),
        _pairs(args.secret, "--secret"),
        observers=[TextReporter(_err)],
        cancel_airflow_runs=args.cancel_airflow_runs,
    )
    try:
        execution: Execution = asyncio.run(runner.run())
    except KeyboardInterrupt:
        _err(f"interrupted: execution {runner.execution.id if runner.execution else '-'} KILLED")
        return 130
    summary = {
        "execution": execution.id,
        "state": execution.state.value,
        "outputs": _printable(execution.outputs),
    }
    sys.stdout.write(yaml.safe_dump(summary, sort_keys=False, allow_unicode=True))
    return 1 if execution.state in (State.FAILED, State.KILLED) else 0


def _validate(args: argparse.Namespace) -> int:
    flow = Flow.from_yaml(args.flow, upgrade=args.upgrade)
    flow.validate_flow()
    tasks = list(flow.walk())
    print(f"{args.flow}: valid flow {flow.namespace}.{flow.id} with {len(tasks)} task(s)")
    for task in flow.unsupported_tasks():
        print(
            f"  note: task {task.id!r} has type {task.type}, which Kestra may know but this SDK cannot run "
            f"locally (supported: {', '.join(supported_types())})"
        )
    for problem in local_problems(flow):
        print(f"  note: cannot run locally as Kestra would: {problem}")
    if args.upgrade:
        sys.stdout.write(dump_document(flow.to_dict()))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``kestra-airflow`` command."""
    parser = argparse.ArgumentParser(
        prog="kestra-airflow", description="Run or validate Kestra flows that orchestrate Airflow DAGs."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run a flow file locally and print its outputs")
    run.add_argument("flow", help="a Kestra flow YAML file")
    run.add_argument(
        "--secret", action="append", default=[], metavar="NAME=VALUE", help="a secret('NAME') value"
    )
    run.add_argument("--input", action="append", default=[], metavar="KEY=VALUE", help="a flow input")
    run.add_argument(
        "--cancel-airflow-runs",
        action="store_true",
        help="mark Airflow runs failed when the execution is interrupted or a wait times out",
    )
    run.set_defaults(handler=_run)
    validate = commands.add_parser("validate", help="check a flow file against Kestra's rules")
    validate.add_argument("flow", help="a Kestra flow YAML file")
    validate.add_argument(
        "--upgrade", action="store_true", help="print the flow with legacy options rewritten for Kestra 2"
    )
    validate.set_defaults(handler=_validate)
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args))
    except FlowError as exc:
        _err(f"kestra-airflow: {exc}")
        return 2


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
