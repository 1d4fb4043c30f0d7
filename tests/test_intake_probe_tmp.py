from django.db import connection
from django.test.utils import CaptureQueriesContext
from tests.test_intake_bulk import *  # noqa
def test_probe(source, routing):
    with CaptureQueriesContext(connection) as ctx:
        intake_bulk(with_noise(rows(400, start=1000)), source=source, batch_size=1000)
    for q in ctx.captured_queries: print(q["sql"][:150])
