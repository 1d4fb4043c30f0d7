"""Writes of the life-cycle layer: activities with their clock and activation effects."""

from __future__ import annotations


def activity_log(**kwargs):
    """Record an activity and apply its life-cycle effects (clocks, activation, fairness).

    Entry points (rep UI, API, imports) call this, never leads.services.activity_record directly.
    """
    from leads.services import activity_record

    return activity_record(**kwargs)
