"""The admin's lead page shows which rule gave how many points, escaped."""

from leads.models import ScoringRule
from lifecycle.intake import lead_intake


def test_the_lead_page_lists_each_rule_and_its_points(admin_client, source):
    ScoringRule.objects.create(name="<b>has company</b>", field="company", operator="not_empty", points=30)
    ScoringRule.objects.create(name="SaaS", field="industry", operator="eq", value="SaaS", points=15)
    lead = lead_intake(
        data={"phone": "13800138000", "company": "恒通", "industry": "SaaS"}, source=source
    ).lead

    html = admin_client.get(f"/admin/leads/lead/{lead.pk}/change/").content.decode()

    assert "&lt;b&gt;has company&lt;/b&gt;" in html and "+30" in html
    assert "SaaS" in html and "+15" in html
    assert "<b>has company</b>" not in html


def test_the_breakdown_snippet_renders_each_rule_escaped(db, source):
    from django.template.loader import render_to_string

    ScoringRule.objects.create(name="<i>x</i>", field="company", operator="not_empty", points=30)
    lead = lead_intake(data={"phone": "13800138000", "company": "恒通"}, source=source).lead

    html = render_to_string("leads/score_breakdown.html", {"lead": lead})

    assert "&lt;i&gt;x&lt;/i&gt;" in html and "+30" in html
