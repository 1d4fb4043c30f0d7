"""Two intakes of the same contact at the same moment still make one lead (PostgreSQL: advisory
locks on the contact keys; SQLite admits one writer at a time anyway)."""

import threading

import pytest
from django.db import connection

from leads.models import Lead, Source
from lifecycle.intake import intake_bulk, lead_intake
from tests.conftest import requires_postgres


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_intakes_of_one_contact_make_one_lead():
    source = Source.objects.create(code="race", name="Race")
    barrier = threading.Barrier(4)
    errors = []

    def worker(i):
        try:
            barrier.wait()
            if i % 2:
                lead_intake(data={"phone": "138 0013 8000", "name": f"t{i}"}, source=source)
            else:
                intake_bulk([{"phone": "+86 13800138000"}, {"email": f"r{i}@example.cn"}], source=source)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert errors == []
    assert Lead.objects.filter(phone_normalized="+8613800138000").count() == 1
