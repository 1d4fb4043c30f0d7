"""django-q2 entry points of the assignment layer: large bulk lead actions run here, off the
request. Thin wrappers over services; safe to run twice (the waist's compare-and-set skips
leads already moved), as the ORM broker delivers at least once.

A queued job reports its progress under a cache key of its own (the cache is shared by web
processes and workers: Redis, or the cache directory on the embedded setup); the lead admin
shows it to the manager who queued the job."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.utils import timezone

from crm.services import notifications_send
from leads.models import Lead

# Above this many leads the admin queues the action instead of running it in the request.
LARGE_ACTION = 5000
PROGRESS_TTL = 24 * 3600


def _progress_key(job: str) -> str:
    return f"lead_action_progress:{job}"


def action_progress(job: str) -> dict | None:
    """{action, total, done, state ('queued'/'running'/'done'/'failed'), message, updated_at} or None."""
    return cache.get(_progress_key(job))


def action_progress_many(jobs: list[str]) -> dict[str, dict]:
    found = cache.get_many([_progress_key(job) for job in jobs])
    return {job: found[_progress_key(job)] for job in jobs if _progress_key(job) in found}


def action_progress_set(job: str, **fields) -> None:
    if not job:
        return
    state = cache.get(_progress_key(job)) or {}
    state.update(fields, updated_at=timezone.now())
    cache.set(_progress_key(job), state, PROGRESS_TTL)


def lead_action_run(
    *,
    action: str,
    ids: list[int],
    actor_id: int,
    reason: str,
    to_rep_id=None,
    to_team_id=None,
    job: str = "",
) -> int:
    from assignment.services import leads_recall, leads_reroute, leads_transfer
    from crm.models import Rep, Team

    actor = get_user_model().objects.get(pk=actor_id)
    leads_qs = Lead.objects.filter(pk__in=ids)
    action_progress_set(job, action=action, total=len(ids), done=0, state="running")
    try:
        if action == "recall":
            result = leads_recall(
                leads_qs=leads_qs,
                actor=actor,
                reason=reason,
                progress=lambda done, total: action_progress_set(job, done=done, total=total),
            )
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
    except Exception as exc:
        action_progress_set(job, state="failed", message=str(exc)[:200])
        raise
    total = (action_progress(job) or {}).get("total", len(ids)) if job else len(ids)
    action_progress_set(job, state="done", done=total, message=result.message)
    notifications_send(
        users=[actor], kind="bulk_action_done", message=f"Background job done: {result.message}"
    )
    return result.changed
