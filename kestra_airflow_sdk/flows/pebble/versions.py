"""The Kestra versions whose expressions the renderer follows, and what changed between them.

Kestra 2.0 (kestra-io/kestra2-flow-migration, ``migration-documentation/flows-changes.md``) removed
the ``json`` filter and function (``toJson`` and ``fromJson()`` replace them) and, with ``ForEach``,
the ``currentEachOutput()`` function; it added date functions for trigger ``when`` conditions and
``loopOutputs()`` for ``Loop``. Rendering is not recursive in either version.
"""

from __future__ import annotations

from typing import Literal

from ..errors import FlowValidationError

__all__ = ["ADDED_IN_2_0", "KESTRA_VERSIONS", "REMOVED_IN_2_0", "KestraVersion", "kestra_version"]

#: a Kestra version whose expression semantics the renderer follows
KestraVersion = Literal["1.3", "2.0"]
KESTRA_VERSIONS: tuple[KestraVersion, ...] = ("1.3", "2.0")

#: what Kestra 2.0 removed, by kind and name, with what to use instead
REMOVED_IN_2_0 = {
    ("filter", "json"): "use toJson",
    ("function", "json"): "use fromJson()",
    ("function", "currentEachOutput"): "ForEach is replaced by Loop",
}
#: the functions Kestra 2.0 added (known with ``kestra="2.0"``; the local runner has the calendar ones)
ADDED_IN_2_0 = frozenset(
    {
        "env",
        "loopOutputs",
        "isWeekend",
        "isPublicHoliday",
        "isDayWeekInMonth",
        "isLastWorkingDay",
        "dayOfWeek",
        "dayOfMonth",
        "monthOfYear",
        "hourOfDay",
    }
)


def kestra_version(value: object) -> KestraVersion:
    """``value`` when it is one of :data:`KESTRA_VERSIONS`; else a :class:`FlowValidationError`."""
    for version in KESTRA_VERSIONS:
        if value == version:
            return version
    raise FlowValidationError(f"kestra must be one of {', '.join(KESTRA_VERSIONS)}, got {value!r}")
