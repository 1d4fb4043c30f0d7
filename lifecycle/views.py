"""The rep workspace: thin views that parse input, check permission, call one service and render.

Every lead reached by id goes through lead_for_user(), which returns a lead this user may see
(leads.selectors.leads_visible_to, the queryset twin of the `leads.view_lead` rule) or raises 404,
so another rep's lead id never leaks. Every change is a POST with CSRF.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.timesince import timesince, timeuntil
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_GET, require_POST

from assignment import services as pool_services
from assignment.explain import events_explained
from assignment.selectors import pool_leads_for, rep_claim_allowance
from assignment.services import ActionRefused, lead_claim, leads_transfer
from crm.models import Notification, Rep
from crm.rules import led_team_ids, user_rep
from crm.services import notifications_mark_read
from leads.models import Lead
from leads.selectors import leads_visible_to
from lifecycle.filters import MyLeadFilter, PoolFilter, TeamLeadFilter, next_due_expression
from lifecycle.forms import (
    OUTCOMES,
    BusinessCardForm,
    FollowUpForm,
    MarkReadForm,
    ReleaseForm,
    StageMoveForm,
    TransferForm,
)
from lifecycle.intake import lead_intake
from lifecycle.models import Stage
from lifecycle.services import activity_log, lead_stage_move

PAGE_SIZE = 25
TIMELINE_LIMIT = 50


class CappedCountPaginator(Paginator):
    """Counts at most `cap` rows (a LIMITed subquery that stops early) instead of COUNT(*) over a
    pool of 100k+ leads; the page then says "1000+". Hand-written: Django's paginator always
    counts exactly, and crm.paginators' bounded count still counts up to its timeout."""

    cap = 1000

    @cached_property
    def count(self) -> int:
        return self.object_list.order_by().values("pk")[: self.cap + 1].count()

    @property
    def capped(self) -> bool:
        return self.count > self.cap


# ---------------------------------------------------------------------------------------------
# Access


def lead_for_user(user, pk: int, *, perm: str | None = None) -> Lead:
    """The lead `pk` if this user may see it, else 404; with `perm`, 403 when seen but not allowed."""
    lead = (
        leads_visible_to(user=user)
        .select_related(
            "owner__user", "previous_owner__user", "source", "stage", "lead_type", "team", "pool_team"
        )
        .filter(pk=pk)
        .first()
    )
    if lead is None:
        raise Http404(_("No such lead."))
    if perm is not None and not user.has_perm(perm, lead):
        raise PermissionDenied
    return lead


def _active_rep_or_403(user) -> Rep:
    rep = user_rep(user)
    if rep is None or rep.status == Rep.Status.DEPARTED:
        raise PermissionDenied
    return rep


# ---------------------------------------------------------------------------------------------
# Deadlines in words


@dataclass(frozen=True)
class Deadline:
    text: str
    at: datetime | None
    overdue: bool


def _clock_texts() -> dict[str, tuple[str, str]]:
    # (due in …, overdue by …) per clock; built per call so the active language applies.
    return {
        "first_contact": (_("first contact due in %(left)s"), _("first contact overdue by %(late)s")),
        "claim": (_("follow-up after claim due in %(left)s"), _("follow-up after claim overdue by %(late)s")),
        "progress": (_("next progress due in %(left)s"), _("progress overdue by %(late)s")),
        "validity": (_("validity ends in %(left)s"), _("validity ended %(late)s ago")),
        "silent": (
            _("silent — returns to the pool in %(left)s"),
            _("silent — due back in the pool %(late)s ago"),
        ),
    }


def lead_deadline(lead: Lead, now: datetime) -> Deadline | None:
    """The next clock that binds the lead's owner, in words ("first contact due in 3 hours")."""
    clocks: list[tuple[datetime, str]] = []
    if lead.status == Lead.Status.SILENT and lead.silent_until:
        clocks.append((lead.silent_until, "silent"))
    elif lead.status == Lead.Status.ASSIGNED:
        if lead.first_contact_due and not lead.first_contacted_at:
            clocks.append((lead.first_contact_due, "first_contact"))
        if lead.claim_due:
            clocks.append((lead.claim_due, "claim"))
        if lead.progress_due:
            clocks.append((lead.progress_due, "progress"))
        if lead.valid_until:
            clocks.append((lead.valid_until, "validity"))
    elif lead.status == Lead.Status.POOLED and lead.pooled_at:
        return Deadline(
            _("in the pool for %(age)s") % {"age": timesince(lead.pooled_at, now, depth=1)}, None, False
        )
    if not clocks:
        return None
    at, which = min(clocks, key=lambda c: c[0])
    due_text, late_text = _clock_texts()[which]
    if at <= now:
        return Deadline(late_text % {"late": timesince(at, now, depth=2)}, at, True)
    return Deadline(due_text % {"left": timeuntil(at, now, depth=2)}, at, False)


POOL_REASONS = {
    "released": gettext_lazy("released after silence"),
    "recalled": gettext_lazy("recalled"),
    "claim_lapsed": gettext_lazy("claim not followed up"),
    "reactivated": gettext_lazy("woken, re-routed"),
    "claim_mode": gettext_lazy("claim mode"),
    "cascade": gettext_lazy("delayed assignment"),
    "default": gettext_lazy("default rule"),
    "no_eligible_rep": gettext_lazy("no eligible rep"),
    "released_by_rep": gettext_lazy("released by a rep"),
    "departed": gettext_lazy("rep departed"),
}


def pool_reason_text(code: str) -> str:
    """Why a lead is in the pool, in words; an unknown code is shown as it is."""
    return str(POOL_REASONS.get(code, code))


def extension_words(delta: timedelta) -> str:
    """A validity extension in words: "1 day", "7 days", "1 day 6 hours"."""
    days, seconds = delta.days, delta.seconds
    hours = seconds // 3600
    parts = []
    if days:
        parts.append(ngettext("%(n)d day", "%(n)d days", days) % {"n": days})
    if hours:
        parts.append(ngettext("%(n)d hour", "%(n)d hours", hours) % {"n": hours})
    if not parts and seconds:
        minutes = max(1, seconds // 60)
        parts.append(ngettext("%(n)d minute", "%(n)d minutes", minutes) % {"n": minutes})
    return " ".join(parts)


EVENT_KINDS = {
    "route": gettext_lazy("routed by the rules"),
    "assign": gettext_lazy("assigned"),
    "claim": gettext_lazy("claimed"),
    "claimed": gettext_lazy("claimed"),
    "release": gettext_lazy("released by the rep"),
    "released": gettext_lazy("released to the pool"),
    "recall": gettext_lazy("recalled"),
    "recalled": gettext_lazy("recalled"),
    "transfer": gettext_lazy("transferred"),
    "transferred": gettext_lazy("transferred"),
    "stage_moved": gettext_lazy("stage moved"),
    "silenced": gettext_lazy("silenced"),
    "activated": gettext_lazy("activated"),
    "reactivated": gettext_lazy("reactivated"),
    "converted": gettext_lazy("converted"),
    "merged": gettext_lazy("came in again (merged)"),
    "details_edited": gettext_lazy("details corrected"),
    "intake": gettext_lazy("received"),
    "sla_recall": gettext_lazy("recalled: no first contact in time"),
    "progress_recall": gettext_lazy("recalled: no progress in time"),
    "value_recall": gettext_lazy("taken out of nurturing: value rose"),
    "claim_lapsed": gettext_lazy("claim lapsed without follow-up"),
    "cascade_step": gettext_lazy("offered to the next tier"),
    "warning": gettext_lazy("deadline warning"),
    "depart": gettext_lazy("handed over: rep departed"),
}
STATUS_LABELS = dict(Lead.Status.choices)


def _rows(leads, now: datetime) -> list[tuple[Lead, Deadline | None]]:
    return [(lead, lead_deadline(lead, now)) for lead in leads]


# ---------------------------------------------------------------------------------------------
# My leads


@require_GET
@login_required
def lead_list(request: HttpRequest) -> HttpResponse:
    """The rep's own leads; narrowed by owner first so it stays an index range at 1M leads."""
    rep = user_rep(request.user)
    if rep is None:
        if led_team_ids(request.user):
            return redirect("workspace:team")
        return render(request, "workspace/no_rep.html")
    base = (
        leads_visible_to(user=request.user)
        .filter(owner=rep)
        .select_related("source", "stage")
        .annotate(next_due=next_due_expression())
        .order_by("next_due", "-id")
    )
    if not request.GET.get("status"):
        base = base.filter(status__in=Lead.OWNED_STATUSES)
    filterset = MyLeadFilter(request.GET or None, queryset=base)
    qs = filterset.qs if filterset.is_bound else base
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    now = timezone.now()
    return render(
        request,
        "workspace/lead_list.html",
        {"filter": filterset, "page": page, "rows": _rows(page.object_list, now), "now": now},
    )


# ---------------------------------------------------------------------------------------------
# One lead


def _timeline(lead: Lead) -> list[dict]:
    activities = list(lead.activities.select_related("rep__user")[:TIMELINE_LIMIT])
    events = list(
        lead.events.select_related("actor", "from_owner__user", "to_owner__user", "rule")[:TIMELINE_LIMIT]
    )
    outcomes = dict(OUTCOMES)
    explained = events_explained(events)  # every rule snapshot in one query, however many events
    items = [
        {"at": a.occurred_at, "activity": a, "outcome": str(outcomes.get(a.outcome, a.outcome))}
        for a in activities
    ]
    for event in events:
        items.append(
            {
                "at": event.at,
                "event": event,
                "kind": str(EVENT_KINDS.get(event.kind, event.kind)),
                "from_status": str(STATUS_LABELS.get(event.from_status, event.from_status)),
                "to_status": str(STATUS_LABELS.get(event.to_status, event.to_status)),
                "explanation": explained.get(event.pk, []),
            }
        )
    items.sort(key=lambda item: item["at"], reverse=True)
    return items


def _silence_reason(lead: Lead, timeline: list[dict]) -> str:
    for item in timeline:
        event = item.get("event")
        if event is not None and event.to_status == Lead.Status.SILENT and event.reason:
            return event.reason
    return _("Its validity period ended.")


@require_GET
@login_required
def lead_detail(request: HttpRequest, pk: int) -> HttpResponse:
    lead = lead_for_user(request.user, pk)
    user = request.user
    now = timezone.now()
    timeline = _timeline(lead)
    can_change = user.has_perm("leads.change_lead", lead)
    stages = list(Stage.objects.filter(lead_type_id=lead.lead_type_id)) if lead.lead_type_id else []
    for stage in stages:
        stage.extension_text = extension_words(stage.validity_extension) if stage.validity_extension else ""
    context = {
        "lead": lead,
        "now": now,
        "deadline": lead_deadline(lead, now),
        "timeline": timeline,
        "stages": stages,
        "can_change": can_change,
        "can_release": user.has_perm("leads.release_lead", lead),
        "can_claim": user.has_perm("leads.claim_lead", lead),
        "is_owner": lead.owner_id is not None and lead.owner_id == getattr(user_rep(user), "pk", None),
        "silence_reason": _silence_reason(lead, timeline) if lead.status == Lead.Status.SILENT else "",
        "pool_reason": pool_reason_text(lead.pool_reason) if lead.pool_reason else "",
        "follow_up_form": FollowUpForm() if can_change else None,
        "release_form": ReleaseForm(),
    }
    return render(request, "workspace/lead_detail.html", context)


@require_POST
@login_required
def lead_activity(request: HttpRequest, pk: int) -> HttpResponse:
    """Quick follow-up: lifecycle.services.activity_log records it and moves the clocks."""
    lead = lead_for_user(request.user, pk, perm="leads.change_lead")
    form = FollowUpForm(request.POST)
    if not form.is_valid():
        messages.error(
            request, _("The follow-up was not saved: %(errors)s") % {"errors": form.errors.as_text()}
        )
        return redirect("workspace:lead_detail", pk=lead.pk)
    try:
        activity_log(
            lead=lead,
            kind=form.cleaned_data["kind"],
            actor="rep",
            rep=user_rep(request.user),
            note=form.cleaned_data["note"],
            outcome=form.cleaned_data["outcome"],
            now=timezone.now(),
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Follow-up logged."))
    return redirect("workspace:lead_detail", pk=lead.pk)


@require_POST
@login_required
def lead_stage(request: HttpRequest, pk: int) -> HttpResponse:
    """One-click stage move; the life-cycle service extends validity per the policy."""
    lead = lead_for_user(request.user, pk, perm="leads.change_lead")
    form = StageMoveForm(request.POST, lead=lead)
    if not form.is_valid():
        messages.error(request, _("That stage does not belong to this lead's type."))
        return redirect("workspace:lead_detail", pk=lead.pk)
    stage = form.cleaned_data["stage"]
    before = lead.valid_until
    try:
        lead_stage_move(lead=lead, stage=stage, actor=request.user, now=timezone.now())
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("workspace:lead_detail", pk=lead.pk)
    lead.refresh_from_db(fields=["valid_until", "stage"])
    if lead.valid_until and lead.valid_until != before:
        messages.success(
            request,
            _("Moved to %(stage)s. Valid until %(until)s.")
            % {"stage": stage.name, "until": timezone.localtime(lead.valid_until).strftime("%Y-%m-%d %H:%M")},
        )
    else:
        messages.success(request, _("Moved to %(stage)s.") % {"stage": stage.name})
    return redirect("workspace:lead_detail", pk=lead.pk)


@require_POST
@login_required
def lead_release(request: HttpRequest, pk: int) -> HttpResponse:
    """A rep gives their own lead back to the pool, with a reason."""
    lead = lead_for_user(request.user, pk, perm="leads.release_lead")
    form = ReleaseForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Say why you release the lead."))
        return redirect("workspace:lead_detail", pk=lead.pk)
    result = pool_services.lead_release(
        lead=lead, rep=user_rep(request.user), reason=form.cleaned_data["reason"]
    )
    if not result.ok:
        messages.error(request, result.message)
        return redirect("workspace:lead_detail", pk=lead.pk)
    messages.success(request, _("“%(lead)s” is back in the pool.") % {"lead": lead})
    return redirect("workspace:lead_list")


# ---------------------------------------------------------------------------------------------
# Add a lead (a business card)


def _duplicate_message(lead: Lead) -> str:
    """Say who holds the existing lead, never its data (the rep may not see it)."""
    if lead.status in Lead.OWNED_STATUSES and lead.owner_id:
        return _("This contact already belongs to a lead owned by %(owner)s; your card was added to it.") % {
            "owner": lead.owner.display_name
        }
    if lead.status == Lead.Status.POOLED:
        return _("This contact already belongs to a lead waiting in a pool; your card was added to it.")
    if lead.status == Lead.Status.NURTURING:
        return _("This contact already belongs to a lead being nurtured; your card was added to it.")
    return _("This contact already belongs to an existing lead; your card was added to it.")


@login_required
def lead_add(request: HttpRequest) -> HttpResponse:
    """The intake pipeline with the rep as the source actor: score, de-duplicate, route."""
    _active_rep_or_403(request.user)
    form = BusinessCardForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        result = lead_intake(data=form.intake_data(), source=form.cleaned_data["source"], actor=request.user)
        errors = result.errors or {}
        if errors:
            items = errors.items() if isinstance(errors, dict) else [(None, e) for e in errors]
            for field, error in items:
                form.add_error(field if field in form.fields else None, error)
        else:
            lead = result.lead
            visible = lead is not None and leads_visible_to(user=request.user).filter(pk=lead.pk).exists()
            if not result.created:
                if visible:
                    messages.info(
                        request, _("This contact was already known; your card was added to the lead.")
                    )
                    return redirect("workspace:lead_detail", pk=lead.pk)
                messages.warning(
                    request, _duplicate_message(Lead.objects.select_related("owner__user").get(pk=lead.pk))
                )
                return redirect("workspace:lead_add")
            if visible:
                messages.success(request, _("Lead added."))
                return redirect("workspace:lead_detail", pk=lead.pk)
            messages.success(request, _("Lead added; the assignment rules gave it to another rep or a pool."))
            return redirect("workspace:lead_add")
    return render(request, "workspace/lead_add.html", {"form": form})


# ---------------------------------------------------------------------------------------------
# Pool


@require_GET
@login_required
def pool(request: HttpRequest) -> HttpResponse:
    rep = _active_rep_or_403(request.user)
    now = timezone.now()
    # Newest first by default: a backward walk of the primary key that stops after one page.
    base = pool_leads_for(rep).select_related("source", "pool_team").order_by("-id")
    filterset = PoolFilter(request.GET or None, queryset=base)
    qs = filterset.qs if filterset.is_bound else base
    # Count and page over primary keys first (index-only scans of the covering pooled index on
    # PostgreSQL, whatever the filter), then read just those rows.
    page = CappedCountPaginator(qs.values_list("pk", flat=True), PAGE_SIZE).get_page(request.GET.get("page"))
    ids = list(page.object_list)
    found = qs.order_by().in_bulk(ids) if ids else {}
    page.object_list = [found[pk] for pk in ids if pk in found]
    rows = [(lead, pool_reason_text(lead.pool_reason)) for lead in page.object_list]
    penalized = bool(rep.penalty_until and rep.penalty_until > now)
    return render(
        request,
        "workspace/pool.html",
        {
            "filter": filterset,
            "page": page,
            "rows": rows,
            "now": now,
            "rep": rep,
            "allowance": rep_claim_allowance(rep, now),
            "penalized": penalized,
        },
    )


CLAIM_RACE_WINDOW = timedelta(minutes=15)


def _recently_left_pool(lead: Lead, *, now) -> bool:
    last = lead.events.exclude(to_status="").order_by("-id").values("from_status", "at").first()
    return bool(last and last["from_status"] == Lead.Status.POOLED and last["at"] >= now - CLAIM_RACE_WINDOW)


@require_POST
@login_required
def pool_claim(request: HttpRequest, pk: int) -> HttpResponse:
    """Claim in one click. The loser of a race gets lead_claim's friendly message, not a 404.

    A lead still pooled must be in a pool open to the rep; one that left the pool (pooled_at set)
    goes to lead_claim, which answers "already taken by …"; any other id is a 404.
    """
    rep = _active_rep_or_403(request.user)
    lead = Lead.objects.filter(pk=pk).first()
    if lead is None:
        raise Http404
    if lead.status == Lead.Status.POOLED:
        if not request.user.has_perm("leads.claim_lead", lead):
            raise Http404
    elif not _recently_left_pool(lead, now=timezone.now()):
        # Only a race loser (the lead left the pool moments ago) learns who took it; older ids
        # would let anyone probe who owns which lead.
        raise Http404
    result = lead_claim(lead=lead, rep=rep, now=timezone.now())
    if result.ok:
        messages.success(request, result.message or _("Claimed — it is yours now."))
        return redirect("workspace:lead_detail", pk=lead.pk)
    messages.warning(request, result.message)
    return redirect("workspace:pool")


# ---------------------------------------------------------------------------------------------
# Notifications


@require_GET
@login_required
def notification_list(request: HttpRequest) -> HttpResponse:
    page = Paginator(Notification.objects.filter(user=request.user), 30).get_page(request.GET.get("page"))
    return render(request, "workspace/notifications.html", {"page": page})


@require_POST
@login_required
def notifications_read(request: HttpRequest) -> HttpResponse:
    """Mark the given notifications (or, without ids, all) read; only the user's own are touched."""
    form = MarkReadForm(request.POST)
    ids = form.cleaned_data["ids"] if form.is_valid() else []
    notifications_mark_read(user=request.user, ids=ids or None, now=timezone.now())
    target = request.POST.get("next") or ""
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(target)
    return redirect("workspace:notifications")


# ---------------------------------------------------------------------------------------------
# Team view (team leads)


def _team_reps(led: frozenset[int]):
    open_q = Q(owned_leads__status=Lead.Status.ASSIGNED)
    return (
        Rep.objects.filter(team_id__in=led)
        .exclude(status=Rep.Status.DEPARTED)
        .select_related("user", "team")
        .annotate(
            open_count=Count("owned_leads", filter=open_q),
            silent_count=Count("owned_leads", filter=Q(owned_leads__status=Lead.Status.SILENT)),
        )
    )


def _team_leads_qs(user, led: frozenset[int]):
    return leads_visible_to(user=user).filter(team_id__in=led)


@require_GET
@login_required
def team(request: HttpRequest) -> HttpResponse:
    led = led_team_ids(request.user)
    if not led:
        raise PermissionDenied
    reps = list(_team_reps(led))
    base = (
        _team_leads_qs(request.user, led)
        .select_related("owner__user", "source", "stage")
        .annotate(next_due=next_due_expression())
        .order_by("next_due", "-id")
    )
    if not request.GET.get("status"):
        base = base.filter(status__in=Lead.OWNED_STATUSES)
    rep_qs = Rep.objects.filter(pk__in=[r.pk for r in reps]).select_related("user")
    filterset = TeamLeadFilter(request.GET or None, queryset=base, reps=rep_qs)
    qs = filterset.qs if filterset.is_bound else base
    page = CappedCountPaginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    now = timezone.now()
    return render(
        request,
        "workspace/team.html",
        {"filter": filterset, "page": page, "rows": _rows(page.object_list, now), "reps": reps, "now": now},
    )


@require_POST
@login_required
def team_transfer(request: HttpRequest) -> HttpResponse:
    """Reassign selected team leads to a rep of the team, through the transfer service."""
    led = led_team_ids(request.user)
    if not led or not request.user.has_perm("leads.transfer_lead"):
        raise PermissionDenied
    leads_qs = _team_leads_qs(request.user, led).filter(status=Lead.Status.ASSIGNED)
    reps_qs = Rep.objects.filter(team_id__in=led).exclude(status=Rep.Status.DEPARTED).select_related("user")
    form = TransferForm(request.POST, leads_qs=leads_qs, reps_qs=reps_qs)
    if not form.is_valid():
        messages.error(request, _("Nothing moved: %(errors)s") % {"errors": form.errors.as_text()})
        return redirect("workspace:team")
    chosen = [
        lead for lead in form.cleaned_data["leads"] if request.user.has_perm("leads.transfer_lead", lead)
    ]
    to_rep = form.cleaned_data["to_rep"]
    try:
        result = leads_transfer(
            leads_qs=leads_qs.filter(pk__in=[lead.pk for lead in chosen]),
            actor=request.user,
            reason=form.cleaned_data["reason"],
            to_rep=to_rep,
        )
    except ActionRefused as refused:
        messages.error(request, _("Nothing moved: %(errors)s") % {"errors": refused})
        return redirect("workspace:team")
    messages.success(
        request,
        _("%(count)s lead(s) moved to %(rep)s.") % {"count": result.changed, "rep": to_rep.display_name},
    )
    return redirect(reverse("workspace:team"))
