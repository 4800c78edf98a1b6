"""Executors of Kestra's core runnable tasks (importing this package registers them)."""

from . import core, scripts, subflow

__all__ = ["core", "scripts", "subflow"]
