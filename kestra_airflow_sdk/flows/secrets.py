"""``secret('NAME')`` as open-source Kestra resolves it, and how resolved values stay hidden.

Lookup order: the ``secrets=`` mapping given to ``run()``, then the environment variable
``SECRET_<NAME>`` whose value is base64-encoded (Kestra's convention); names are case-insensitive.

A resolved value is a :class:`pydantic.SecretStr` from the moment it is read: it prints as
``**********`` in every ``repr``, ``str``, log record and exception. Only :func:`reveal`, called at
the last moment before a value goes over the wire, turns it back into text; :func:`mask_like` hides
the same places again in what Airflow sends back (e.g. a DAG run's ``conf``).

The resolver also keeps a registry of the values it resolved: :meth:`SecretResolver.redact` masks
every one of them (as text, base64 and URL-encoded) in a text that left the SDK's typed world,
e.g. an HTTP body written to a test cassette, without ever handing the values out.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, quote_plus

from pydantic import SecretStr

from .errors import FlowError, SecretNotFoundError

__all__ = ["MASK", "SecretResolver", "mask_like", "reveal"]

MASK = "******"


class SecretResolver:
    """Resolve secret names to :class:`SecretStr` values (see the module documentation).

    Args:
        secrets: name → value; names are matched case-insensitively.
        environ: where ``SECRET_<NAME>`` variables are read (default: ``os.environ``).
        advice: how to give a missing secret, in the error naming it (``{name}`` is its name): the
            default speaks of ``run()``, the command line of its options.
    """

    def __init__(
        self,
        secrets: Mapping[str, str | SecretStr] | None = None,
        environ: Mapping[str, str] | None = None,
        *,
        advice: str = "pass secrets={{{name!r}: ...}} to run()",
    ) -> None:
        self._given = {
            str(name).upper(): value if isinstance(value, SecretStr) else SecretStr(str(value))
            for name, value in (secrets or {}).items()
        }
        self._environ = os.environ if environ is None else environ
        self._resolved: list[SecretStr] = []
        self._advice = advice

    def __repr__(self) -> str:
        return f"SecretResolver(names={sorted(self._given)!r})"

    def resolve(self, name: str, where: str = "") -> SecretStr:
        """The value of secret ``name``; raise :class:`SecretNotFoundError` naming it and ``where``."""
        value = self._lookup(name, where)
        if value not in self._resolved:
            self._resolved.append(value)
        return value

    def has(self, name: str) -> bool:
        """True when secret ``name`` is given or its ``SECRET_<NAME>`` variable is set (whose value
        :meth:`resolve` may still find not base64)."""
        variable = f"SECRET_{name.upper()}"
        return name.upper() in self._given or any(k.upper() == variable for k in self._environ)

    def register(self, value: SecretStr) -> None:
        """Mask ``value`` from now on too (e.g. the value of a SECRET input)."""
        if value not in self._resolved:
            self._resolved.append(value)

    def redact(self, text: str, *, keep_length: bool = False) -> str:
        """``text`` with every value resolved so far masked (also base64- and URL-encoded forms):
        by :data:`MASK`, or with ``keep_length`` by as many ``*`` as the value has characters, as
        Kestra masks secrets in log lines."""
        forms = {form for secret in self._resolved for form in _encodings(secret.get_secret_value()) if form}
        for form in sorted(forms, key=len, reverse=True):
            text = text.replace(form, "*" * len(form) if keep_length else MASK)
        return text

    def _lookup(self, name: str, where: str) -> SecretStr:
        key = name.upper()
        if key in self._given:
            return self._given[key]
        variable = f"SECRET_{key}"
        encoded = next((v for k, v in self._environ.items() if k.upper() == variable), None)
        if encoded is None:
            used = f" (used in {where})" if where else ""
            raise SecretNotFoundError(
                f"Secret {name!r}{used} is not defined: {self._advice.format(name=key)} or set the "
                f"environment variable {variable} to the base64-encoded value",
                name=name,
                where=where,
            )
        try:
            return SecretStr(base64.b64decode(encoded.strip(), validate=True).decode("utf-8"))
        except (binascii.Error, ValueError, UnicodeDecodeError):
            raise FlowError(
                f"The environment variable {variable} (secret {name!r}) is not valid base64: open-source "
                f"Kestra reads SECRET_* variables base64-encoded, e.g. {variable}=$(printf %s 'value' | base64)"
            ) from None


def _encodings(value: str) -> tuple[str, ...]:
    """How a value may appear in a transmitted text: as is, JSON-escaped, URL-encoded, base64."""
    escaped = json.dumps(value)[1:-1]
    return (
        value,
        escaped,
        quote(value, safe=""),
        quote_plus(value),
        base64.b64encode(value.encode()).decode(),
    )


def reveal(value: Any) -> Any:
    """A copy of ``value`` with every :class:`SecretStr` inside replaced by its text (for the wire)."""
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, dict):
        return {k: reveal(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [reveal(v) for v in value]
    return value


def mask_like(sent: Any, received: Any) -> Any:
    """``received`` with :data:`MASK` wherever ``sent`` (same shape) held a secret."""
    if isinstance(sent, SecretStr):
        return MASK
    if isinstance(sent, dict) and isinstance(received, dict):
        return {k: mask_like(sent[k], v) if k in sent else v for k, v in received.items()}
    if isinstance(sent, (list, tuple)) and isinstance(received, list) and len(sent) == len(received):
        return [mask_like(s, r) for s, r in zip(sent, received, strict=True)]
    return received
