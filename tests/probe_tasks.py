"""Tiny django-q2 task used by the multi-cluster test to prove one run per scheduled tick."""


def record_tick(tick: str | None = None) -> str | None:
    return tick
