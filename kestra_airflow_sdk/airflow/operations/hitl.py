"""Operations on human-in-the-loop requests (Airflow 3.1+): list them, read one (and its earlier tries),
answer one.

Airflow 3.1.0 added ``GET /dags/{dag_id}/dagRuns/{dag_run_id}/hitlDetails`` (``~`` for every DAG or
run), ``GET`` and ``PATCH /dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}/{map_index}/hitlDetails``;
Airflow 3.2.0 added ``GET …/hitlDetails/tries/{try_number}``. Against an older server each operation
raises :class:`~..errors.UnsupportedFeatureError` before sending a request of its own.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from typing import Any

from ...transport.effects import Delay, Op
from ...transport.operation import operation
from ...transport.retry import NO_RETRY, RetryPolicy
from ..arguments import json_object, segment
from ..arguments import limit as checked_limit
from ..errors import AirflowError, AlreadyAnsweredError, ConflictError, InvalidArgumentError, NotFoundError
from ..features import Feature, require, version_tuple
from ..hitl_models import HitlRequest, HitlResponse, awaits_a_person, task_text
from ..models import DagRun, TaskInstance
from ..pagination import paginate, parse_rows
from ..session import Session, logger

__all__ = [
    "HITL",
    "HITL_TRIES",
    "HitlOperations",
    "has_hitl",
    "pending_request_of_run",
    "read_hitl_request",
    "waiting_request",
]

#: human-in-the-loop requests: list, read, answer (Airflow 3.1.0)
HITL = Feature("human-in-the-loop requests", "3.1.0")
#: the request of an earlier try of a task (Airflow 3.2.0)
HITL_TRIES = Feature("human-in-the-loop request tries", "3.2.0")
#: how old a request must be before :meth:`HitlOperations.respond` answers it (seconds; see there)
SETTLE = 10.0


def _request_path(dag_id: str, dag_run_id: str, task_id: str, map_index: int) -> str:
    if isinstance(map_index, bool) or not isinstance(map_index, int) or map_index < -1:
        raise InvalidArgumentError(
            f"map_index: expected an integer >= -1 (-1: not mapped), got {map_index!r}"
        )
    return (
        f"/dags/{segment(dag_id, 'dag_id')}/dagRuns/{segment(dag_run_id, 'dag_run_id')}"
        f"/taskInstances/{segment(task_id, 'task_id')}/{map_index}/hitlDetails"
    )


def _missing(error: NotFoundError, where: str) -> NotFoundError:
    """Airflow's 404 said as: there is no request of this task."""
    return NotFoundError(
        f"No human-in-the-loop request of {where}: the task instance does not exist or does not ask a "
        f"person (Airflow answered 404: {error.detail})",
        status=error.status,
        detail=error.detail,
        method=error.method,
        path=error.path,
    )


def read_hitl_request(
    session: Session, dag_id: str, dag_run_id: str, task_id: str, map_index: int = -1
) -> Op[HitlRequest]:
    """Operation: the request of one task instance (its latest try); a clear
    :class:`~..errors.NotFoundError` when there is none."""
    path = _request_path(dag_id, dag_run_id, task_id, map_index)
    where = task_text(dag_id, dag_run_id, task_id, map_index)
    yield from require(session, HITL)
    try:
        body = yield from session._call(
            "GET", path, action=f"Reading the human-in-the-loop request of {where}"
        )
    except NotFoundError as exc:
        raise _missing(exc, where) from None
    return HitlRequest.model_validate(body)


def has_hitl(session: Session) -> bool:
    """Whether the server is known to serve human-in-the-loop requests (Airflow 3.1+)."""
    version = session.server_version
    return version is not None and version_tuple(version) >= version_tuple(HITL.since)


def pending_request_of_run(
    session: Session, dag_id: str, dag_run_id: str, retry: RetryPolicy | None = None
) -> Op[HitlRequest | None]:
    """Operation: the oldest unanswered request of one DAG run, or None; one request, and none at all
    when the server is older than Airflow 3.1 (for displays: never raises for an old server)."""
    yield from session._dialect()
    if not has_hitl(session):
        return None
    path = f"/dags/{segment(dag_id, 'dag_id')}/dagRuns/{segment(dag_run_id, 'dag_run_id')}/hitlDetails"
    body = yield from session._call(
        "GET",
        path,
        action=f"Listing the pending human-in-the-loop requests of DAG run {dag_run_id!r} of DAG {dag_id!r}",
        params={"response_received": "false", "order_by": "created_at", "limit": 1},
        retry=retry,
    )
    rows = body.get("hitl_details") if isinstance(body, dict) else None
    requests = parse_rows(HitlRequest, rows if isinstance(rows, list) else [])
    return requests[0] if requests else None


def waiting_request(
    session: Session, run: DagRun, task_instances: Iterable[TaskInstance] | None
) -> Op[HitlRequest | None]:
    """Operation for waits and displays: the request a polled run waits on a person for, or None.

    Gentle: asks Airflow (one request, no retries) only when the poll read the run's task
    instances (as a progress display's polls do; ``None``: not read, nothing asked), the run is
    running, one of its task instances is waiting (``awaiting_input``, or ``deferred`` before 3.3)
    and the server is Airflow 3.1+. So batched waits without a display send nothing more. A failure
    to ask is logged and reads as None: it never ends a wait.
    """
    if task_instances is None or not awaits_a_person(run.state, [ti.state for ti in task_instances]):
        return None
    yield from session._dialect()  # known already in a wait: no request
    if not has_hitl(session):
        return None
    try:
        return (yield from pending_request_of_run(session, run.dag_id, run.dag_run_id, retry=NO_RETRY))
    except AirflowError as exc:
        logger.debug("could not read the human-in-the-loop requests of DAG run %r: %s", run.dag_run_id, exc)
        return None


class HitlOperations(Session):
    """The human-in-the-loop operations of both clients (Airflow 3.1+)."""

    @operation
    def list_hitl_requests(
        self,
        dag_id: str | None = None,
        dag_run_id: str | None = None,
        *,
        pending: bool | None = None,
        task_id: str | None = None,
        limit: int | None = None,
    ) -> Op[list[HitlRequest]]:
        """Human-in-the-loop requests, oldest first, all pages fetched (Airflow 3.1.0+).

        Args:
            dag_id: one DAG, or None for every DAG (``~``).
            dag_run_id: one run of that DAG, or None for every run (``~``).
            pending: True: only requests nobody answered; False: only answered ones; None: both.
            task_id: only the requests of this task.
            limit: stop after this many requests.
        """
        checked_limit(limit)
        if dag_run_id is not None and dag_id is None:
            raise InvalidArgumentError(f"dag_run_id={dag_run_id!r} needs the dag_id of its DAG")
        if pending is not None and not isinstance(pending, bool):
            raise InvalidArgumentError(f"pending: expected True, False or None, got {pending!r}")
        if task_id is not None:
            segment(task_id, "task_id")
        dag = "~" if dag_id is None else segment(dag_id, "dag_id")
        run = "~" if dag_run_id is None else segment(dag_run_id, "dag_run_id")
        yield from require(self, HITL)
        params: dict[str, Any] = {
            "response_received": None if pending is None else str(pending is False).lower(),
            "task_id": task_id,
            "order_by": "created_at",
        }
        what = f"DAG {dag_id!r}" if dag_id else "every DAG"
        if dag_run_id:
            what = f"DAG run {dag_run_id!r} of {what}"
        return (
            yield from paginate(
                self,
                f"/dags/{dag}/dagRuns/{run}/hitlDetails",
                "hitl_details",
                HitlRequest,
                action=f"Listing the human-in-the-loop requests of {what}",
                params=params,
                limit=limit,
            )
        )

    @operation
    def get_hitl_request(
        self, dag_id: str, dag_run_id: str, task_id: str, *, map_index: int = -1
    ) -> Op[HitlRequest]:
        """The human-in-the-loop request of one task instance, answered or not (Airflow 3.1.0+).

        Raises:
            NotFoundError: the task instance does not exist or asks nobody anything.
        """
        return (yield from read_hitl_request(self, dag_id, dag_run_id, task_id, map_index))

    @operation
    def get_hitl_request_try(
        self, dag_id: str, dag_run_id: str, task_id: str, try_number: int, *, map_index: int = -1
    ) -> Op[HitlRequest]:
        """The human-in-the-loop request of one try of a task instance (Airflow 3.2.0+): a task that
        was cleared and asked again keeps the request (and answer) of each try."""
        if isinstance(try_number, bool) or not isinstance(try_number, int) or try_number < 1:
            raise InvalidArgumentError(f"try_number: expected an integer >= 1, got {try_number!r}")
        path = f"{_request_path(dag_id, dag_run_id, task_id, map_index)}/tries/{try_number}"
        where = f"try {try_number} of {task_text(dag_id, dag_run_id, task_id, map_index)}"
        yield from require(self, HITL_TRIES)
        try:
            body = yield from self._call(
                "GET", path, action=f"Reading the human-in-the-loop request of {where}"
            )
        except NotFoundError as exc:
            raise _missing(exc, where) from None
        return HitlRequest.model_validate(body)

    @operation
    def respond(
        self,
        dag_id: str,
        dag_run_id: str,
        task_id: str,
        chosen_options: str | Iterable[str],
        params: Mapping[str, Any] | None = None,
        *,
        map_index: int = -1,
        settle: float = SETTLE,
    ) -> Op[HitlResponse]:
        """Answer the human-in-the-loop request of a task: the run goes on (Airflow 3.1.0+).

        The request is read first, so that a wrong answer is refused before anything is written.

        An answer sent within moments of the request fails the task on Airflow 3.3.2: the task
        pauses by exiting, and when the scheduler learns of that exit after the answer has already
        started the task again, it takes the exit for a crash of the resumed task and marks it
        failed ("state mismatch" in the event log). So the answer waits until the request is
        ``settle`` seconds old (by its ``created_at`` and this machine's clock; never longer than
        ``settle``). A person never notices; a program answering at once is delayed by at most that.

        Args:
            dag_id / dag_run_id / task_id / map_index: the task instance that asks.
            chosen_options: the option chosen (one string) or options (when the request allows
                several); each must be one the request offers.
            params: values of the request's params, by name; params not given keep their default.
            settle: the age, in seconds, a request must reach before it is answered (0: at once).

        Raises:
            InvalidArgumentError: an option the request does not offer (the message lists those it
                offers), several options for a single-choice request, or an unknown param.
            AlreadyAnsweredError: somebody answered the request already.
            NotFoundError: the task instance does not exist or asks nobody anything.
        """
        chosen = [chosen_options] if isinstance(chosen_options, str) else list(chosen_options)
        if not chosen or not all(isinstance(option, str) and option for option in chosen):
            raise InvalidArgumentError(
                f"chosen_options: expected one option or a list of options (non-empty strings), got {chosen_options!r}"
            )
        given = json_object(params, "params") or {}
        if isinstance(settle, bool) or not isinstance(settle, int | float) or not 0 <= settle <= 3600:
            raise InvalidArgumentError(f"settle: expected seconds between 0 and 3600, got {settle!r}")
        request = yield from read_hitl_request(self, dag_id, dag_run_id, task_id, map_index)
        _check_answer(request, chosen, given)
        young = _time_to_settle(request, settle)
        if young > 0:
            yield Delay(young)
        where = request.describe()
        body: dict[str, Any] = {"chosen_options": chosen}
        if request.params or given:
            body["params_input"] = {**request.param_defaults, **given}
        try:
            answer = yield from self._call(
                "PATCH",
                _request_path(dag_id, dag_run_id, task_id, map_index),
                action=f"Answering the human-in-the-loop request of {where}",
                json_body=body,
            )
        except ConflictError:  # answered between our read and our answer
            latest = yield from read_hitl_request(self, dag_id, dag_run_id, task_id, map_index)
            raise _answered(latest) from None
        except NotFoundError as exc:
            raise _missing(exc, where) from None
        return HitlResponse.model_validate(answer)


def _time_to_settle(request: HitlRequest, settle: float) -> float:
    """How long to wait until the request is ``settle`` seconds old (0 to ``settle``)."""
    if request.created_at is None:
        return 0.0
    age = (datetime.now(timezone.utc) - request.created_at).total_seconds()
    return min(settle, max(0.0, settle - age))


def _answered(request: HitlRequest) -> AlreadyAnsweredError:
    who = request.responded_by.name if request.responded_by is not None else None
    by = f" by {who}" if who else ""
    when = f" at {request.responded_at.isoformat(timespec='seconds')}" if request.responded_at else ""
    chose = f", who chose {request.chosen_options}" if request.chosen_options else ""
    return AlreadyAnsweredError(
        f"The human-in-the-loop request of {request.describe()} ({request.subject!r}) was answered "
        f"already{by}{when}{chose}; Airflow keeps the first answer",
        responded_by=who,
        chosen_options=request.chosen_options,
    )


def _check_answer(request: HitlRequest, chosen: list[str], params: Mapping[str, Any]) -> None:
    """Refuse an answer Airflow would refuse (or accept and then fail the task on)."""
    if request.response_received:
        raise _answered(request)
    offered = ", ".join(map(repr, request.options))
    wrong = [option for option in chosen if option not in request.options]
    if wrong:
        raise InvalidArgumentError(
            f"chosen_options: {', '.join(map(repr, wrong))} {'is' if len(wrong) == 1 else 'are'} not offered "
            f"by the human-in-the-loop request of {request.describe()} ({request.subject!r}); "
            f"the options offered are {offered}"
        )
    if len(chosen) > 1 and not request.multiple:
        raise InvalidArgumentError(
            f"chosen_options: {len(chosen)} options chosen, but the human-in-the-loop request of "
            f"{request.describe()} takes exactly one of {offered}"
        )
    unknown = sorted(set(params) - set(request.params))
    if unknown:
        expected = ", ".join(map(repr, request.params)) or "none"
        raise InvalidArgumentError(
            f"params: {', '.join(map(repr, unknown))} not asked for by the human-in-the-loop request of "
            f"{request.describe()}; its params are {expected}"
        )
