"""django-q2 entry points of the lifecycle layer: thin wrappers over services."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from crm.services import heartbeat_beat


def sweep(now: datetime | None = None) -> dict[str, int]:
    """Scheduled every minute. Idempotent and safe to lose: the next tick redoes what is due.
    Also folds the rep-load deltas (PostgreSQL) that the minute's writes appended."""
    from leads.loads import rep_loads_fold
    from lifecycle.sweeps import sweep_run

    now = now or timezone.now()
    heartbeat_beat(name="sweep", now=now)
    counts = sweep_run(now=now)
    rep_loads_fold()
    return counts


def clocks_recompute(
    *,
    actor_id: int | None = None,
    scope: list | None = None,
    old_scope: list | None = None,
    lead_type_id: int | None = None,
) -> int:
    """A large policy or stage edit's recompute (queued by the admin). Idempotent: rebasing
    clocks twice on the same policies gives the same clocks."""
    from django.contrib.auth import get_user_model
    from django.utils.translation import gettext as _

    from crm.services import notifications_send
    from leads.models import Lead
    from lifecycle.models import Policy
    from lifecycle.selectors import leads_affected_by_policy
    from lifecycle.services import leads_clocks_recompute

    if scope is not None:
        policy = Policy(lead_type_id=scope[0], heat=scope[1])
        qs = leads_affected_by_policy(policy=policy, old_scope=tuple(old_scope) if old_scope else None)
    else:
        qs = Lead.objects.filter(lead_type_id=lead_type_id, status=Lead.Status.ASSIGNED)
    changed = leads_clocks_recompute(qs)
    actor = get_user_model().objects.filter(pk=actor_id).first() if actor_id else None
    if actor is not None:
        notifications_send(
            users=[actor],
            kind="clocks_recomputed",
            message=_("Clocks of %(n)d leads recomputed after your policy edit.") % {"n": changed},
        )
    return changed
