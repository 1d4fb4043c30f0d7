"""Bulk routing and bulk transitions run with Python's cyclic collector paused, and always give
it back — also when the batch fails."""

import gc

import pytest

from crm.collection import gc_paused


def test_the_collector_is_paused_inside_and_back_on_after():
    assert gc.isenabled()
    with gc_paused():
        assert not gc.isenabled()
        with gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the inner block leaves it to the outermost
    assert gc.isenabled()


def test_the_collector_comes_back_when_the_block_raises():
    with pytest.raises(RuntimeError), gc_paused():
        raise RuntimeError("batch failed")
    assert gc.isenabled()


def test_a_small_call_leaves_the_collector_alone():
    with gc_paused(enabled=False):
        assert gc.isenabled()


@pytest.mark.django_db
def test_bulk_routing_pauses_the_collector_and_restores_it(rep_a, monkeypatch):
    from assignment import routing
    from assignment.services import leads_route_bulk
    from tests.factories import LeadFactory

    seen = []
    original = routing.lead_decide

    def spy(**kwargs):
        seen.append(gc.isenabled())
        return original(**kwargs)

    monkeypatch.setattr("assignment.services.lead_decide", spy)
    leads_route_bulk(LeadFactory.create_batch(25, status="new"))

    assert seen and not any(seen)
    assert gc.isenabled()
