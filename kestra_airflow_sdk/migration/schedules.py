"""An Airflow DAG's schedule as a Kestra ``Schedule`` cron, or the reason there is none.

Airflow reports a DAG's schedule as text: a cron (``"30 6 * * 1-5"``), a preset (``"@daily"``;
Airflow 3 already reports presets as their cron), ``None`` (manual only), or the summary of a
timetable, a dataset (Airflow 2) or an asset (Airflow 3) schedule. Crons and presets map; the rest
cannot be a cron, and the mapping says why so that nothing is dropped silently.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..flows.schedule import check_cron

__all__ = ["PRESETS", "ScheduleMapping", "map_schedule"]

#: Airflow's presets and the cron each stands for
PRESETS = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@quarterly": "0 0 1 */3 *",
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
}

_NO_CRON = {
    "@once": "runs once (@once): there is no recurring schedule to move",
    "@continuous": "runs continuously (@continuous): Kestra has no cron for 'again as soon as it ends'",
}


@dataclass(frozen=True)
class ScheduleMapping:
    """What a DAG's schedule becomes: ``cron`` when it maps, else ``reason`` says why not."""

    schedule: str | None
    cron: str | None = None
    reason: str | None = None

    @property
    def maps(self) -> bool:
        """True when the schedule became a cron."""
        return self.cron is not None


def map_schedule(schedule: str | None) -> ScheduleMapping:
    """Map an Airflow schedule (as the REST API reports it) to a cron Kestra's Schedule accepts.

    Example:
        >>> map_schedule("@daily").cron
        '0 0 * * *'
        >>> map_schedule("Asset").reason
        'scheduled by datasets/assets (Asset): no cron; use a Kestra Flow or webhook trigger'
    """
    if schedule is None or not schedule.strip():
        return ScheduleMapping(schedule, reason="no schedule: the DAG runs only when triggered")
    text = schedule.strip()
    if text in PRESETS:
        return ScheduleMapping(schedule, cron=PRESETS[text])
    if text in _NO_CRON:
        return ScheduleMapping(schedule, reason=_NO_CRON[text])
    lowered = text.lower()
    if "asset" in lowered or "dataset" in lowered:
        return ScheduleMapping(
            schedule,
            reason=f"scheduled by datasets/assets ({text}): no cron; use a Kestra Flow or webhook trigger",
        )
    try:
        return ScheduleMapping(schedule, cron=check_cron(text))
    except ValueError:
        return ScheduleMapping(
            schedule, reason=f"timetable {text!r} is not a cron expression: move its schedule by hand"
        )
