"""Kestra's Pebble expressions, parsed by the package's own lexer and Jinja2's parser (public API)
and evaluated on Jinja2's sandboxed environment.

The modules form layers, each importing only those below it (checked by an import-linter contract):
:mod:`.renderer` (the :class:`Renderer` tasks use), :mod:`.environment` (compiling and operators),
:mod:`.check` (static checks), :mod:`.syntax` and :mod:`.lexer` (Pebble's grammar);
:mod:`.filters`, :mod:`.functions`, :mod:`.predicates` (Kestra's filters, functions and tests, with
:mod:`.text` and :mod:`.dates`); :mod:`.state` (undefined values, secrets, the render in progress);
:mod:`.values` (how values print and combine) and :mod:`.versions` (Kestra 1.3 and 2.0).
"""

from __future__ import annotations

from .check import check_template
from .functions import RUNNER_FUNCTIONS
from .renderer import Renderer, render_text
from .values import iso
from .versions import KESTRA_VERSIONS, KestraVersion

__all__ = [
    "KESTRA_VERSIONS",
    "RUNNER_FUNCTIONS",
    "KestraVersion",
    "Renderer",
    "check_template",
    "iso",
    "render_text",
]
