"""The colour of each state, those of the Airflow UI (Kestra's own states lower-cased): one palette for
the HTML badges and bars of :mod:`kestra_airflow_sdk.display` and the figures of :mod:`.plots`."""

from __future__ import annotations

__all__ = ["STATE_COLOURS", "UNKNOWN_COLOUR", "state_colour"]

#: colours per state, those of the Airflow UI
STATE_COLOURS: dict[str, str] = {
    "success": "#008000",
    "running": "#32cd32",
    "queued": "#808080",
    "scheduled": "#d2b48c",
    "failed": "#d00000",
    "upstream_failed": "#ff8c00",
    "skipped": "#ff69b4",
    "up_for_retry": "#daa520",
    "up_for_reschedule": "#40e0d0",
    "deferred": "#9370db",
    "removed": "#a9a9a9",
    "restarting": "#ee82ee",
    # Kestra's execution and task run states (lower-cased; SUCCESS, RUNNING, FAILED and SKIPPED
    # share Airflow's colours above)
    "created": "#808080",
    "warning": "#ff8c00",
    "killed": "#555555",
}
#: a state the palette does not know, or no state at all
UNKNOWN_COLOUR = "#bbbbbb"


def state_colour(state: object) -> str:
    """The colour of ``state`` (any case; ``None`` and unknown states are grey)."""
    return STATE_COLOURS.get(str(state).lower(), UNKNOWN_COLOUR) if state is not None else UNKNOWN_COLOUR
