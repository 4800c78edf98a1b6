"""Airflow's Jinja templates in operator arguments, rewritten as Kestra Pebble expressions.

Only templates whose meaning is the same in both survive: ``{{ params.x }}`` → ``{{ inputs.x }}``,
``{{ dag_run.conf.x }}`` / ``{{ dag_run.conf['x'] }}`` → ``{{ inputs.conf.x }}`` and
``{{ ti.xcom_pull(task_ids='t') }}`` → ``{{ outputs.t.vars.return_value }}``. Any other template
(``{{ ds }}``, macros, ``{% ... %}`` blocks) raises :class:`Untranslatable` saying which: a date
Airflow computes from the run's logical date has no faithful Kestra twin.
"""

from __future__ import annotations

import re
from collections.abc import Callable

__all__ = ["Untranslatable", "has_template", "kestra_task_id", "rewrite_templates"]

_EXPRESSION = re.compile(r"\{\{\s*(.*?)\s*\}\}", re.DOTALL)
_PARAM = re.compile(r"^params\.([A-Za-z_][A-Za-z0-9_]*)$|^params\[['\"]([^'\"]+)['\"]\]$")
_CONF = re.compile(r"^dag_run\.conf\.([A-Za-z_][A-Za-z0-9_]*)$|^dag_run\.conf\[['\"]([^'\"]+)['\"]\]$")
_XCOM = re.compile(
    r"^(?:ti|task_instance)\.xcom_pull\(\s*(?:task_ids\s*=\s*)?['\"]([^'\"]+)['\"]"
    r"(?:\s*,\s*key\s*=\s*['\"]return_value['\"])?\s*\)$"
)


def kestra_task_id(task_id: str) -> str:
    """The Kestra id of Airflow task ``task_id``: the same, but a task group's dot becomes ``_``
    (``section_1.load`` → ``section_1_load``; Kestra task ids hold letters, digits, ``_`` and ``-``)."""
    return task_id.replace(".", "_")


class Untranslatable(Exception):
    """A task (or a part of it) that has no faithful Kestra translation; the message says why."""


def has_template(text: str) -> bool:
    """True when ``text`` holds a Jinja/Pebble expression or block."""
    return "{{" in text or "{%" in text or "{#" in text


def rewrite_templates(text: str, *, pulled: Callable[[str], None], uses_conf: Callable[[], None]) -> str:
    """``text`` with its Airflow templates as Kestra expressions; ``pulled(task_id)`` is called for
    each upstream return value it reads, ``uses_conf()`` when it reads the run's conf."""
    if "{%" in text or "{#" in text:
        raise Untranslatable("it uses Jinja blocks or comments ({% ... %}), which are not translated")

    def one(match: re.Match[str]) -> str:
        expression = match.group(1)
        param = _PARAM.match(expression)
        if param:
            return f"{{{{ inputs.{param.group(1) or param.group(2)} }}}}"
        conf = _CONF.match(expression)
        if conf:
            uses_conf()
            return f"{{{{ inputs.conf['{conf.group(1) or conf.group(2)}'] }}}}"
        xcom = _XCOM.match(expression)
        if xcom:
            pulled(xcom.group(1))
            return f"{{{{ outputs.{kestra_task_id(xcom.group(1))}.vars.return_value }}}}"
        raise Untranslatable(
            f"its template {{{{ {expression} }}}} has no Kestra equivalent (only params, dag_run.conf "
            "and xcom_pull of a return value are translated)"
        )

    return _EXPRESSION.sub(one, text)
