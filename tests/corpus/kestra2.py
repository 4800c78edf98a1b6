"""The Kestra 1.3 -> 2.0 pairs of ``../shared/corpus/kestra2-migration/`` (input, and what Kestra's
migrator ``kestra-migrate`` wrote): where they are, how the SDK's upgrade is compared with them, and
the session's tally (the ``kestra2-migration: ...`` line of the summary).

A pair *agrees* when ``upgrade_document(input)`` equals the official output (parsed YAML, not
bytes). It is *upgraded beyond* kestra-migrate when it differs only by what the SDK converts and
kestra-migrate leaves in place with a warning (``ForEach``/``Each*`` -> ``Loop``, ``pluginDefaults``
inlined): the SDK's own beyond-rules applied to the official output give the SDK's result, which
must then be a valid Kestra 2.0 document. Anything else *disagrees*.

The outputs come from several kestra-migrate versions (the folder's README). Two expression forms
changed between them and are read as the same expression (never by file name):

* ``X | startsWith('p')`` (an older migrator) and ``X startsWith 'p'`` (the others);
* ``(trigger.date | timestamp()) > ('...' | timestamp())`` (flows-changes.md today: both sides as
  instants) and ``trigger.date > '...'`` (an older migrator, which compared a date with a string).

A pair that agrees only through them is listed in the summary with the form it used.

A pair upgraded beyond kestra-migrate is then run: the input and the SDK's upgrade, locally
(:func:`~kestra_airflow_sdk.migration.equivalence.check_equivalence`). It *ran equal*, or *could not
run locally* (a plugin task the SDK does not run, listed with the reason), or disagrees. The 1.3 flows
of the Kestra corpus that the upgrade changes are checked the same way (``Tally.corpus``).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tests.corpus.harness import corpus_dir

#: what an older kestra-migrate wrote -> the form the SDK writes
VERSION_FORMS: tuple[tuple[str, re.Pattern[str], str], ...] = (
    (
        "`X | startsWith('p')` (an older kestra-migrate) for `X startsWith 'p'`",
        re.compile(r"(\S+) \| (startsWith|endsWith)\('([^']*)'\)"),
        r"\1 \2 '\3'",
    ),
    (
        "`| timestamp()` on both sides of a date comparison (flows-changes.md today; an older "
        "kestra-migrate compared the date with a string)",
        re.compile(r"\(([^()]*?) \| timestamp\(\)\)"),
        r"\1",
    ),
)


def pairs_dir() -> Path:
    """``kestra2-migration`` beside the Kestra corpus (``KAS_CORPUS_DIR``'s parent when it is set)."""
    return corpus_dir().parent / "kestra2-migration"


def pair_names(root: Path) -> list[str]:
    """``group/name`` of every pair with both files."""
    names = []
    for path in sorted(root.rglob("*.input.yaml")):
        if path.with_name(path.name.replace(".input.", ".output.")).is_file():
            names.append(str(path.relative_to(root)).removesuffix(".input.yaml"))
    return names


def without_version_forms(node: Any, used: set[str]) -> Any:
    """``node`` with the older migrators' expression forms written the SDK's way (``used`` gets
    the description of each form met)."""
    if isinstance(node, str):
        for description, pattern, replacement in VERSION_FORMS:
            node, count = pattern.subn(replacement, node)
            if count:
                used.add(description)
        return node
    if isinstance(node, dict):
        return {key: without_version_forms(value, used) for key, value in node.items()}
    if isinstance(node, list):
        return [without_version_forms(value, used) for value in node]
    return node


@dataclass
class PairOutcome:
    """``agree``, ``beyond`` (and ran equal), ``unrun`` (beyond, could not run locally) or
    ``disagree``; for a corpus flow ``equal``, ``unrun`` or ``differ``; with what was noticed on the way."""

    name: str
    kind: str
    detail: str = ""


@dataclass
class Tally:
    """The pairs compared in this session."""

    outcomes: dict[str, PairOutcome] = field(default_factory=dict)
    missing: str = ""
    #: the Kestra corpus's 1.3 flows the upgrade changes, run beside their upgrade
    corpus: dict[str, PairOutcome] = field(default_factory=dict)

    def export(self) -> dict[str, Any]:
        return {
            "outcomes": [asdict(o) for o in self.outcomes.values()],
            "missing": self.missing,
            "corpus": [asdict(o) for o in self.corpus.values()],
        }

    def merge(self, data: dict[str, Any]) -> None:
        for outcome in data["outcomes"]:
            self.outcomes[outcome["name"]] = PairOutcome(**outcome)
        for outcome in data["corpus"]:
            self.corpus[outcome["name"]] = PairOutcome(**outcome)
        self.missing = self.missing or data["missing"]

    def summary(self) -> str:
        kinds = [o.kind for o in self.outcomes.values()]
        unrun = kinds.count("unrun")
        stand_ins = sum(o.kind == "beyond" and "plugin stand-ins" in o.detail for o in self.outcomes.values())
        return (
            f"kestra2-migration: {len(kinds)} pairs, {kinds.count('agree')} agree with kestra-migrate, "
            f"{kinds.count('beyond')} upgraded beyond it and ran equal"
            + (f" ({stand_ins} with plugin tasks as stand-ins, listed)" if stand_ins else "")
            + ", "
            + (f"{unrun} upgraded beyond it could not run locally (listed), " if unrun else "")
            + f"{kinds.count('disagree')} disagree"
        )

    def corpus_summary(self) -> str:
        kinds = [o.kind for o in self.corpus.values()]
        known = sum(o.detail.startswith("known difference") for o in self.corpus.values())
        return (
            f"kestra corpus, 1.3 flows the upgrade changes: {len(kinds)} cases, "
            f"{kinds.count('equal')} ran equal beside their 2.0 upgrade, "
            f"{kinds.count('unrun')} could not run locally (listed), {kinds.count('differ')} differ"
            + (f" ({known} of them known, xfail)" if known else "")
        )


TALLY = Tally()
