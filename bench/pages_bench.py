"""Rep pages and the admin lead changelist: p95 server time and query counts, with /healthz as the
same-run baseline (ratio = page p95 / healthz p95)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Count
from django.test import Client

from bench.timing import measure
from crm.models import Rep
from leads.models import Lead


def run(scale: int) -> list[dict]:
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    settings.DEBUG = False
    rows: list[dict] = []
    workload = f"{Lead.objects.count():,} leads, {Rep.objects.count()} reps"

    anon = Client()
    baseline = measure(lambda: anon.get("/healthz"))
    rows.append(_row("healthz (baseline)", workload, baseline, baseline))

    admin = Client()
    admin.force_login(get_user_model().objects.filter(is_superuser=True).first())
    for label, url in [
        ("admin lead changelist", "/admin/leads/lead/"),
        ("admin lead changelist, filtered", "/admin/leads/lead/?status__exact=assigned"),
    ]:
        rows.append(_row(label, workload, measure(lambda url=url: _ok(admin.get(url)), repeat=10), baseline))

    busiest = Rep.objects.annotate(n=Count("owned_leads")).order_by("-n").select_related("user").first()
    if busiest is not None:
        rep_client = Client()
        rep_client.force_login(busiest.user)
        lead = Lead.objects.filter(owner=busiest).order_by("-id").first()
        pages = [
            ("my leads", "/leads/"),
            ("my leads, overdue filter", "/leads/?due=overdue"),
            ("pool", "/pool/"),
            # A selective filter: the capped count and the page walk the pooled leads (index-only).
            ("pool, high tier by score", "/pool/?tier=high&order=-score"),
        ]
        if lead is not None:
            pages.append(("lead page", f"/leads/{lead.pk}/"))
        for label, url in pages:
            rows.append(
                _row(f"rep {label}", workload, measure(lambda url=url: _ok(rep_client.get(url))), baseline)
            )
    return rows


def _ok(response):
    if response.status_code != 200:
        raise RuntimeError(f"{response.request['PATH_INFO']} answered {response.status_code}")
    return response


def _row(figure: str, workload: str, m: dict, baseline: dict) -> dict:
    return {
        "figure": f"{figure} p95 ({m['queries']} queries)",
        "workload": workload,
        "value": m["p95"],
        "unit": "ms",
        "baseline": f"healthz p95 {baseline['p95']:.1f} ms",
        "ratio": m["p95"] / baseline["p95"] if baseline["p95"] else "",
    }
