"""Due-work passes over the indexed clock columns. Filled in by the life-cycle work ([E])."""

from __future__ import annotations

from datetime import datetime


def sweep_run(*, now: datetime) -> dict[str, int]:
    """Run every due transition at `now` and return counts per transition kind."""
    return {}
