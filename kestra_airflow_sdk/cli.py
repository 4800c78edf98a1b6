"""``kestra-airflow``: run or validate a Kestra flow file from the command line.

    kestra-airflow run FLOW.yaml [--secret NAME ...] [--secrets-file FILE] [--input KEY=VALUE ...]
                                 [--cancel-airflow-runs]
    kestra-airflow validate FLOW.yaml [--upgrade] [--strict] [--kestra 1.3|2.0]
    kestra-airflow upgrade FILE|DIR [-o DIR] [--check-equivalence [--stand-ins]]
    kestra-airflow native DAG_ID --namespace NS [--airflow-url URL] [-o DIR]
    kestra-airflow parity DAG_ID --namespace NS [--airflow-url URL] [--flow FILE] [--conf JSON]
    kestra-airflow --version

``run`` prints progress to stderr (one line per event, each about a task starting with its task
id) and the outputs (YAML) to stdout; it exits 0 for SUCCESS or WARNING, 1 for FAILED, 2 for a
flow, input or secret error, 130 when interrupted (execution KILLED).

Secret values never need to be on the command line (where ``ps`` and the shell history see them):
``--secret NAME`` reads the environment variable ``NAME``, or asks for it without echo when stdin is
a terminal; ``--secrets-file FILE`` reads ``NAME=VALUE`` lines (dotenv format). ``--secret
NAME=VALUE`` still works but prints a warning. Before anything runs, ``run`` checks that every
``secret('NAME')`` the flow names is given (so, or as a ``SECRET_<NAME>`` variable).

``validate`` checks Kestra's rules and task types (a near miss of a Kestra type is an error, naming
the type meant), says which tasks could not run locally (errors with ``--strict``) and which use
legacy options, lists what the flow would do on this machine if it ran (the processes it would start,
the URLs it would call, what it would install, the files it would write: :meth:`Flow.plan`), and with ``--upgrade`` prints the document with legacy options rewritten for Kestra 2.
``--kestra 2.0`` also reports what Kestra 2.0 would reject (``error``, exit 1) and what would break
at run time (``warning``). ``upgrade`` writes Kestra 2.0 flows (to stdout, or under ``-o DIR``) and
lists what it changed and what is left to a person; it exits 1 when something could not be converted.
With ``--check-equivalence`` it also runs each 1.3 flow and its upgrade locally (no inputs; secrets
from ``SECRET_<NAME>`` variables) and exits 1 when they differ or cannot run, saying why
(:func:`kestra_airflow_sdk.migration.equivalence.check_equivalence`); ``--stand-ins`` runs plugin
tasks as stand-ins that log the properties they were given (:mod:`kestra_airflow_sdk.migration.stand_ins`).

``native`` reads a DAG from Airflow and prints (or writes under ``-o DIR``) its native Kestra flow and
the report of each task; it exits 1 when a task could not be translated (the flow is then the
TriggerDagRun fallback). ``parity`` runs the DAG on Airflow and its native flow (``--flow FILE``, or
translated on the fly) locally and prints the comparison; it exits 1 on any difference. Both reach
Airflow at ``--airflow-url`` (or ``$AIRFLOW_URL``) as ``$AIRFLOW_USERNAME`` with the password of
``$AIRFLOW_PASSWORD`` (never on the command line).
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import shlex
import sys
from collections.abc import Sequence
from importlib.metadata import version
from pathlib import Path
from typing import Any

import yaml
from dotenv import dotenv_values

from .airflow.errors import AirflowError
from .flows.base import dump_context
from .flows.dialect import KESTRA_VERSIONS
from .flows.errors import FlowError, UnsupportedTaskError
from .flows.execution import Execution, ExecutionState
from .flows.flow import Flow
from .flows.known_types import TypeFinding, unknown_types
from .flows.options import HttpOptions
from .flows.registry import supported_types
from .flows.secrets import SecretResolver
from .flows.upgrade import check_kestra2, upgrade_text
from .flows.validation import flow_error, secret_names
from .flows.yaml_io import dump_document, load_document
from .runner.engine import FlowRunner
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


class _UsageError(Exception):
    """A command-line mistake: printed as ``kestra-airflow: <message>``, exit status 2."""


#: the legacy (pre-Kestra 2) option fields, by their model name, as a flow document spells them
LEGACY_OPTIONS = {
    "basic_auth_user": "basicAuthUser",
    "basic_auth_password": "basicAuthPassword",
    "connect_timeout": "connectTimeout",
    "read_timeout": "readTimeout",
}


def _secrets_file(secrets_file: str | None) -> dict[str, str]:
    """The ``NAME=VALUE`` lines of ``--secrets-file``."""
    secrets: dict[str, str] = {}
    if secrets_file is None:
        return secrets
    path = Path(secrets_file)
    if not path.is_file():
        raise _UsageError(f"--secrets-file: no such file: {secrets_file}")
    for name, value in dotenv_values(path).items():
        if value is None:
            raise _UsageError(f"--secrets-file {secrets_file}: {name!r} has no value (expected NAME=VALUE)")
        secrets[name] = value
    return secrets


def _secret_options(given: Sequence[str]) -> dict[str, str | None]:
    """The ``--secret`` options: name → the value given as ``NAME=VALUE`` (with a warning), or None
    for a value still to read (:func:`_secret_value`)."""
    secrets: dict[str, str | None] = {}
    for option in given:
        name, sep, value = option.partition("=")
        if not name:
            raise _UsageError(f"--secret expects NAME (or NAME=VALUE), got {option.split('=')[0]!r}...")
        if sep:
            _err(
                f"kestra-airflow: WARNING: --secret {name}=... puts the value of {name} in the process list "
                f"and the shell history; use --secret {name} (read from the environment variable {name}, "
                "or asked for) or --secrets-file FILE"
            )
        secrets[name] = value if sep else None
    return secrets


#: how a secret that is not given can be, from the command line (``{name}`` is its name)
_SECRET_ADVICE = "give it with --secret {name} (or as a line {name}=... of --secrets-file FILE)"


def _check_secrets(flow: Flow, given: Sequence[str], path: str) -> None:
    """Refuse a flow naming a ``secret()`` that is neither ``given`` nor a ``SECRET_<NAME>`` variable."""
    resolver = SecretResolver(dict.fromkeys(given, ""))
    running = flow.model_dump(mode="json", by_alias=True, context=dump_context())  # defaults included
    missing = [name for name in secret_names(running) if not resolver.has(name)]
    if not missing:
        return
    options = " ".join(f"--secret {shlex.quote(name)}" for name in missing)
    exported = [name for name in missing if name in os.environ]
    raise _UsageError(
        f"{path} uses secret(s) not given: {', '.join(missing)}. Give each with --secret NAME (its value "
        "is read from the environment variable NAME, or asked for without echo on a terminal) or as a "
        f"line NAME=VALUE of a file given with --secrets-file FILE, e.g.\n"
        f"  kestra-airflow run {shlex.quote(path)} {options}"
        + (
            f"\n({', '.join(exported)} {'is' if len(exported) == 1 else 'are'} set in this environment "
            "but not passed: --secret NAME passes it)"
            if exported
            else ""
        )
    )


def _secret_value(name: str) -> str:
    """The value of ``--secret NAME``: the environment variable, else a hidden prompt on a terminal."""
    if name in os.environ:
        return os.environ[name]
    if sys.stdin is not None and sys.stdin.isatty():
        return getpass.getpass(f"secret {name}: ")
    raise _UsageError(
        f"--secret {name}: the environment variable {name} is not set and stdin is not a terminal to ask "
        f"for it; export {name}=... before running, or put {name}=... in a file given with --secrets-file"
    )


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
    _check_types(flow, args.flow)
    inputs = _pairs(args.input, "--input")
    FlowRunner(flow, progress=False).check()  # what the runner refuses, before any secret is asked for
    options = _secret_options(args.secret)
    given = {**_secrets_file(args.secrets_file), **{n: v for n, v in options.items() if v is not None}}
    _check_secrets(flow, [*given, *options], args.flow)  # before a value is asked for
    given.update({name: _secret_value(name) for name, value in options.items() if value is None})
    runner = FlowRunner(
        flow,
        inputs=inputs,
        secrets=SecretResolver(given, advice=_SECRET_ADVICE),
        observers=[TextReporter(_err)],
        progress=False,  # the TextReporter's lines are the progress: one style
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
    return 1 if execution.state in (ExecutionState.FAILED, ExecutionState.KILLED) else 0


def _check_types(flow: Flow, path: str) -> list[TypeFinding]:
    """Raise for a task or trigger type that is a near miss of a Kestra type; return the others
    that the SDK's catalogue of Kestra types does not list."""
    findings = unknown_types(flow.to_dict())
    typos = [finding.message() for finding in findings if finding.suggestion is not None]
    if typos:
        raise flow_error(typos, path)
    return findings


def _refusals(flow: Flow) -> list[str]:
    """What ``run`` refuses before running, one line each naming the task: a disabled flow, task
    types the SDK does not run, properties and functions it cannot run as Kestra does."""
    refusals = ["the flow is disabled: Kestra does not execute a disabled flow"] if flow.disabled else []
    unsupported = flow.unsupported_tasks()
    refusals += [f"task {t.id!r} has type {t.type}, which this SDK cannot run locally" for t in unsupported]
    if unsupported:
        refusals.append(f"the task types this SDK runs: {', '.join(supported_types())}")
    return refusals + [f"cannot run locally as Kestra would: {p}" for p in local_problems(flow)]


def _kestra2_notes(path: str) -> int:
    """``validate --kestra 2.0``: Kestra 2.0's verdict on the file, one line per note; 1 on an error."""
    notes = check_kestra2(load_document(Path(path).read_text(encoding="utf-8"), path)[0])
    for note in notes:
        print(f"  {note}")
    errors = sum(n.severity == "error" for n in notes)
    print(f"{path}: Kestra 2.0: {errors} error(s), {len(notes) - errors} warning(s)")
    return 1 if errors else 0


def _upgrade(args: argparse.Namespace) -> int:
    source = Path(args.path)
    if not source.exists():
        raise _UsageError(f"upgrade: no such file or folder: {source}")
    if source.is_dir() and args.output is None:
        raise _UsageError("upgrade: give -o DIR to upgrade a folder (a single file is printed)")
    files = (
        sorted(p for p in source.rglob("*") if p.suffix in (".yaml", ".yml")) if source.is_dir() else [source]
    )
    failed = 0
    for path in files:
        try:
            text, result = upgrade_text(path.read_text(encoding="utf-8"), str(path))
        except FlowError as exc:  # not a flow, or one mixing 1.3 and 2.0: the next file still goes
            _err(f"{path}: {exc}")
            failed += 1
            continue
        for change in result.changes:
            _err(f"{path}: {change}")
        for note in result.notes:
            _err(f"{path}: {note}")
        failed += bool(result.errors)
        if args.check_equivalence and not result.errors:
            failed += not _equivalent(path, text, stand_ins=args.stand_ins)
        if args.output is None:
            sys.stdout.write(text)
        else:
            target = Path(args.output) / (path.relative_to(source) if source.is_dir() else path.name)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
    _err(f"upgraded {len(files)} flow(s) to Kestra 2.0; {failed} need a person (error above)")
    return 1 if failed else 0


def _equivalent(path: Path, upgraded: str, *, stand_ins: bool) -> bool:
    """Run ``path`` and its upgrade locally; say whether they reach the same result."""
    from .migration.equivalence import check_equivalence

    try:
        original = Flow.from_yaml(path)
        if original.kestra == "2.0":
            _err(f"{path}: already a Kestra 2.0 flow: nothing to check")
            return True
        check = check_equivalence(original, Flow.from_yaml(upgraded, kestra="2.0"), stand_ins=stand_ins)
    except FlowError as exc:
        _err(f"{path}: equivalence not checked: {exc}")
        return False
    _err(f"{path}: equivalence: {check}")
    for note in check.notes:
        _err(f"{path}: equivalence note: {note}")
    return check.equal


def _validate(args: argparse.Namespace) -> int:
    flow = Flow.from_yaml(
        args.flow, upgrade=args.upgrade, kestra=None if args.kestra == "2.0" else args.kestra
    )
    flow.validate_flow()
    uncatalogued = _check_types(flow, args.flow)
    refusals = _refusals(flow)
    name = f"{flow.namespace}.{flow.id}"
    if args.strict and refusals:
        raise UnsupportedTaskError(
            f"{args.flow}: flow {name} is valid for Kestra but cannot run locally (validate --strict):\n"
            + "\n".join(f"  - {line}" for line in refusals)
        )
    tasks = list(flow.walk())
    print(f"{args.flow}: valid flow {name} with {len(tasks)} task(s)")
    for line in [finding.message() for finding in uncatalogued] + refusals:
        print(f"  note: {line}")
    for task in tasks:
        options = getattr(task, "options", None)
        if isinstance(options, HttpOptions) and options.is_legacy:
            used = [key for name, key in LEGACY_OPTIONS.items() if name in options.model_fields_set]
            print(
                f"  note: task {task.id!r} uses the legacy options {', '.join(used)} (Kestra 2 reads "
                f"options.auth and options.timeout); `kestra-airflow validate --upgrade {args.flow}` prints "
                "the flow with them rewritten"
            )
    plan = flow.plan()
    out = sys.stderr if args.upgrade else sys.stdout  # with --upgrade, stdout is the flow's document
    if plan:
        print(f"  what it would do on this machine ({len(plan)}):", file=out)
    for action in plan:
        print(f"    {action}", file=out)
    status = _kestra2_notes(args.flow) if args.kestra == "2.0" else 0
    if args.upgrade:
        sys.stdout.write(dump_document(flow.to_dict()))
    return status


def _airflow_client(args: argparse.Namespace) -> Any:
    from .client import AirflowClient

    url = args.airflow_url or os.environ.get("AIRFLOW_URL")
    if not url:
        raise _UsageError("--airflow-url (or $AIRFLOW_URL): the Airflow to read the DAG from is not given")
    return AirflowClient(
        url, username=os.environ.get("AIRFLOW_USERNAME"), password=os.environ.get("AIRFLOW_PASSWORD")
    )


def _native(args: argparse.Namespace) -> int:
    from .migration.generate import write_flows
    from .migration.native import native_flow_for_dag

    with _airflow_client(args) as client:
        result = native_flow_for_dag(client, args.dag_id, namespace=args.namespace)
    for report in result.tasks:
        detail = report.kestra_type if report.status == "native" else report.reason
        _err(f"{report.task_id} ({report.operator}): {report.status}: {detail}")
    if args.output:
        for path in write_flows([result.flow], args.output):
            _err(f"wrote {path}")
    else:
        sys.stdout.write(result.flow.to_yaml())
    return 0 if result.native else 1


def _parity(args: argparse.Namespace) -> int:
    import json

    from .migration.native import native_flow_for_dag
    from .migration.parity_check import parity

    try:
        conf = json.loads(args.conf) if args.conf else {}
    except ValueError as exc:
        raise _UsageError(f"--conf: expected a JSON object, got {args.conf!r} ({exc})") from None
    if not isinstance(conf, dict):
        raise _UsageError(f"--conf: expected a JSON object, got {args.conf!r}")
    with _airflow_client(args) as client:
        if args.flow:
            if not Path(args.flow).is_file():
                raise _UsageError(f"--flow: no such file: {args.flow}")
            flow = Flow.from_yaml(Path(args.flow).read_text(encoding="utf-8"))
        else:
            result = native_flow_for_dag(client, args.dag_id, namespace=args.namespace)
            if not result.native:
                for report in result.untranslated:
                    _err(f"{report.task_id} ({report.operator}): not translated: {report.reason}")
                return 1
            flow = result.flow
        frame = parity(client, args.dag_id, flow, conf=conf)
    sys.stdout.write(frame.to_string(index=False) + "\n")
    equal = bool(frame.attrs.get("equal"))
    _err("parity: equal" if equal else f"parity: {int((~frame['equal']).sum())} task(s) differ")
    return 0 if equal else 1


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``kestra-airflow`` command."""
    parser = argparse.ArgumentParser(
        prog="kestra-airflow", description="Run or validate Kestra flows that orchestrate Airflow DAGs."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {version('kestra-airflow-sdk')}")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run a flow file locally and print its outputs")
    run.add_argument("flow", help="a Kestra flow YAML file")
    run.add_argument(
        "--secret",
        action="append",
        default=[],
        metavar="NAME",
        help="a secret('NAME') value, read from the environment variable NAME (or asked for on a terminal); "
        "NAME=VALUE works too but shows the value to `ps` and the shell history",
    )
    run.add_argument(
        "--secrets-file", metavar="FILE", help="NAME=VALUE lines (dotenv format) with secret('NAME') values"
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
    validate.add_argument(
        "--strict",
        action="store_true",
        help="also fail on what `run` would refuse (task types, properties and functions it cannot run)",
    )
    validate.add_argument(
        "--kestra",
        choices=KESTRA_VERSIONS,
        help="read the flow as this Kestra version; 2.0 lists what Kestra 2.0 would reject (error) "
        "and what would break at run time (warning)",
    )
    validate.set_defaults(handler=_validate)
    upgrade = commands.add_parser("upgrade", help="convert Kestra 1.3 flows to Kestra 2.0")
    upgrade.add_argument("path", help="a flow YAML file, or a folder of them (searched recursively)")
    upgrade.add_argument("-o", "--output", metavar="DIR", help="write the upgraded flows here (same names)")
    upgrade.add_argument(
        "--check-equivalence",
        action="store_true",
        help="run each 1.3 flow and its upgrade locally; exit 1 when they differ or cannot run",
    )
    upgrade.add_argument(
        "--stand-ins",
        action="store_true",
        help="with --check-equivalence: run plugin tasks as stand-ins that log the properties they get",
    )
    upgrade.set_defaults(handler=_upgrade)
    native = commands.add_parser("native", help="translate an Airflow DAG into a native Kestra flow")
    parity = commands.add_parser("parity", help="run a DAG and its native flow, compare them task by task")
    for verb in (native, parity):
        verb.add_argument("dag_id", help="the Airflow DAG")
        verb.add_argument("--namespace", required=True, help="the Kestra namespace of the flow")
        verb.add_argument("--airflow-url", help="the Airflow URL (default: $AIRFLOW_URL)")
    native.add_argument("-o", "--output", metavar="DIR", help="write the flow as DIR/<namespace>/<id>.yaml")
    native.set_defaults(handler=_native)
    parity.add_argument("--flow", metavar="FILE", help="the native flow (default: translated from the DAG)")
    parity.add_argument("--conf", metavar="JSON", help="the DAG run's conf, a JSON object")
    parity.set_defaults(handler=_parity)
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args))
    except (FlowError, AirflowError, _UsageError) as exc:
        _err(f"kestra-airflow: {exc}")
        return 2


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
