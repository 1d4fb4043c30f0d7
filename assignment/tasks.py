"""django-q2 entry points of the assignment layer: large bulk lead actions run here, off the
request. Thin wrappers over services; safe to run twice (the waist's compare-and-set skips
leads already moved), as the ORM broker delivers at least once."""

from __future__ import annotations

from django.contrib.auth import get_user_model

from crm.services import notifications_send
from leads.models import Lead

# Above this many leads the admin queues the action instead of running it in the request.
LARGE_ACTION = 5000


def lead_action_run(
    *, action: str, ids: list[int], actor_id: int, reason: str, to_rep_id=None, to_team_id=None
) -> int:
    from assignment.services import leads_recall, leads_reroute, leads_transfer
    from crm.models import Rep, Team

    actor = get_user_model().objects.get(pk=actor_id)
    leads_qs = Lead.objects.filter(pk__in=ids)
    if action == "recall":
        result = leads_recall(leads_qs=leads_qs, actor=actor, reason=reason)
    elif action == "transfer_rep":
        result = leads_transfer(
            leads_qs=leads_qs, actor=actor, reason=reason, to_rep=Rep.objects.get(pk=to_rep_id)
        )
    elif action == "transfer_team":
        result = leads_transfer(
            leads_qs=leads_qs, actor=actor, reason=reason, to_team=Team.objects.get(pk=to_team_id)
        )
    else:
        result = leads_reroute(leads_qs=leads_qs, actor=actor, reason=reason)
    notifications_send(
        users=[actor], kind="bulk_action_done", message=f"Background job done: {result.message}"
    )
    return result.changed
