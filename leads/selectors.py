"""Reads on leads; each definition lives here once."""

from __future__ import annotations

from collections.abc import Iterator

from django.db.models import Count, F, OuterRef, Q, QuerySet, Subquery

from crm.catalogs import LEAD_TYPES, SOURCES, catalog_cached
from crm.models import Rep
from crm.rules import led_team_ids, user_is_manager, user_rep
from leads.models import Lead, LeadEvent, LeadType, Source


def sources_by_id() -> dict[int, Source]:
    """Every source by id, in code order (read-only; kept while the sources catalogue is
    unchanged, crm.catalogs): the one load behind the token check, intake's code and name
    lookup, routing's lead facts and the clocks' heats."""
    return catalog_cached(SOURCES, "by_id", lambda: {s.pk: s for s in Source.objects.all()})


def lead_types_by_id() -> dict[int, LeadType]:
    """Every lead type by id, in name order (read-only; kept like sources_by_id)."""
    return catalog_cached(LEAD_TYPES, "by_id", lambda: {t.pk: t for t in LeadType.objects.all()})


def open_lead_statuses() -> tuple[str, ...]:
    """An 'open lead' is one a rep holds and may still work: assigned (silent ones are frozen)."""
    return (Lead.Status.ASSIGNED,)


def invariants_violations(*, batch_size: int = 5000) -> Iterator[str]:
    """Each violation as one printable line. Streams, so it is safe on millions of leads."""
    latest = LeadEvent.objects.filter(lead=OuterRef("pk")).exclude(to_status="").order_by("-id")
    owned = (
        Lead.objects.filter(owner__isnull=False)
        .annotate(
            event_owner=Subquery(latest.values("to_owner")[:1]),
            event_status=Subquery(latest.values("to_status")[:1]),
        )
        .filter(Q(event_owner__isnull=True) | ~Q(event_owner=F("owner_id")))
        .values_list("pk", "owner_id", "event_owner")
    )
    for pk, owner_id, event_owner in owned.iterator(chunk_size=batch_size):
        yield f"lead {pk}: owner is rep {owner_id} but its latest transition event gives {event_owner or 'nobody'}"
    for pk, status in (
        Lead.objects.filter(status__in=Lead.OWNED_STATUSES, owner__isnull=True)
        .values_list("pk", "status")
        .iterator()
    ):
        yield f"lead {pk}: {status} without an owner"
    for pk, status in (
        Lead.objects.filter(status__in=Lead.UNOWNED_STATUSES, owner__isnull=False)
        .values_list("pk", "status")
        .iterator()
    ):
        yield f"lead {pk}: {status} but has an owner"
    for pk in Lead.objects.filter(status=Lead.Status.NEW).values_list("pk", flat=True).iterator():
        yield f"lead {pk}: still new, never routed (orphaned)"
    over = (
        Rep.objects.annotate(
            open_count=Count("owned_leads", filter=Q(owned_leads__status__in=open_lead_statuses()))
        )
        .filter(open_count__gt=F("max_open_leads"), max_open_leads__gt=0)
        .exclude(status=Rep.Status.DEPARTED)
        .values_list("pk", "open_count", "max_open_leads")
    )
    for pk, open_count, cap in over:
        yield f"rep {pk}: {open_count} open leads over the hard cap of {cap}"
    for pk in (
        Rep.objects.filter(status=Rep.Status.DEPARTED, owned_leads__status__in=open_lead_statuses())
        .values_list("pk", flat=True)
        .distinct()
    ):
        yield f"rep {pk}: departed but still owns open leads"
    yield from _rep_load_drift()


def _rep_load_drift() -> Iterator[str]:
    """Reps whose trigger-kept load (leads.models.RepLoad, what routing reads) differs from a
    count of their open leads. One statement, so one snapshot: routing and claims running
    meanwhile cannot make a counter look wrong."""
    from django.db import connection

    from leads.models import RepLoad, RepLoadDelta

    statuses = open_lead_statuses()
    sql = (
        f"SELECT rep_id, SUM(kept), SUM(counted) FROM ("
        f"SELECT rep_id, open_leads AS kept, 0 AS counted FROM {RepLoad._meta.db_table} "
        f"UNION ALL SELECT rep_id, delta, 0 FROM {RepLoadDelta._meta.db_table} "
        f"UNION ALL SELECT owner_id, 0, COUNT(*) FROM {Lead._meta.db_table} "
        f"WHERE owner_id IS NOT NULL AND status IN ({', '.join(['%s'] * len(statuses))}) GROUP BY owner_id"
        f") loads GROUP BY rep_id HAVING SUM(kept) <> SUM(counted) ORDER BY rep_id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, list(statuses))
        rows = cursor.fetchall()
    for pk, kept, counted in rows:
        yield f"rep {pk}: load counter says {kept} open leads, the leads say {counted}"


def leads_visible_to(*, user) -> QuerySet[Lead]:
    """The one permission-scoped lead queryset, mirroring leads.view_lead in leads/rules.py.

    rules cannot filter querysets, so every list (workspace, API, team-lead admin) starts here and
    never shows what the detail page would refuse. Each branch is an indexed equality (owner,
    previous_owner, status+pool_team, team); callers narrow it further (e.g. owner=rep).
    """
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return Lead.objects.none()
    if user_is_manager(user):
        return Lead.objects.all()
    visible = Q(pk__in=[])
    rep = user_rep(user)
    if rep is not None and rep.status != Rep.Status.DEPARTED:
        visible |= Q(owner=rep) | Q(previous_owner=rep) | Q(status=Lead.Status.POOLED, pool_team__isnull=True)
        if rep.team_id is not None:
            visible |= Q(status=Lead.Status.POOLED, pool_team_id=rep.team_id)
    led = led_team_ids(user)
    if led:
        visible |= Q(team_id__in=led) | Q(pool_team_id__in=led)
    return Lead.objects.filter(visible)


def lead_regions() -> list[str]:
    """Every distinct Lead.region, sorted. On PostgreSQL a loose index scan over `lead_region`
    (one index probe per distinct value: a handful of regions among millions of leads) instead
    of the SELECT DISTINCT over the whole table that the admin's region filter would run."""
    from django.db import connections

    connection = connections[Lead.objects.db]
    if connection.vendor != "postgresql":
        return list(Lead.objects.order_by("region").values_list("region", flat=True).distinct())
    table = connection.ops.quote_name(Lead._meta.db_table)
    sql = (
        f"WITH RECURSIVE r(v) AS ("
        f" (SELECT region FROM {table} ORDER BY region LIMIT 1)"
        f" UNION ALL"
        f" SELECT (SELECT region FROM {table} WHERE region > r.v ORDER BY region LIMIT 1)"
        f" FROM r WHERE r.v IS NOT NULL"
        f") SELECT v FROM r WHERE v IS NOT NULL"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return [row[0] for row in cursor.fetchall()]
