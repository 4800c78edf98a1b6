"""The corpus harness: where the corpus is, what each flow should give (``expected.yaml``), and the
comparison of an :class:`~kestra_airflow_sdk.runner.Execution` with what Kestra produces.

The corpus (real Kestra flows written by others) lives beside the checkout, in
``../shared/corpus/kestra/`` (``KAS_CORPUS_DIR`` overrides it); it is read, never copied here.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import SecretStr

from kestra_airflow_sdk.flows import Execution, TaskRun

REPO = Path(__file__).resolve().parents[2]
EXPECTED_FILE = Path(__file__).with_name("expected.yaml")
LOG_TYPES = ("io.kestra.plugin.core.log.Log", "io.kestra.core.tasks.log.Log")
#: document keys that never hold tasks
_NOT_TASKS = {
    "triggers",
    "pluginDefaults",
    "taskDefaults",
    "inputs",
    "outputs",
    "extend",
    "variables",
    "labels",
}
#: keys a case may set (the rest of an entry is shared by its cases)
KINDS = ("run", "refused", "invalid", "rejected")


def corpus_dir() -> Path:
    """``$KAS_CORPUS_DIR``, else ``shared/corpus/kestra`` beside the repository's folder."""
    override = os.environ.get("KAS_CORPUS_DIR")
    return Path(override) if override else REPO.parent / "shared" / "corpus" / "kestra"


def corpus_files(root: Path) -> list[str]:
    """Every flow file of the corpus, as a path relative to ``root`` (``kestra-core/minimal.yaml``)."""
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.suffix in (".yaml", ".yml"))


def load_expected() -> dict[str, dict[str, Any]]:
    """``expected.yaml``: one entry per corpus path."""
    data = yaml.safe_load(EXPECTED_FILE.read_text(encoding="utf-8"))
    assert isinstance(data, dict), f"{EXPECTED_FILE} must be a mapping of corpus paths"
    return data


@dataclass(frozen=True)
class Case:
    """One execution of one corpus flow: the entry's shared keys with the case's own on top."""

    path: str
    name: str
    spec: dict[str, Any]

    @property
    def id(self) -> str:
        return f"{self.path}::{self.name}" if self.name else self.path

    @property
    def expect(self) -> str:
        return str(self.spec["expect"])

    @property
    def uses_airflow(self) -> bool:
        return bool(self.spec.get("airflow"))


def cases_of(path: str, entry: Mapping[str, Any]) -> list[Case]:
    """The cases of an entry (one when it has no ``cases``)."""
    shared = {k: v for k, v in entry.items() if k != "cases"}
    if "cases" not in entry:
        return [Case(path, "", shared)]
    return [Case(path, str(c.get("name", i)), {**shared, **c}) for i, c in enumerate(entry["cases"])]


# ---------------------------------------------------------------------------------- the raw flow


def _task_nodes(node: Any, key: str = "") -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        if key != "" and isinstance(node.get("id"), str) and isinstance(node.get("type"), str):
            yield node
        for k, v in node.items():
            if not (key == "" and k in _NOT_TASKS):
                yield from _task_nodes(v, str(k))
    elif isinstance(node, list):
        for item in node:
            yield from _task_nodes(item, key)


def task_types(document: Mapping[str, Any]) -> list[str]:
    """Every task type a flow document uses, in order of first appearance (read from the YAML, so
    tasks nested in types the SDK does not model count too)."""
    seen: dict[str, None] = {}
    for node in _task_nodes(dict(document)):
        if "." in node["type"]:
            seen.setdefault(node["type"], None)
    return list(seen)


def log_levels(document: Mapping[str, Any]) -> dict[str, str]:
    """Level of each Log task by task id (a Log task's own lines are at its ``level``)."""
    return {
        node["id"]: str(node.get("level", "INFO"))
        for node in _task_nodes(dict(document))
        if node["type"] in LOG_TYPES
    }


# ---------------------------------------------------------------------------------- values

_TOKENS = {
    "<datetime>": r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?Z",
    "<id>": r"[0-9A-Za-z]{22}",
    "<any>": r".*",
}
_PARTS = re.compile(r"(<datetime>|<id>|<any>|\$\{[^}]+\})")
Resolver = Callable[[str], str]


def pattern(expected: str, resolve: Resolver) -> re.Pattern[str]:
    """The regex of an expected text: tokens become patterns, ``${...}`` the resolved text."""
    regex = ""
    for part in _PARTS.split(expected):
        if part in _TOKENS:
            regex += _TOKENS[part]
        elif part.startswith("${") and part.endswith("}"):
            regex += re.escape(resolve(part[2:-1]))
        else:
            regex += re.escape(part)
    return re.compile(regex, re.DOTALL)


def mismatches(expected: Any, actual: Any, resolve: Resolver, where: str) -> list[str]:
    """Where ``actual`` differs from ``expected`` (mappings: expected keys only). A value that came
    from a secret is compared by its text: the SDK hands it out wrapped in a ``SecretStr`` so that it
    never prints, where Kestra gives the text itself."""
    if isinstance(actual, SecretStr):
        actual = actual.get_secret_value()
    if isinstance(expected, dict):
        if not isinstance(actual, Mapping):
            return [f"{where}: expected a mapping, got {actual!r}"]
        found = []
        for key, value in expected.items():
            if key not in actual:
                found.append(f"{where}.{key}: missing (has {sorted(map(str, actual))})")
            else:
                found.extend(mismatches(value, actual[key], resolve, f"{where}.{key}"))
        return found
    if isinstance(expected, list):
        if not isinstance(actual, (list, tuple)) or len(actual) != len(expected):
            return [f"{where}: expected {expected!r}, got {actual!r}"]
        return [
            m
            for i, (e, a) in enumerate(zip(expected, actual, strict=True))
            for m in mismatches(e, a, resolve, f"{where}[{i}]")
        ]
    if isinstance(expected, str):
        if isinstance(actual, str) and pattern(expected, resolve).fullmatch(actual):
            return []
        return [f"{where}: expected {expected!r}, got {actual!r}"]
    if type(expected) is not type(actual) or expected != actual:
        return [f"{where}: expected {expected!r} ({type(expected).__name__}), got {actual!r}"]
    return []


# ---------------------------------------------------------------------------------- comparison


@dataclass
class Context:
    """What ``${...}`` refers to while comparing one execution."""

    execution: Execution
    extra: dict[str, str] = field(default_factory=dict)

    def resolver(self, task_run: TaskRun | None = None) -> Resolver:
        def resolve(name: str) -> str:
            if name in self.extra:
                return self.extra[name]
            if name == "execution.id":
                return self.execution.id
            if name.startswith("taskrun.") and task_run is not None:
                if name == "taskrun.id":
                    return task_run.id
                if name.startswith("taskrun.startDate:") and task_run.start_date is not None:
                    return task_run.start_date.strftime(name.split(":", 1)[1])
            if name.startswith("outputs."):
                _, task_id, output = name.split(".", 2)
                return str(self.execution.outputs.get(task_id, {}).get(output))
            raise KeyError(f"expected.yaml uses ${{{name}}}, which means nothing here")

        return resolve

    def run_of(self, task_id: str, run_id: str | None = None) -> TaskRun | None:
        runs = [r for r in self.execution.task_runs if r.task_id == task_id]
        by_id = [r for r in runs if run_id is not None and r.id == run_id]
        found = by_id or runs
        return found[-1] if found else None


def _log_item(item: Any) -> dict[str, Any]:
    return item if isinstance(item, dict) else {"message": item}


def compare_logs(spec: Mapping[str, Any], levels: Mapping[str, str], ctx: Context) -> list[str]:
    """The Log tasks' own lines against ``spec['logs']`` (in order unless ``logs_unordered``)."""
    lines = [e for e in ctx.execution.logs if e.task_id is not None and e.level == levels.get(e.task_id)]
    expected = [_log_item(i) for i in spec["logs"]]
    shown = [(e.task_id, e.level, e.message) for e in lines]
    if len(lines) != len(expected):
        return [f"logs: expected {len(expected)} Log lines {[i['message'] for i in expected]}, got {shown}"]

    def matches(item: dict[str, Any], entry: Any) -> bool:
        run = ctx.run_of(entry.task_id, entry.task_run_id)
        resolve = ctx.resolver(run)
        return (
            pattern(str(item["message"]), resolve).fullmatch(entry.message) is not None
            and item.get("level", entry.level) == entry.level
            and item.get("task", entry.task_id) == entry.task_id
        )

    if not spec.get("logs_unordered"):
        bad = [
            f"logs[{i}]: expected {item}, got {shown[i]}"
            for i, item in enumerate(expected)
            if not matches(item, lines[i])
        ]
        return bad
    unused = list(lines)
    for item in expected:
        hit = next((e for e in unused if matches(item, e)), None)
        if hit is None:
            return [f"logs: no line matches {item} among {shown}"]
        unused.remove(hit)
    return []


def compare(spec: Mapping[str, Any], document: Mapping[str, Any], ctx: Context) -> list[str]:
    """Every difference between the execution and what Kestra produces (empty: it ran as Kestra)."""
    execution = ctx.execution
    found: list[str] = []
    if "state" in spec and execution.state.value != spec["state"]:
        failed = [
            f"{r.task_id}={r.state.value}{f' ({r.error})' if r.error else ''}" for r in execution.task_runs
        ]
        found.append(f"state: expected {spec['state']}, got {execution.state.value}; task runs: {failed}")
    if "task_runs" in spec and len(execution.task_runs) != spec["task_runs"]:
        got = [r.task_id for r in execution.task_runs]
        found.append(f"task_runs: expected {spec['task_runs']}, got {len(got)} {got}")
    for task_id, count in (spec.get("task_run_counts") or {}).items():
        runs = sum(1 for r in execution.task_runs if r.task_id == task_id)
        if runs != count:
            found.append(f"task_run_counts.{task_id}: expected {count}, got {runs}")
    if "task_order" in spec:
        got = [r.task_id for r in execution.task_runs][: len(spec["task_order"])]
        if got != spec["task_order"]:
            found.append(f"task_order: expected {spec['task_order']}, got {got}")
    for task_id, state in (spec.get("task_states") or {}).items():
        run = ctx.run_of(task_id)
        if run is None or run.state.value != state:
            found.append(
                f"task_states.{task_id}: expected {state}, got {run.state.value if run else 'no task run'}"
            )
    for task_id, count in (spec.get("attempts") or {}).items():
        run = ctx.run_of(task_id)
        if run is None or run.attempt != count:
            found.append(f"attempts.{task_id}: expected {count}, got {run.attempt if run else 'no task run'}")
    outputs = execution.outputs
    for task_id, expected in (spec.get("outputs") or {}).items():
        if task_id not in outputs:
            found.append(f"outputs.{task_id}: missing (outputs of {sorted(outputs)})")
            continue
        found.extend(
            mismatches(expected, outputs[task_id], ctx.resolver(ctx.run_of(task_id)), f"outputs.{task_id}")
        )
    if "labels" in spec:
        found.extend(mismatches(spec["labels"], execution.labels, ctx.resolver(), "labels"))
    for key in spec.get("labels_absent") or []:
        if key in execution.labels:
            found.append(f"labels.{key}: expected absent, got {execution.labels[key]!r}")
    if "logs" in spec:
        found.extend(compare_logs(spec, log_levels(document), ctx))
    return found


# ---------------------------------------------------------------------------------- outcomes


@dataclass
class Outcome:
    """What happened to one case: ``ran`` (as Kestra), ``refused`` (as expected), ``gap`` (a flow
    Kestra runs that the SDK still refuses), ``diverged`` or ``skipped``."""

    case: str
    kind: str
    detail: str = ""
    #: a divergence expected.yaml already lists (``known_divergence``)
    known: bool = False


@dataclass
class Results:
    """Outcomes of the session, by corpus path."""

    by_path: dict[str, list[Outcome]] = field(default_factory=dict)
    corpus_missing: str = ""

    def add(self, path: str, outcome: Outcome) -> None:
        self.by_path.setdefault(path, []).append(outcome)

    def verdicts(self) -> dict[str, Outcome]:
        """One outcome per corpus file: the worst of its cases (diverged > gap > ran > refused)."""
        order = ["skipped", "refused", "ran", "gap", "diverged"]
        verdict = {}
        for path, outcomes in self.by_path.items():
            counted = [o for o in outcomes if o.kind != "skipped"] or outcomes
            verdict[path] = max(counted, key=lambda o: order.index(o.kind))
        return verdict

    def summary(self) -> str:
        """``N ran as Kestra, M refused, K core flows still refused, D diverged`` (per corpus file)."""
        verdicts = list(self.verdicts().values())
        kinds = [o.kind for o in verdicts]
        known = sum(1 for o in verdicts if o.known)
        return (
            f"{kinds.count('ran')} ran as Kestra, {kinds.count('refused')} refused, "
            f"{kinds.count('gap')} core flows still refused, {kinds.count('diverged')} diverged"
            + (f" ({known} of them known_divergence, xfail)" if known else "")
            + (f", {kinds.count('skipped')} skipped" if "skipped" in kinds else "")
            + f" — {len(kinds)} corpus flows"
        )


RESULTS = Results()
