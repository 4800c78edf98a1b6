"""Kestra's ``io.kestra.plugin.core.http.Download``: download a file over HTTP into the internal
storage.

Properties are Kestra's ``AbstractHttp`` ones (``uri``, ``method``, ``headers``, ``options`` with
``auth``, ``timeout``, ``allowFailed`` ...), plus ``failOnEmptyResponse`` (default true: an empty
response fails the task). Outputs: ``uri`` (the ``kestra:///`` URI of the stored file), ``code``,
``length`` (bytes received) and ``headers``; metric ``response.length``.
"""

from __future__ import annotations

from ..registry import register
from .http import AbstractHttp

__all__ = ["HttpDownload"]


@register("io.kestra.plugin.core.http.Download", "io.kestra.plugin.fs.http.Download")
class HttpDownload(AbstractHttp):
    """Download ``uri`` into the execution's internal storage (output ``uri``); an empty response
    fails the task unless ``failOnEmptyResponse: false`` or ``options.allowFailed``."""

    fail_on_empty_response: bool = True
