"""Operations on Airflow 3 backfills: create one (or dry-run it), list, read, pause, unpause, cancel,
and the DAG runs of one.

Every endpoint (``POST /backfills``, ``POST /backfills/dry_run``, ``GET /backfills?dag_id=``,
``GET /backfills/{id}``, ``PUT /backfills/{id}/pause|unpause|cancel``) is served by Airflow 3.0.0
and later; against an older server each operation raises
:class:`~kestra_airflow_sdk.airflow.errors.UnsupportedFeatureError` before sending any request of
its own. The arguments are checked before any request too.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from ...transport.effects import Delay, Op, gather
from ...transport.operation import operation
from ..arguments import aware, json_object, segment
from ..backfill_models import AirflowBackfill, DryRunBackfill, ReprocessBehavior
from ..errors import ApiError, InvalidArgumentError
from ..features import Feature, require
from ..fetch import requested_dags
from ..models import DagRun
from ..pagination import pages, parse_rows
from ..session import Session, logger

__all__ = ["BACKFILLS", "BackfillOperations", "backfill_body"]

#: the REST backfill endpoints, added by Airflow 3.0.0 (AIP-78)
BACKFILLS = Feature("backfills", "3.0.0")
#: DAGs whose backfills are listed at once when every DAG's are asked for
LIST_STREAMS = 8
_REPROCESS = tuple(member.value for member in ReprocessBehavior)


def backfill_body(
    dag_id: str,
    start: datetime,
    end: datetime,
    *,
    conf: Mapping[str, Any] | None,
    reprocess: str | ReprocessBehavior,
    max_active_runs: int,
    run_backwards: bool,
) -> dict[str, Any]:
    """The ``BackfillPostBody`` of a backfill, every argument checked (InvalidArgumentError names it)."""
    segment(dag_id, "dag_id")
    first, last = aware(start, "start"), aware(end, "end")
    if first is None or last is None:
        raise InvalidArgumentError(
            f"{'start' if first is None else 'end'}: expected a timezone-aware datetime, got None"
        )
    if first > last:
        raise InvalidArgumentError(
            f"start: {first.isoformat()} is after end {last.isoformat()}; a backfill covers the "
            "schedule intervals from start to end, so start must not be after end"
        )
    behaviour = str(reprocess.value if isinstance(reprocess, ReprocessBehavior) else reprocess)
    if behaviour not in _REPROCESS:
        raise InvalidArgumentError(
            f"reprocess: expected 'none' (only dates without a run), 'failed' (failed runs too) or "
            f"'completed' (every finished run too), got {reprocess!r}"
        )
    if isinstance(max_active_runs, bool) or not isinstance(max_active_runs, int) or max_active_runs < 1:
        raise InvalidArgumentError(f"max_active_runs: expected an integer >= 1, got {max_active_runs!r}")
    if not isinstance(run_backwards, bool):
        raise InvalidArgumentError(f"run_backwards: expected True or False, got {run_backwards!r}")
    body: dict[str, Any] = {
        "dag_id": dag_id,
        "from_date": first.isoformat(),
        "to_date": last.isoformat(),
        "run_backwards": run_backwards,
        "reprocess_behavior": behaviour,
        "max_active_runs": max_active_runs,
    }
    checked = json_object(conf, "conf")
    if checked is not None:
        body["dag_run_conf"] = checked
    return body


def _backfill_id(value: int | AirflowBackfill) -> int:
    """The id of a backfill given as itself or as its id."""
    if isinstance(value, AirflowBackfill):
        return value.id
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidArgumentError(
            f"backfill_id: expected a backfill id (an integer >= 0) or a backfill, got {value!r}"
        )
    return value


class BackfillOperations(Session):
    """The backfill operations of both clients (Airflow 3.0.0+)."""

    @operation
    def create_backfill(
        self,
        dag_id: str,
        start: datetime,
        end: datetime,
        *,
        conf: Mapping[str, Any] | None = None,
        reprocess: str | ReprocessBehavior = "none",
        max_active_runs: int = 10,
        run_backwards: bool = False,
    ) -> Op[AirflowBackfill]:
        """Create a backfill: Airflow creates a run for every schedule interval of the DAG whose
        logical date is in ``[start, end]`` (``POST /backfills``, Airflow 3.0.0+).

        Args:
            dag_id: a DAG with a periodic schedule.
            start: the first logical date (timezone-aware).
            end: the last logical date (timezone-aware, not before ``start``).
            conf: the ``conf`` of every run created.
            reprocess: which dates that already have a run get one again: ``"none"``, ``"failed"``
                or ``"completed"`` (see :class:`~..backfill_models.ReprocessBehavior`).
            max_active_runs: runs of the backfill running at once.
            run_backwards: start with the latest date.

        Raises:
            ConflictError: another backfill of this DAG has not completed (Airflow allows one at a time).
        """
        body = backfill_body(
            dag_id,
            start,
            end,
            conf=conf,
            reprocess=reprocess,
            max_active_runs=max_active_runs,
            run_backwards=run_backwards,
        )
        answer = yield from self._post_backfill("/backfills", body, f"Creating a backfill of DAG {dag_id!r}")
        return AirflowBackfill.model_validate(answer)

    @operation
    def dry_run_backfill(
        self,
        dag_id: str,
        start: datetime,
        end: datetime,
        *,
        conf: Mapping[str, Any] | None = None,
        reprocess: str | ReprocessBehavior = "none",
        max_active_runs: int = 10,
        run_backwards: bool = False,
    ) -> Op[list[DryRunBackfill]]:
        """The runs :meth:`create_backfill` with these arguments would create, in the order it
        would run them, creating nothing (``POST /backfills/dry_run``, Airflow 3.0.0+)."""
        body = backfill_body(
            dag_id,
            start,
            end,
            conf=conf,
            reprocess=reprocess,
            max_active_runs=max_active_runs,
            run_backwards=run_backwards,
        )
        answer = yield from self._post_backfill(
            "/backfills/dry_run", body, f"Dry-running a backfill of DAG {dag_id!r}"
        )
        rows = answer.get("backfills") if isinstance(answer, dict) else None
        return parse_rows(DryRunBackfill, rows or [])

    def _post_backfill(self, path: str, body: dict[str, Any], action: str) -> Op[Any]:
        """POST a backfill body; again, with the client's backoff, after a 503.

        Airflow 3.3 answers 503 when SQLite was locked by another writer (the scheduler) and has
        then removed whatever the attempt created, so trying again is safe; older releases answer
        500 to that, which is not retried (they may leave a partly created backfill). A server
        older than Airflow 3.0 gets :class:`~kestra_airflow_sdk.airflow.errors.UnsupportedFeatureError` before any request of it.
        """
        yield from require(self, BACKFILLS)
        for attempt in itertools.count(1):
            try:
                return (yield from self._call("POST", path, action=action, json_body=body))
            except ApiError as exc:
                if exc.status != 503 or attempt >= self.retry.max_attempts:
                    raise
                delay = self.retry.backoff(attempt)
                logger.warning("%s: %s; retry %d in %.1fs", action, exc, attempt, delay)
                yield Delay(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    @operation
    def list_backfills(self, dag_id: str | Iterable[str] | None = None) -> Op[list[AirflowBackfill]]:
        """The backfills of one DAG, of several, or of every DAG (None), ordered by DAG then id
        (``GET /backfills?dag_id=``, Airflow 3.0.0+).

        Airflow lists the backfills of one DAG per request: every DAG's costs one request to list
        the DAGs, then one per DAG (at most 8 at once, never more than ``max_connections``).
        """
        dag_ids = requested_dags(dag_id)
        yield from require(self, BACKFILLS)
        if dag_ids is None:
            listed = yield from pages(
                self, "/dags", "dags", action="Listing DAGs", params={"exclude_stale": False}, limit=None
            )
            dag_ids = tuple(str(row["dag_id"]) for row in listed if isinstance(row.get("dag_id"), str))

        def of_dag(one: str) -> Op[list[AirflowBackfill]]:
            rows = yield from pages(
                self,
                "/backfills",
                "backfills",
                action=f"Listing the backfills of DAG {one!r}",
                params={"dag_id": one, "order_by": "id"},
                limit=None,
            )
            return parse_rows(AirflowBackfill, rows)

        in_flight = max(1, min(LIST_STREAMS, self.max_connections))
        found = yield from gather([of_dag(one) for one in sorted(dag_ids)], in_flight)
        return [backfill for backfills in found for backfill in sorted(backfills, key=lambda b: b.id)]

    @operation
    def get_backfill(self, backfill_id: int | AirflowBackfill) -> Op[AirflowBackfill]:
        """One backfill, as it is now (``GET /backfills/{id}``, Airflow 3.0.0+)."""
        number = _backfill_id(backfill_id)
        yield from require(self, BACKFILLS)
        answer = yield from self._call("GET", f"/backfills/{number}", action=f"Reading backfill {number}")
        return AirflowBackfill.model_validate(answer)

    @operation
    def pause_backfill(self, backfill_id: int | AirflowBackfill) -> Op[AirflowBackfill]:
        """Pause a backfill: its queued runs are not started until :meth:`unpause_backfill` (runs
        already running go on). ``PUT /backfills/{id}/pause``, Airflow 3.0.0+.

        Raises:
            ConflictError: the backfill has completed.
        """
        return (yield from self._put_backfill(backfill_id, "pause", "Pausing"))

    @operation
    def unpause_backfill(self, backfill_id: int | AirflowBackfill) -> Op[AirflowBackfill]:
        """Let a paused backfill start its queued runs again (``PUT /backfills/{id}/unpause``,
        Airflow 3.0.0+).

        Raises:
            ConflictError: the backfill has completed.
        """
        return (yield from self._put_backfill(backfill_id, "unpause", "Unpausing"))

    @operation
    def cancel_backfill(self, backfill_id: int | AirflowBackfill) -> Op[AirflowBackfill]:
        """Cancel a backfill: it is paused, its queued runs are marked ``failed`` and it is
        completed; runs already running go on to their end (``PUT /backfills/{id}/cancel``,
        Airflow 3.0.0+).

        Raises:
            ConflictError: the backfill has completed already.
        """
        return (yield from self._put_backfill(backfill_id, "cancel", "Cancelling"))

    def _put_backfill(self, backfill_id: int | AirflowBackfill, verb: str, doing: str) -> Op[AirflowBackfill]:
        number = _backfill_id(backfill_id)
        yield from require(self, BACKFILLS)
        answer = yield from self._call(
            "PUT", f"/backfills/{number}/{verb}", action=f"{doing} backfill {number}"
        )
        return AirflowBackfill.model_validate(answer)

    @operation
    def list_backfill_runs(self, backfill: int | AirflowBackfill) -> Op[list[DagRun]]:
        """The DAG runs of a backfill, ordered by logical date (Airflow 3.0.0+).

        Airflow's public API does not say which backfill a run belongs to; a run of this backfill
        is one of its DAG whose ``run_type`` is ``backfill``, whose logical date is in the
        backfill's ``[from_date, to_date]`` and which was queued after the backfill was created
        (and before the DAG's next backfill was: a later backfill that runs a date again takes
        its run over). Costs one request for the DAG's backfills (plus one to read the backfill
        when given its id) and the pages of the DAG's backfill runs of those dates.
        """
        info = backfill if isinstance(backfill, AirflowBackfill) else None
        if info is None:
            info = yield from BackfillOperations.get_backfill.fn(self, _backfill_id(backfill))
        else:
            yield from require(self, BACKFILLS)
        later = yield from pages(
            self,
            "/backfills",
            "backfills",
            action=f"Listing the backfills of DAG {info.dag_id!r}",
            params={"dag_id": info.dag_id, "order_by": "id"},
            limit=None,
        )
        successors = [b.created_at for b in parse_rows(AirflowBackfill, later) if b.id > info.id]
        until = min((moment for moment in successors if moment is not None), default=None)
        params: dict[str, Any] = {
            "run_type": ["backfill"],
            "logical_date_gte": info.from_date.isoformat() if info.from_date else None,
            "logical_date_lte": info.to_date.isoformat() if info.to_date else None,
            "order_by": "logical_date",
        }
        rows = yield from pages(
            self,
            f"/dags/{segment(info.dag_id, 'dag_id')}/dagRuns",
            "dag_runs",
            action=f"Listing the runs of backfill {info.id} of DAG {info.dag_id!r}",
            params=params,
            limit=None,
        )
        runs = parse_rows(DagRun, rows)
        created = info.created_at

        def belongs(run: DagRun) -> bool:
            queued = run.queued_at
            return (
                run.run_type == "backfill"
                and queued is not None
                and (created is None or queued >= created)
                and (until is None or queued < until)
            )

        return [run for run in runs if belongs(run)]
