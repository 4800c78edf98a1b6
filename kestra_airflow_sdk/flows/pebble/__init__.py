"""Kestra's Pebble expressions, evaluated on Jinja2's sandboxed environment.

See :mod:`.syntax` for how Pebble's grammar is adapted, :mod:`.values` for how values print and
combine, :mod:`.filters`, :mod:`.text`, :mod:`.dates`, :mod:`.predicates` and :mod:`.functions` for
Kestra's filters, tests and functions,
:mod:`.check` for static checks and :mod:`.renderer` for the :class:`Renderer` tasks use.
"""

from __future__ import annotations

from . import environment as environment  # first: it builds the environment from filters/functions
from .check import check_template
from .functions import RUNNER_FUNCTIONS
from .renderer import Renderer, render_text
from .values import iso

__all__ = ["RUNNER_FUNCTIONS", "Renderer", "check_template", "iso", "render_text"]
