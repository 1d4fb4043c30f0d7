"""pipelined_map: a forked child computes the next items in order while the caller handles the
current one; errors keep their place and their type, the child cannot touch the database, and
a child that dies is reported instead of waited for."""

import os

import pytest

from crm.pipelining import ChildDied, fork_available, pipelined_map
from leads.importing import ImportFileError
from leads.models import Lead

pytestmark = pytest.mark.skipif(not fork_available(), reason="needs fork (POSIX)")


def square_with_pid(n):
    return n * n, os.getpid()


def test_results_come_back_in_order_from_another_process():
    out = list(pipelined_map(iter(range(50)), square_with_pid))

    assert [item for item, _ in out] == list(range(50))
    assert [result[0] for _, result in out] == [n * n for n in range(50)]
    assert {result[1] for _, result in out} != {os.getpid()}


def test_without_fork_the_same_results_are_computed_here():
    out = list(pipelined_map(iter(range(5)), square_with_pid, fork=False))

    assert [result for _, result in out] == [(n * n, os.getpid()) for n in range(5)]


def fail_at_three(n):
    if n == 3:
        raise ValueError("row 3 is broken")
    return n


def test_an_error_of_fn_takes_the_place_of_its_result_and_ends_the_stream():
    out = list(pipelined_map(iter(range(10)), fail_at_three))

    assert [item for item, _ in out] == [0, 1, 2, 3]
    assert isinstance(out[-1][1], ValueError)
    assert str(out[-1][1]) == "row 3 is broken"
    assert any("preparing process" in note for note in out[-1][1].__notes__)


def reader_failing_after_two():
    yield 1
    yield 2
    raise ImportFileError("line 3: the file ends inside a quoted cell")


def test_a_reader_error_is_raised_with_its_type_after_the_items_before_it():
    seen = []
    with pytest.raises(ImportFileError, match="quoted cell"):
        for item, _ in pipelined_map(reader_failing_after_two(), lambda n: n):
            seen.append(item)

    assert seen == [1, 2]


class Unpicklable(Exception):
    def __init__(self, message, *, code):
        super().__init__(message)
        self.code = code


def raise_unpicklable(n):
    raise Unpicklable("needs its keyword", code=7)


def test_an_exception_that_cannot_travel_arrives_as_its_text():
    (_, result), *_ = pipelined_map(iter([1]), raise_unpicklable)

    assert isinstance(result, RuntimeError)
    assert "Unpicklable: needs its keyword" in str(result)


@pytest.mark.django_db
def test_the_child_may_not_query_the_database():
    Lead.objects.exists()  # the parent's connection is open when the child is forked

    (_, result), *_ = pipelined_map(iter([1]), lambda n: Lead.objects.count())

    assert isinstance(result, RuntimeError)
    assert "must not query the database" in str(result)
    assert Lead.objects.count() == 0  # and the parent's connection still works


def die(n):
    if n == 2:
        os._exit(3)
    return n


def test_a_child_that_dies_is_reported_not_waited_for():
    seen = []
    with pytest.raises(ChildDied, match="exit code 3"):
        for item, _ in pipelined_map(iter(range(5)), die):
            seen.append(item)

    assert seen == [0, 1]


def test_a_caller_that_stops_early_leaves_no_child_behind():
    stream = pipelined_map(iter(range(1000)), square_with_pid)
    _, (_, child_pid) = next(stream)
    stream.close()

    with pytest.raises(ChildProcessError):
        os.waitpid(child_pid, os.WNOHANG)  # already reaped: not ours any more, not running
