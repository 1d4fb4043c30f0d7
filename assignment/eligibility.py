"""Whether a rep may be given a lead right now, and if not, why — in one place, so routing,
transfers, claims and the explanation all skip reps for the same reasons."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings

from crm.models import Rep


@dataclass(frozen=True)
class Skip:
    code: str  # departed | away | busy | penalized | off_hours | at_capacity | quota | weight_zero | excluded
    detail: str

    def as_dict(self) -> dict:
        return {"code": self.code, "detail": self.detail}


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name or settings.TIME_ZONE)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(settings.TIME_ZONE)


def within_hours(
    *, now: datetime, days: list | None, start: time | None, end: time | None, tz_name: str
) -> bool:
    """Inside a weekly window (ISO weekdays, local start–end; an end before the start wraps past
    midnight). Empty parts of the window always hold."""
    local = now.astimezone(_zone(tz_name))
    if days and local.isoweekday() not in _weekdays(days):
        return False
    if start is None or end is None:
        return True
    clock = local.time().replace(tzinfo=None)
    if start <= end:
        return start <= clock < end
    return clock >= start or clock < end


def _weekdays(days) -> set[int]:
    """The ISO weekdays of a stored list. The admin validates new ones (crm.validators); a
    value saved before that, such as "Mon", is skipped here rather than raised from the middle
    of a routing decision."""
    found = set()
    for day in days if isinstance(days, list | tuple) else ():
        try:
            found.add(int(day))
        except (TypeError, ValueError):
            continue
    return found


def rep_capacity_text(*, load: int, cap: int) -> str:
    return f"{load}/{cap} open leads"


def rep_skip(*, rep: Rep, load: int, assigned_24h: int, now: datetime) -> Skip | None:
    """Why this rep cannot take a routed lead now, or None. `max_open_leads == 0` means no cap,
    as in `manage.py check_invariants`."""
    return rep_skip_standing(rep=rep, now=now) or rep_skip_load(rep=rep, load=load, assigned_24h=assigned_24h)


def rep_skip_standing(*, rep: Rep, now: datetime) -> Skip | None:
    """The reasons that do not change while one batch is routed (status, penalty, hours), so a
    routing batch asks once per rep instead of once per rep and lead."""
    if rep.status == Rep.Status.DEPARTED:
        return Skip("departed", "departed")
    if rep.status == Rep.Status.AWAY:
        return Skip("away", "away")
    if rep.status == Rep.Status.BUSY:
        return Skip("busy", "busy")
    if rep.penalty_until and rep.penalty_until > now:
        return Skip(
            "penalized", f"penalized until {rep.penalty_until.astimezone(_zone(rep.timezone)):%m-%d %H:%M}"
        )
    if (rep.work_days or (rep.work_start and rep.work_end)) and not within_hours(
        now=now, days=rep.work_days, start=rep.work_start, end=rep.work_end, tz_name=rep.timezone
    ):
        return Skip("off_hours", "outside working hours")
    return None


def rep_skip_load(*, rep: Rep, load: int, assigned_24h: int) -> Skip | None:
    """Capacity and the 24 h quota: these move with every lead a batch hands out."""
    if rep.max_open_leads and load >= rep.max_open_leads:
        return Skip("at_capacity", rep_capacity_text(load=load, cap=rep.max_open_leads))
    if rep.daily_assign_quota is not None and assigned_24h >= rep.daily_assign_quota:
        return Skip("quota", f"{assigned_24h}/{rep.daily_assign_quota} leads in the last 24 h")
    return None


def rep_has_room(*, rep: Rep, load: int, extra: int = 1) -> bool:
    """The hard cap `check_invariants` enforces: never more than max_open_leads open leads."""
    return not rep.max_open_leads or load + extra <= rep.max_open_leads
