"""Airflow REST client: transport drivers, auth, version dialects, models and errors."""

from .auth import AirflowPasswordAuth, BearerTokenAuth
from .client import AirflowClient, AsyncAirflowClient
from .errors import (
    AirflowConnectionError,
    AirflowError,
    ApiError,
    AuthenticationError,
    ConflictError,
    InvalidArgumentError,
    NotFoundError,
    PermissionDeniedError,
    WaitTimeoutError,
)
from .models import Dag, DagRun, DagRunState, TaskInstance, TaskInstanceState, VersionInfo
from .versions import ApiVersion

__all__ = [
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
    "DagRun",
    "DagRunState",
    "InvalidArgumentError",
    "NotFoundError",
    "PermissionDeniedError",
    "TaskInstance",
    "TaskInstanceState",
    "VersionInfo",
    "WaitTimeoutError",
]
