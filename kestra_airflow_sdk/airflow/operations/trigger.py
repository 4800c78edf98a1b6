"""Triggering a DAG run exactly once, even when the outcome of the request is unknown."""

from __future__ import annotations

import itertools
import secrets
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from ...transport.effects import Delay, Op
from ...transport.operation import operation
from ...transport.retry import is_transient
from ..arguments import IfPaused, aware, check_if_paused, json_object, segment
from ..errors import AirflowConnectionError, AirflowError, ApiError, ConflictError, NotFoundError
from ..lookups import paused_dag, read_dag, read_run
from ..models import DagRun
from ..session import Session, logger

__all__ = ["TriggerOperations", "new_run_id"]


def new_run_id(now: datetime | None = None) -> str:
    """A fresh run id in Airflow's manual style, unique per call: ``manual__<UTC iso time>_<8 hex>``."""
    moment = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    return f"manual__{moment.isoformat()}_{secrets.token_hex(4)}"


class TriggerOperations(Session):
    """``trigger_dag_run`` of both clients."""

    @operation
    def trigger_dag_run(
        self,
        dag_id: str,
        conf: Mapping[str, Any] | None = None,
        dag_run_id: str | None = None,
        logical_date: datetime | None = None,
        note: str | None = None,
        *,
        if_paused: IfPaused = "ignore",
    ) -> Op[DagRun]:
        """Trigger exactly one DAG run and return it (usually ``queued``).

        The client chooses the run id (``manual__<UTC time>_<random>``) unless ``dag_run_id`` is
        given, so that a failure with an unknown outcome (read timeout, dropped connection, 5xx,
        409) is settled by looking that run id up: an existing run is returned, a missing one is
        triggered again. A retry never creates a second run.

        Args:
            dag_id: the DAG to run.
            conf: the run's configuration, a JSON object (``dag_run.conf`` in the DAG).
            dag_run_id: the run id; generated when omitted.
            logical_date: timezone-aware logical date; none by default (Airflow 3 then runs
                without a logical date, Airflow 2 uses the trigger time).
            note: a note shown on the run in the Airflow UI.
            if_paused: ``"warn"`` or ``"raise"`` look the DAG up first (one more request) and, when
                it is paused (its runs stay queued), emit a :class:`DagPausedWarning` or raise
                :class:`DagPausedError` before triggering; ``"ignore"`` (default) does not check.

        Raises:
            InvalidArgumentError: ``conf`` is not a JSON object, ``logical_date`` is naive, ... (checked
                before any request).
            NotFoundError: the DAG does not exist.
            ConflictError: a run with the given ``dag_run_id`` (or logical date) exists already.
            DagPausedError: the DAG is paused and ``if_paused="raise"``.
        """
        path = f"/dags/{segment(dag_id, 'dag_id')}/dagRuns"
        if dag_run_id is not None:
            segment(dag_run_id, "dag_run_id")
        body_conf = json_object(conf, "conf")
        aware(logical_date, "logical_date")
        check_if_paused(if_paused)
        dialect = yield from self._dialect()
        if if_paused != "ignore":
            dag = yield from read_dag(self, dag_id)
            if dag.is_paused:
                paused_dag(dag_id, if_paused, f"triggering a run of DAG {dag_id!r}")
        run_id = dag_run_id or new_run_id()
        body = dialect.trigger_body(conf=body_conf, dag_run_id=run_id, logical_date=logical_date, note=note)
        action = f"Triggering DAG {dag_id!r} (run id {run_id!r})"
        for attempt in itertools.count(1):
            try:
                created = yield from self._call("POST", path, action=action, json_body=body)
                return DagRun.model_validate(created)
            except ConflictError as exc:
                if attempt == 1 and dag_run_id is not None:
                    raise  # the caller's run id was taken before we sent anything
                failure: AirflowError = exc
            except (AirflowConnectionError, ApiError) as exc:
                ambiguous = is_transient(exc) and getattr(exc, "request_sent", True)
                if not ambiguous or getattr(exc, "status", 500) == 429:
                    raise  # never reached Airflow (retried already) or refused: nothing to settle
                failure = exc
            existing = yield from _settle(self, dag_id, run_id, action, failure)
            if existing is not None:
                return existing
            if isinstance(failure, ConflictError) or attempt >= self.retry.max_attempts:
                raise failure
            delay = self.retry.backoff(attempt)
            logger.warning("%s: no run was created (%s); retry %d in %.1fs", action, failure, attempt, delay)
            yield Delay(delay)
        raise AssertionError("unreachable")  # pragma: no cover


def _settle(
    session: Session, dag_id: str, run_id: str, action: str, failure: AirflowError
) -> Op[DagRun | None]:
    """After a trigger with an unknown outcome: the run if Airflow created it, else None."""
    try:
        run = yield from read_run(session, dag_id, run_id)
    except NotFoundError:
        return None
    except AirflowError as exc:
        raise AirflowConnectionError(
            f"{action}: the outcome is unknown. The trigger failed ({failure}) and looking up the "
            f"run id failed too ({exc}). Check get_dag_run({dag_id!r}, {run_id!r}) before "
            "triggering again."
        ) from exc
    logger.info("%s: settled after '%s': the run exists", action, failure)
    return run
