"""Hypothesis settings for the reliability unit tests: no per-example deadline (building an httpx
client takes a while on a busy machine); the number of examples stays hypothesis' default."""

from hypothesis import settings

settings.register_profile("reliability", deadline=None)
settings.load_profile("reliability")
