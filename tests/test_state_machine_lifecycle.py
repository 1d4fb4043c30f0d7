"""Random sequences of intake, activity, stage change, claim, recall and clock advances (with a
sweep) never break the invariants: `check_invariants` stays empty, every status carries exactly the
clocks the diagram allows, every transition is an edge of the diagram, and a second sweep at the
same instant does nothing."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from assignment.services import lead_claim
from leads.models import Lead, LeadEvent
from leads.selectors import invariants_violations
from leads.services import lead_transition
from lifecycle.models import Stage
from lifecycle.services import activity_log, lead_stage_move
from lifecycle.sweeps import sweep_run
from tests.factories import (
    LeadFactory,
    PolicyFactory,
    RepFactory,
    SourceFactory,
    TeamFactory,
    UserFactory,
    fund_lead_type,
)

T0 = datetime(2026, 2, 2, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))

EDGES = {
    "new": {"nurturing", "pooled", "assigned"},
    "nurturing": {"nurturing", "pooled", "assigned"},
    "pooled": {"pooled", "assigned", "nurturing"},
    "assigned": {"assigned", "silent", "pooled", "converted", "lost"},
    "silent": {"assigned", "pooled"},
    "converted": set(),
    "lost": set(),
}
OWNED_CLOCKS = ("first_contact_due", "progress_due", "claim_due", "valid_until", "warn_at")
POOL_CLOCKS = ("released_at", "reactivation_until", "cascade_due")
ACTIVITIES = [
    ("call", "rep", False),
    ("wecom", "rep", False),
    ("reply", "customer", True),
    ("app_visit", "customer", False),
    ("renewal_lapsed", "system", False),
    ("note", "rep", False),
]


class LifecycleMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self._atomic = transaction.atomic()
        self._atomic.__enter__()
        self.now = T0
        self.last_event = 0
        self.fund = fund_lead_type()
        PolicyFactory(
            name="默认",
            first_contact_sla=timedelta(hours=24),
            progress_window=timedelta(days=8),
            claim_follow_up=timedelta(hours=12),
            warning_lead_time=timedelta(hours=2),
            reactivation_window=timedelta(days=10),
            reactivation_kinds=["renewal_lapsed"],
            cascade_window=timedelta(hours=4),
        )
        team1, team2 = TeamFactory(name="T1", tier=1), TeamFactory(name="T2", tier=2)
        self.reps = [
            RepFactory(user=UserFactory(username="sm_junior"), team=team1, level="junior"),
            RepFactory(user=UserFactory(username="sm_senior"), team=team1, level="senior"),
            RepFactory(user=UserFactory(username="sm_expert"), team=team2, level="expert"),
        ]
        self.team1 = team1
        self.stages = list(Stage.objects.filter(lead_type=self.fund).order_by("position"))
        self.source = SourceFactory(code="sm", heat="hot")

    def teardown(self):
        transaction.set_rollback(True)
        self._atomic.__exit__(None, None, None)

    def leads(self, *statuses):
        return list(Lead.objects.filter(status__in=statuses).order_by("pk"))

    @initialize()
    def held_and_contacted(self):
        """Every run starts with one contacted fund lead per rep, so silence, activation and
        release are reachable within a few clock advances."""
        for rep in self.reps:
            lead = LeadFactory(status="new", source=self.source, lead_type=self.fund)
            lead_transition(
                lead=lead, status="assigned", owner=rep, kind="route", reason="seed", now=self.now
            )
            activity_log(lead=lead, kind="call", actor="rep", rep=rep, now=self.now)

    @rule(cascade=st.booleans(), fund=st.booleans())
    def intake(self, cascade, fund):
        lead = LeadFactory(status="new", source=self.source, lead_type=self.fund if fund else None)
        fields = {"pool_team": self.team1, "pool_reason": "cascade", "cascade_step": 1} if cascade else {}
        lead_transition(
            lead=lead, status="pooled", owner=None, kind="route", reason="intake", now=self.now, **fields
        )

    @precondition(lambda self: Lead.objects.filter(status__in=["pooled", "nurturing"]).exists())
    @rule(data=st.data(), claim=st.booleans())
    def assign_or_claim(self, data, claim):
        lead = data.draw(st.sampled_from(self.leads("pooled", "nurturing")))
        rep = data.draw(st.sampled_from(self.reps))
        if claim and lead.status == "pooled":
            lead_claim(lead=lead, rep=rep, now=self.now)  # may be refused by caps: nothing changes
        else:
            lead_transition(lead=lead, status="assigned", owner=rep, kind="route", reason="t", now=self.now)

    @precondition(lambda self: Lead.objects.exists())
    @rule(data=st.data(), what=st.sampled_from(ACTIVITIES))
    def activity(self, data, what):
        lead = data.draw(st.sampled_from(self.leads(*Lead.Status.values)))
        kind, actor, caused = what
        rep = Lead.objects.get(pk=lead.pk).owner if actor == "rep" else None
        activity_log(lead=lead, kind=kind, actor=actor, rep=rep, caused_by_rep=caused, now=self.now)

    @precondition(lambda self: Lead.objects.filter(status="assigned").exists())
    @rule(data=st.data())
    def holder_calls(self, data):
        lead = data.draw(st.sampled_from(self.leads("assigned")))
        activity_log(lead=lead, kind="call", actor="rep", rep=lead.owner, now=self.now)

    @precondition(lambda self: Lead.objects.filter(status="assigned", lead_type__isnull=False).exists())
    @rule(data=st.data())
    def stage_move(self, data):
        lead = data.draw(
            st.sampled_from(list(Lead.objects.filter(status="assigned", lead_type__isnull=False)))
        )
        stage = data.draw(st.sampled_from(self.stages))
        lead_stage_move(lead=lead, stage=stage, actor=None, now=self.now)

    @precondition(lambda self: Lead.objects.filter(status__in=["assigned", "silent"]).exists())
    @rule(data=st.data())
    def recall(self, data):
        lead = data.draw(st.sampled_from(self.leads("assigned", "silent")))
        lead_transition(
            lead=lead,
            status="pooled",
            owner=None,
            kind="recall",
            reason="manager recall",
            now=self.now,
            pool_reason="recalled",
        )

    @rule(
        step=st.sampled_from(
            [
                timedelta(minutes=30),
                timedelta(hours=3),
                timedelta(hours=13),
                timedelta(days=2),
                timedelta(days=5),
            ]
        )
    )
    def advance(self, step):
        self.now += step
        sweep_run(now=self.now)
        assert set(sweep_run(now=self.now).values()) == {0}

    @invariant()
    def invariants_hold(self):
        assert list(invariants_violations()) == []

    @invariant()
    def clocks_match_status(self):
        for lead in Lead.objects.all():
            clocks = {name: getattr(lead, name) for name in OWNED_CLOCKS + POOL_CLOCKS + ("silent_until",)}
            if lead.status == "assigned":
                assert clocks["silent_until"] is None and clocks["cascade_due"] is None, lead.pk
                assert clocks["valid_until"] is not None or lead.lead_type_id is None
            elif lead.status == "silent":
                assert clocks["silent_until"] is not None
                assert all(clocks[name] is None for name in OWNED_CLOCKS), lead.pk
            elif lead.status == "pooled":
                assert lead.owner_id is None
                assert all(clocks[name] is None for name in OWNED_CLOCKS + ("silent_until",)), lead.pk
                assert clocks["cascade_due"] is None or lead.pool_team_id is not None
            elif lead.status == "converted":
                assert all(
                    clocks[name] is None for name in ("first_contact_due", "progress_due", "claim_due")
                )

    @invariant()
    def transitions_follow_the_diagram(self):
        for event in LeadEvent.objects.filter(pk__gt=self.last_event).exclude(to_status="").order_by("pk"):
            if event.from_status:
                assert event.to_status in EDGES[event.from_status], (
                    event.kind,
                    event.from_status,
                    event.to_status,
                )
            self.last_event = event.pk


@pytest.mark.django_db
def test_random_life_cycles_keep_every_invariant():
    run_state_machine_as_test(
        LifecycleMachine,
        settings=settings(
            max_examples=12,
            stateful_step_count=30,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
        ),
    )
