"""Which Airflow release brought which REST feature, and the check an operation runs first.

An operation on a resource older servers lack (human-in-the-loop requests, backfills, assets, ...)
starts with ``yield from require(self, FEATURE)``: against an older server it raises
:class:`~.errors.UnsupportedFeatureError` naming the feature, the release that added it and the
server's version, before sending any request of its own (the server's version is read once per client,
with the API dialect).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..transport.effects import Op
from .errors import UnsupportedFeatureError
from .session import Session

__all__ = ["Feature", "require", "supports", "version_tuple"]


@dataclass(frozen=True)
class Feature:
    """A REST feature and the first Airflow release that serves it."""

    name: str
    since: str


def version_tuple(version: str) -> tuple[int, ...]:
    """``"3.1.0rc1"`` → ``(3, 1, 0)``: the leading numeric parts of a version string."""
    parts: list[int] = []
    for piece in version.split("."):
        digits = ""
        for char in piece:
            if not char.isdigit():
                break
            digits += char
        if not digits:
            break
        parts.append(int(digits))
        if len(digits) < len(piece):
            break
    return tuple(parts)


def supports(session: Session, feature: Feature) -> Op[bool]:
    """Operation: whether the connected server has ``feature`` (its version is ``feature.since``
    or later); the capability test of an operation that does without the feature on older servers."""
    yield from session._dialect()
    version = session.server_version
    return version is not None and version_tuple(version) >= version_tuple(feature.since)


def require(session: Session, feature: Feature) -> Op[None]:
    """Operation: return if the connected server has ``feature``, else raise
    :class:`~.errors.UnsupportedFeatureError` (no request of the feature is sent)."""
    if (yield from supports(session, feature)):
        return
    version = session.server_version
    raise UnsupportedFeatureError(
        f"{feature.name} need Airflow {feature.since} or later; the server at {session.base_url} runs "
        f"Airflow {version or '(version unknown)'}",
        feature=feature.name,
        since=feature.since,
        server_version=version,
    )
