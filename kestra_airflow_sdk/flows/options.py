"""Kestra's HTTP ``options`` (``HttpConfiguration``) as TriggerDagRun uses them.

Current form (what Kestra 2 accepts)::

    options:
      auth: {type: BASIC, username: ..., password: ...}   # or {type: BEARER, token: ...}
      timeout: {connectTimeout: PT10S, readIdleTimeout: PT5M}
      retry: {type: exponential, maxAttempts: 5, interval: PT0.5S, maxInterval: PT10S}

``retry`` (Kestra's retry shape) sets how the task's HTTP requests to Airflow are retried (see
:func:`kestra_airflow_sdk.runner.retry.http_retry_policy`); the task's own ``retry`` re-runs the
whole task instead. A retry the client cannot follow (a ``delayFactor`` below 1, a ``minInterval``
above ``maxInterval``) is refused when the flow is loaded, naming the field.

The legacy flat fields (``basicAuthUser``, ``basicAuthPassword``, ``connectTimeout``,
``readTimeout``) are accepted. Options built in Python are upgraded to the current form at once; a
loaded document keeps what it says unless ``Flow.from_yaml(..., upgrade=True)``. Other Kestra keys
(``proxy``, ``ssl``, ``followRedirects`` ...) are kept for the export but not used locally.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

from pydantic import ConfigDict, Field, ValidationInfo, field_validator, model_validator

from .base import KestraModel, SecretText
from .durations import Duration, parse_duration
from .task import TaskRetry

__all__ = ["BasicAuthOption", "BearerAuthOption", "HttpOptions", "HttpTimeout"]

#: validation context key: keep the legacy flat fields of a loaded document as they are
KEEP_LEGACY = "kestra_airflow_sdk.keep_legacy"


class BasicAuthOption(KestraModel):
    """``auth: {type: BASIC, username, password}``: a user of Airflow (basic auth on Airflow 2, a
    JWT from ``/auth/token`` on Airflow 3)."""

    type: Literal["BASIC"] = "BASIC"
    username: SecretText | None = None
    password: SecretText | None = None

    @model_validator(mode="after")
    def _type_is_always_written(self) -> BasicAuthOption:
        self.model_fields_set.add("type")
        return self


class BearerAuthOption(KestraModel):
    """``auth: {type: BEARER, token}``: a static bearer token (managed Airflow services)."""

    type: Literal["BEARER"] = "BEARER"
    token: SecretText | None = None

    @model_validator(mode="after")
    def _type_is_always_written(self) -> BearerAuthOption:
        self.model_fields_set.add("type")
        return self


Auth = Annotated[BasicAuthOption | BearerAuthOption, Field(discriminator="type")]


class HttpTimeout(KestraModel):
    """``timeout: {connectTimeout, readIdleTimeout}`` (Kestra's default read idle timeout: PT5M)."""

    connect_timeout: Duration | None = None
    read_idle_timeout: Duration | None = None


class HttpOptions(KestraModel):
    """Kestra's HTTP client options; see the module documentation."""

    model_config = ConfigDict(extra="allow")

    auth: Auth | None = None
    timeout: HttpTimeout | None = None
    retry: TaskRetry | None = None
    basic_auth_user: SecretText | None = None
    basic_auth_password: SecretText | None = None
    connect_timeout: Duration | None = None
    read_timeout: Duration | None = None

    @field_validator("retry")
    @classmethod
    def _retry_the_client_can_follow(cls, retry: TaskRetry | None) -> TaskRetry | None:
        """HTTP retries wait longer each time (or as long): refuse what would shrink the delay."""
        if retry is None:
            return None
        if (
            retry.type == "exponential"
            and retry.delay_factor is not None
            and not 1 <= retry.delay_factor < math.inf
        ):
            raise ValueError(
                f"delayFactor: expected a finite number >= 1 (the delay between HTTP retries never shrinks), "
                f"got {retry.delay_factor!r}"
            )
        if retry.type == "random" and retry.min_interval is not None:
            high = retry.max_interval or retry.interval
            if high is not None and parse_duration(retry.min_interval) > parse_duration(high):
                name = "maxInterval" if retry.max_interval else "interval"
                raise ValueError(f"minInterval: expected at most {name} ({high}), got {retry.min_interval}")
        return retry

    @model_validator(mode="after")
    def _upgrade_legacy(self, info: ValidationInfo) -> HttpOptions:
        if (info.context or {}).get(KEEP_LEGACY):
            return self
        return self.upgraded()

    @property
    def is_legacy(self) -> bool:
        """True when the options use one of the pre-Kestra-2 flat fields."""
        return bool(
            {"basic_auth_user", "basic_auth_password", "connect_timeout", "read_timeout"}
            & self.model_fields_set
        )

    def upgraded(self) -> HttpOptions:
        """Move the legacy flat fields into ``auth`` / ``timeout`` (what Kestra's 2.0 migrator does)."""
        if not self.is_legacy:
            return self
        fields = self.model_fields_set
        if {"basic_auth_user", "basic_auth_password"} & fields and self.auth is None:
            self.auth = BasicAuthOption(username=self.basic_auth_user, password=self.basic_auth_password)
            fields.add("auth")
        if {"connect_timeout", "read_timeout"} & fields:
            timeout = self.timeout or HttpTimeout()
            if self.connect_timeout is not None and timeout.connect_timeout is None:
                timeout.connect_timeout = self.connect_timeout
                timeout.model_fields_set.add("connect_timeout")
            if self.read_timeout is not None and timeout.read_idle_timeout is None:
                timeout.read_idle_timeout = self.read_timeout
                timeout.model_fields_set.add("read_idle_timeout")
            self.timeout = timeout
            fields.add("timeout")
        for legacy in ("basic_auth_user", "basic_auth_password", "connect_timeout", "read_timeout"):
            setattr(self, legacy, None)
            fields.discard(legacy)
        if self._document_keys is not None:
            self._document_keys = _replace_legacy_keys(self._document_keys)
        return self


def _replace_legacy_keys(keys: tuple[str, ...]) -> tuple[str, ...]:
    renamed = {
        "basicAuthUser": "auth",
        "basicAuthPassword": "auth",
        "connectTimeout": "timeout",
        "readTimeout": "timeout",
    }
    out: list[str] = []
    for key in keys:
        new = renamed.get(key, key)
        if new not in out:
            out.append(new)
    return tuple(out)
