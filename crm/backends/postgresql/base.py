"""Django's PostgreSQL backend, aware that server-side binding caps a statement's parameters.

With `server_side_binding` (crm/settings.py) psycopg sends parameters in the extended protocol,
which holds at most 65,535 per statement. Django's PostgreSQL backend assumes no limit, so a
cascade delete of more leads than that (a source with 100k leads, the admin's "delete selected")
or a bulk_create of wide rows failed with "number of parameters must be between 0 and 65535".
Declaring the limit lets Django batch those statements, as it does on Oracle.
"""

from __future__ import annotations

from itertools import chain

from django.db.backends.postgresql import base, features, operations
from django.db.models.fields.composite import CompositePrimaryKey

# The extended query protocol's parameter count is a 16-bit integer.
MAX_QUERY_PARAMS = 2**16 - 1


class DatabaseFeatures(features.DatabaseFeatures):
    max_query_params = MAX_QUERY_PARAMS


class DatabaseOperations(operations.DatabaseOperations):
    def bulk_batch_size(self, fields, objs):
        """Rows per statement so that rows × fields stays within the parameter limit (what
        Django's Oracle backend does for the same limit)."""
        columns = list(
            chain.from_iterable(f.fields if isinstance(f, CompositePrimaryKey) else [f] for f in fields)
        )
        if columns:
            return max(self.connection.features.max_query_params // len(columns), 1)
        return len(objs)


class DatabaseWrapper(base.DatabaseWrapper):
    features_class = DatabaseFeatures
    ops_class = DatabaseOperations
