"""Airflow REST client: transport drivers, auth, version dialects, models and errors."""

from .auth import AirflowPasswordAuth, BearerTokenAuth
from .client import AirflowClient, AsyncAirflowClient
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
    "AirflowClient",
    "AirflowConnectionError",
    "AirflowError",
    "AirflowPasswordAuth",
    "ApiError",
    "ApiVersion",
    "AsyncAirflowClient",
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
