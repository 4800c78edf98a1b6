"""Airflow REST layer: the sans-I/O core, its two drivers, auth, version dialects, models and errors.

No pandas here: the REST-only clients are in :mod:`.client`; the public clients
(:mod:`kestra_airflow_sdk.client`) add the DataFrame operations.
"""

from .auth import AirflowPasswordAuth, BearerTokenAuth
from .errors import (
    AirflowConnectionError,
    AirflowError,
    ApiError,
    AuthenticationError,
    ConflictError,
    DagPausedError,
    DagPausedWarning,
    InvalidArgumentError,
    NotFoundError,
    PermissionDeniedError,
    WaitTimeoutError,
)
from .models import Dag, DagRun, DagRunState, DagTask, TaskInstance, TaskInstanceState, VersionInfo
from .retry import DEFAULT_RETRY, NO_RETRY, RetryPolicy
from .versions import ApiVersion

__all__ = [
    "DEFAULT_RETRY",
    "NO_RETRY",
    "AirflowConnectionError",
    "AirflowError",
    "AirflowPasswordAuth",
    "ApiError",
    "ApiVersion",
    "AuthenticationError",
    "BearerTokenAuth",
    "ConflictError",
    "Dag",
    "DagPausedError",
    "DagPausedWarning",
    "DagRun",
    "DagRunState",
    "DagTask",
    "InvalidArgumentError",
    "NotFoundError",
    "PermissionDeniedError",
    "RetryPolicy",
    "TaskInstance",
    "TaskInstanceState",
    "VersionInfo",
    "WaitTimeoutError",
]
