"""kestra-airflow-sdk: orchestrate Apache Airflow DAGs the Kestra way, from Python and Jupyter."""

from .airflow import (
    AirflowClient,
    AirflowConnectionError,
    AirflowError,
    AirflowPasswordAuth,
    ApiError,
    ApiVersion,
    AsyncAirflowClient,
    AuthenticationError,
    BearerTokenAuth,
    ConflictError,
    Dag,
    DagRun,
    DagRunState,
    InvalidArgumentError,
    NotFoundError,
    PermissionDeniedError,
    TaskInstance,
    TaskInstanceState,
    VersionInfo,
    WaitTimeoutError,
)

__version__ = "0.1.0"

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
