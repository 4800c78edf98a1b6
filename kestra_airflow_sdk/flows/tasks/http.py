"""Kestra's ``io.kestra.plugin.core.http.Request``: one HTTP request, its response as outputs.

Property names and defaults are Kestra's (``AbstractHttp``): ``uri``, ``method`` (GET), ``body``,
``formData``, ``contentType`` (``application/json``), ``headers``, ``options`` (``auth``,
``timeout``, ``followRedirects``, ``allowFailed``, ``allowedResponseCodes`` ...) and the deprecated
top-level ``allowFailed``. Outputs: ``uri``, ``code``, ``headers`` (name → list of values) and
``body`` (the response text).
"""

from __future__ import annotations

from typing import Any

from ..options import HttpOptions
from ..registry import register
from ..task import Task

__all__ = ["AbstractHttp", "HttpRequest"]


class AbstractHttp(Task):
    """What Kestra's HTTP tasks (``Request``, ``Download``) share (``AbstractHttp``): the request
    and its ``options``."""

    uri: str
    method: str = "GET"
    body: str | None = None
    form_data: dict[str, Any] | None = None
    content_type: str = "application/json"
    headers: dict[str, Any] | None = None
    options: HttpOptions | None = None
    #: deprecated in Kestra: use ``options.allowFailed``
    allow_failed: bool | None = None
    #: deprecated in Kestra: use ``options.ssl``
    ssl_options: dict[str, Any] | None = None

    def option(self, name: str, default: Any = None) -> Any:
        """An ``options`` key the SDK does not model (``followRedirects``, ``allowFailed`` ...)."""
        extra = (self.options.model_extra if self.options is not None else None) or {}
        return extra.get(name, default)


@register("io.kestra.plugin.core.http.Request", "io.kestra.plugin.fs.http.Request")
class HttpRequest(AbstractHttp):
    """Send an HTTP request to ``uri``; a response code >= 400 fails the task unless
    ``options.allowFailed`` (or the code is one of ``options.allowedResponseCodes``)."""

    encrypt_body: bool | None = None
