"""Executors of Kestra's core runnable tasks (importing this package registers them)."""

from . import core, subflow

__all__ = ["core", "subflow"]
