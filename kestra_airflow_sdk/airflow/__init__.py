"""Airflow REST layer: the operations, auth, version dialects, models and errors (on the request core, :mod:`kestra_airflow_sdk.transport`).

No pandas here: the REST-only clients are in :mod:`.client`; the public clients
(:mod:`kestra_airflow_sdk.client`) add the DataFrame operations.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..exports import lazy_exports

if TYPE_CHECKING:
    from ..transport.retry import DEFAULT_RETRY, NO_RETRY, RetryPolicy
    from .auth import AirflowPasswordAuth, BearerTokenAuth
    from .backfill_models import AirflowBackfill, BackfillState, DryRunBackfill, ReprocessBehavior
    from .errors import (
        AirflowConnectionError,
        AirflowError,
        AlreadyAnsweredError,
        ApiError,
        AuthenticationError,
        ConflictError,
        DagPausedError,
        DagPausedWarning,
        InvalidArgumentError,
        NotFoundError,
        PermissionDeniedError,
        UnsupportedFeatureError,
        WaitTimeoutError,
    )
    from .hitl_models import HitlRequest, HitlResponse, HitlUser
    from .models import (
        AirflowDag,
        AirflowDagTask,
        DagRun,
        DagRunState,
        TaskInstance,
        TaskInstanceState,
        VersionInfo,
    )
    from .versions import ApiVersion

__all__ = [
    "DEFAULT_RETRY",
    "NO_RETRY",
    "AirflowBackfill",
    "AirflowConnectionError",
    "AirflowDag",
    "AirflowDagTask",
    "AirflowError",
    "AirflowPasswordAuth",
    "AlreadyAnsweredError",
    "ApiError",
    "ApiVersion",
    "AuthenticationError",
    "BackfillState",
    "BearerTokenAuth",
    "ConflictError",
    "DagPausedError",
    "DagPausedWarning",
    "DagRun",
    "DagRunState",
    "DryRunBackfill",
    "HitlRequest",
    "HitlResponse",
    "HitlUser",
    "InvalidArgumentError",
    "NotFoundError",
    "PermissionDeniedError",
    "ReprocessBehavior",
    "RetryPolicy",
    "TaskInstance",
    "TaskInstanceState",
    "UnsupportedFeatureError",
    "VersionInfo",
    "WaitTimeoutError",
]

if not TYPE_CHECKING:  # type checkers read the imports above; at run time each name loads on first use
    __getattr__, __dir__ = lazy_exports(__name__)
