"""Executors of Kestra's core runnable tasks (importing this package registers them)."""

from . import core, http, scripts, subflow

__all__ = ["core", "http", "scripts", "subflow"]
