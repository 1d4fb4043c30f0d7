"""The pool's rules in one place: which pools a rep sees, what counts as a claimed-but-untouched
lead, and the claim cap (policy by level, the rep's own cap, the penalty, the adaptive rule) —
each with the words that explain it on screen."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from assignment.models import ClaimPolicy
from crm.models import Rep
from leads.models import Activity, Lead, LeadEvent
from leads.selectors import open_lead_statuses

CLAIM_EVENT_KIND = "claim"
ADAPTIVE_WINDOW_DAYS = 14
ADAPTIVE_MIN_CLAIMS = 10
ADAPTIVE_RAISE_AT, ADAPTIVE_RAISE_BY = 0.9, 1.5
ADAPTIVE_LOWER_AT, ADAPTIVE_LOWER_BY = 0.5, 0.5


def pool_visibility_q(rep: Rep) -> Q:
    """Public pool plus the pool of the rep's own team (mirrors leads.rules.lead_in_open_pool)."""
    q = Q(status=Lead.Status.POOLED, pool_team__isnull=True)
    if rep.team_id is not None:
        q |= Q(status=Lead.Status.POOLED, pool_team_id=rep.team_id)
    return q


def lead_visible_in_pool(*, lead: Lead, rep: Rep) -> bool:
    return lead.status == Lead.Status.POOLED and (
        lead.pool_team_id is None or lead.pool_team_id == rep.team_id
    )


def untouched_claims(rep: Rep) -> QuerySet[Lead]:
    """Claimed leads the rep holds without a follow-up since taking them (the claim clock runs)."""
    return Lead.objects.filter(owner=rep, status=Lead.Status.ASSIGNED, claim_due__isnull=False).filter(
        Q(last_rep_activity_at__isnull=True) | Q(last_rep_activity_at__lt=F("assigned_at"))
    )


def claim_policy_for(rep: Rep) -> ClaimPolicy | None:
    return ClaimPolicy.objects.filter(level=rep.level).first()


@dataclass
class ClaimAllowance:
    base_cap: int
    cap: int
    claimed_24h: int
    untouched: int
    max_untouched: int | None
    open_leads: int
    max_open: int
    blocked: bool
    penalty_until: datetime | None
    penalty_reason: str
    follow_up_hours: int
    reasons: list[str] = field(default_factory=list)

    @property
    def remaining(self) -> int:
        if self.blocked:
            return 0
        left = self.cap - self.claimed_24h
        if self.max_untouched is not None:
            left = min(left, self.max_untouched - self.untouched)
        if self.max_open:
            left = min(left, self.max_open - self.open_leads)
        return max(left, 0)

    def refusal(self) -> str | None:
        """The friendly sentence shown when a claim is refused, or None when it may proceed."""
        if self.blocked:
            why = self.penalty_reason or _("penalty")
            if self.penalty_until:
                return _("Claiming is blocked until %(until)s: %(why)s.") % {
                    "until": _local(self.penalty_until),
                    "why": why,
                }
            return _("Claiming is blocked: %(why)s.") % {"why": why}
        if self.claimed_24h >= self.cap:
            return _("You have reached your claim cap (%(n)s/%(cap)s in the last 24 h).") % {
                "n": self.claimed_24h,
                "cap": self.cap,
            }
        if self.max_untouched is not None and self.untouched >= self.max_untouched:
            return _("Follow up your claimed leads first (%(n)s/%(max)s untouched).") % {
                "n": self.untouched,
                "max": self.max_untouched,
            }
        if self.max_open and self.open_leads >= self.max_open:
            return _("You are at capacity (%(n)s/%(max)s open leads).") % {
                "n": self.open_leads,
                "max": self.max_open,
            }
        return None

    def as_dict(self) -> dict:
        return {
            "base_cap": self.base_cap,
            "cap": self.cap,
            "claimed_24h": self.claimed_24h,
            "remaining": self.remaining,
            "untouched": self.untouched,
            "max_untouched": self.max_untouched,
            "open_leads": self.open_leads,
            "max_open": self.max_open,
            "blocked": self.blocked,
            "penalized": self.penalty_until is not None,
            "penalty_until": self.penalty_until,
            "penalty_reason": self.penalty_reason,
            "follow_up_hours": self.follow_up_hours,
            "reasons": list(self.reasons),
            "refusal": self.refusal(),
        }


def adaptive_factor(*, rep: Rep, policy: ClaimPolicy, now: datetime) -> tuple[float, str]:
    """A moving-window rule: over the last 14 days, a rep who followed up at least 90 % of at
    least 10 claims within the policy's window gets 1.5× the cap; under 50 % gets half."""
    since = now - timedelta(days=ADAPTIVE_WINDOW_DAYS)
    window = timedelta(hours=policy.follow_up_hours)
    followed = Activity.objects.filter(
        lead_id=OuterRef("lead_id"),
        rep_id=rep.pk,
        actor=Activity.Actor.REP,
        occurred_at__gte=OuterRef("at"),
        occurred_at__lte=OuterRef("at") + window,
    )
    claims = list(
        LeadEvent.objects.filter(to_owner=rep, kind=CLAIM_EVENT_KIND, at__gte=since, at__lte=now)
        .annotate(followed=Exists(followed))
        .values_list("followed", flat=True)
    )
    days = ADAPTIVE_WINDOW_DAYS
    if len(claims) < ADAPTIVE_MIN_CLAIMS:
        return 1.0, _("adaptive cap: only %(n)s claims in %(days)s days, cap unchanged") % {
            "n": len(claims),
            "days": days,
        }
    rate = sum(1 for f in claims if f) / len(claims)
    text = _("followed up %(rate)s of %(n)s claims in %(days)s days") % {
        "rate": f"{rate:.0%}",
        "n": len(claims),
        "days": days,
    }
    if rate >= ADAPTIVE_RAISE_AT:
        words = _("adaptive cap: %(text)s (≥ %(limit)s), cap × %(factor)s")
        return ADAPTIVE_RAISE_BY, words % {
            "text": text,
            "limit": f"{ADAPTIVE_RAISE_AT:.0%}",
            "factor": ADAPTIVE_RAISE_BY,
        }
    if rate < ADAPTIVE_LOWER_AT:
        words = _("adaptive cap: %(text)s (< %(limit)s), cap × %(factor)s")
        return ADAPTIVE_LOWER_BY, words % {
            "text": text,
            "limit": f"{ADAPTIVE_LOWER_AT:.0%}",
            "factor": ADAPTIVE_LOWER_BY,
        }
    return 1.0, _("adaptive cap: %(text)s, cap unchanged") % {"text": text}


def _local(moment: datetime) -> str:
    """A deadline as the rep reads it: in the configured time zone, to the minute."""
    return f"{timezone.localtime(moment):%Y-%m-%d %H:%M}"


def claim_allowance(*, rep: Rep, now: datetime) -> ClaimAllowance:
    """What the rep may still claim now, with the reasons behind the figure."""
    policy = claim_policy_for(rep)
    reasons = []
    base = rep.daily_claim_cap
    if policy is not None and policy.daily_claim_cap < base:
        base = policy.daily_claim_cap
        reasons.append(
            _("%(level)s policy caps claims at %(n)s a day")
            % {"level": rep.get_level_display(), "n": policy.daily_claim_cap}
        )
    else:
        reasons.append(_("personal cap of %(n)s claims a day") % {"n": rep.daily_claim_cap})
    cap = float(base)
    if policy is not None and policy.adaptive:
        factor, text = adaptive_factor(rep=rep, policy=policy, now=now)
        cap *= factor
        reasons.append(text)
    penalized = rep.penalty_until is not None and rep.penalty_until > now
    blocked = False
    if penalized:
        if rep.penalty_blocks_claims:
            blocked = True
            reasons.append(
                _("penalized until %(until)s: claiming blocked (%(why)s)")
                % {"until": _local(rep.penalty_until), "why": rep.penalty_reason}
            )
        elif rep.penalty_factor is not None:
            cap *= rep.penalty_factor
            reasons.append(
                _("penalized until %(until)s: cap × %(factor)s (%(why)s)")
                % {
                    "until": _local(rep.penalty_until),
                    "factor": f"{rep.penalty_factor:g}",
                    "why": rep.penalty_reason,
                }
            )
    if rep.status == Rep.Status.DEPARTED:
        blocked = True
        reasons.append(_("departed"))
    claimed = LeadEvent.objects.filter(
        to_owner=rep, kind=CLAIM_EVENT_KIND, at__gt=now - timedelta(hours=24), at__lte=now
    ).count()
    open_leads = Lead.objects.filter(owner=rep, status__in=open_lead_statuses()).count()
    untouched = untouched_claims(rep).count() if policy is not None else 0
    return ClaimAllowance(
        base_cap=base,
        cap=int(cap),
        claimed_24h=claimed,
        untouched=untouched,
        max_untouched=policy.max_untouched if policy is not None else None,
        open_leads=open_leads,
        max_open=rep.max_open_leads,
        blocked=blocked,
        penalty_until=rep.penalty_until if penalized else None,
        penalty_reason=rep.penalty_reason if penalized else "",
        follow_up_hours=policy.follow_up_hours if policy is not None else 24,
        reasons=reasons,
    )
