from datetime import timedelta
import pytest
from django.utils import timezone
from crm import selectors as s
from tests.factories import LeadFactory, ActivityFactory


@pytest.mark.django_db
def test_smoke(rep_a, rep_b, source, django_assert_max_num_queries):
    now = timezone.now()
    for i in range(5):
        l = LeadFactory(
            source=source,
            status="assigned",
            owner=rep_a,
            team=rep_a.team,
            assigned_at=now - timedelta(hours=10),
            first_contact_due=now - timedelta(hours=5),
            score=i * 20,
        )
        ActivityFactory(lead=l, occurred_at=now - timedelta(hours=10 - i))
    f = s.dashboard_filters_default(now=now)
    scope = s.DashboardScope(team_ids=None)
    m = s.dashboard_metrics(scope=scope, filters=f, now=now)
    import pprint

    pprint.pprint({k: v for k, v in m.items() if k != "labels"})
    print(
        s.percentiles_by_group(
            s.Lead.objects.all(), value=s.F("score"), group=s.F("owner_id"), fractions=(0.5, 0.9)
        )
    )


@pytest.mark.django_db
def test_page(client, manager, rep_a, source):
    now = timezone.now()
    for i in range(5):
        l = LeadFactory(
            source=source,
            status="assigned",
            owner=rep_a,
            team=rep_a.team,
            assigned_at=now - timedelta(hours=10),
            first_contact_due=now - timedelta(hours=5),
            score=i * 20,
        )
    client.force_login(manager)
    r = client.get("/dashboard/")
    assert r.status_code == 200, r.content[:3000]
    open("/tmp/dashscratch/page.html", "wb").write(r.content)
    r = client.get("/dashboard/csv/speed_rep.csv")
    print(r.content.decode())
    r = client.get("/dashboard/api/metrics.json")
    assert r.status_code == 200
    print(r.content.decode()[:1500])
