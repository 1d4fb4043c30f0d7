"""The bulk writers and the waist's locking read encode and parse JSON with orjson
(crm.jsoncodec): what they store and read back must be what Django's JSONField stores and
reads, and what JSONField refuses they refuse the same way."""

from datetime import datetime

import pytest
from django.db import transaction
from django.utils import timezone

from leads.models import Lead, LeadEvent
from leads.services import TransitionRequest, leads_transition_bulk
from leads.writing import rows_insert, rows_update

pytestmark = pytest.mark.django_db

DOCUMENTS = [
    {},
    [],
    {"名字": "王伟", "列表": [1, 2.5, None, True, False, '引号"和\\反斜杠']},
    {1: "int key", "nested": {2: [3]}},
    {"big": 2**70, "negative": -(2**65)},
    {"float": 0.1 + 0.2, "tiny": 1e-300, "exp": 1.5e300},
    {"tab\tnew\nline": "\u2028 \U0001f600 emoji"},
    [{"deep": [[[[{"x": "y"}]]]]}],
]


def _stored(model, pk, column):
    return model.objects.values_list(column, flat=True).get(pk=pk)


@pytest.mark.parametrize("document", DOCUMENTS)
def test_bulk_written_documents_read_back_as_the_orm_stores_them(source, document):
    now = timezone.now()
    ours = rows_insert([Lead(source=source, status="pooled", created_at=now, extra=document)])[0]
    theirs = Lead.objects.create(source=source, status="pooled", created_at=now, extra=document)
    assert _stored(Lead, ours.pk, "extra") == _stored(Lead, theirs.pk, "extra")

    updated = Lead.objects.create(source=source, status="pooled", created_at=now)
    other = Lead.objects.create(source=source, status="pooled", created_at=now)
    updated.extra, other.extra = document, {"other": True}
    rows_update([updated, other], ["extra"])
    assert _stored(Lead, updated.pk, "extra") == _stored(Lead, theirs.pk, "extra")


def test_a_datetime_in_a_document_is_refused_as_the_orm_refuses_it(source):
    document = {"when": datetime(2026, 12, 1, 9, 30)}
    with pytest.raises(TypeError) as orm, transaction.atomic():
        Lead.objects.create(source=source, status="pooled", created_at=timezone.now(), extra=document)
    with pytest.raises(TypeError) as bulk, transaction.atomic():
        rows_insert([LeadEvent(lead_id=None, kind="k", at=timezone.now(), data=document)])
    assert str(bulk.value) == str(orm.value)


def test_the_waists_locking_read_parses_documents_as_the_orm_does(source, rep_a):
    now = timezone.now()
    leads = [
        Lead.objects.create(source=source, status="pooled", created_at=now, extra=doc, score_breakdown=[doc])
        for doc in DOCUMENTS
    ]
    stale = [Lead.objects.get(pk=lead.pk) for lead in leads]
    for lead in stale:
        lead.extra = {"stale": "caller copy"}
    leads_transition_bulk(
        [
            TransitionRequest(lead=lead, status="assigned", owner=rep_a, kind="claim", reason="")
            for lead in stale
        ]
    )
    for lead in stale:
        fresh = Lead.objects.get(pk=lead.pk)
        assert (lead.extra, lead.score_breakdown) == (fresh.extra, fresh.score_breakdown)
        assert lead.status == fresh.status == "assigned"
