"""Executors of Kestra's core runnable tasks (the table of :mod:`..dispatch` says which runs which)."""
