"""Kestra expressions (Pebble templates) as Kestra renders them; the engine is in :mod:`.pebble`.

Kestra semantics: a rendered property is a string; maps and lists render as JSON, booleans as
``true``/``false``, null as an empty string. Rendering is not recursive (an expression's value is
not rendered again, unless ``render()`` asks for it). A value that involved a secret comes back as a
:class:`pydantic.SecretStr`. An undefined variable is an error naming it (and what is defined
there) unless ``??``, ``default`` or ``is defined`` handles it.

Kestra 1.3's expressions by default; ``Renderer(..., kestra="2.0")`` and
``check_template(..., kestra="2.0")`` follow Kestra 2.0 (no ``json`` filter or function: ``toJson``
and ``fromJson()`` replace them).
"""

from __future__ import annotations

from .pebble import (
    KESTRA_VERSIONS,
    RUNNER_FUNCTIONS,
    KestraVersion,
    Renderer,
    check_template,
    iso,
    render_text,
)

__all__ = [
    "KESTRA_VERSIONS",
    "RUNNER_FUNCTIONS",
    "KestraVersion",
    "Renderer",
    "check_template",
    "iso",
    "render_text",
]
