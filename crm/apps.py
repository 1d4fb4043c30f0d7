from django.apps import AppConfig
from django.db.backends.signals import connection_created


def sqlite_use_real_variable_limit(sender, connection, **kwargs) -> None:
    """Django assumes SQLite's old 999-variable limit, so bulk inserts of wide rows go ~19 rows
    per statement; modern SQLite allows 32766, which cuts the statement count ~30x."""
    if connection.vendor != "sqlite":
        return
    import sqlite3

    limit = connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    connection.features.max_query_params = min(limit, 32766)


def psycopg_cache_wide_statements(sender, connection, **kwargs) -> None:
    """psycopg parses a statement's placeholders anew on every call when it has more than 50
    parameters (its guard against caching ORM INSERTs whose VALUES lists vary in length). The
    statement a routed lead's writes become (leads.writing.Writes: cursor, hit counter, lead
    and event in one) has 53 and the same text every time: parsing it took 120-190 µs a lead.
    The cache stays bounded by psycopg's other guards (128 entries of at most 4 KB of SQL).
    Set when a PostgreSQL connection opens: importing psycopg costs a SQLite process 45 ms of
    start-up, which an import_leads run pays too."""
    if connection.vendor != "postgresql":
        return
    try:
        from psycopg import _queries
    except ImportError:  # psycopg 2, or none
        return
    if getattr(_queries, "MAX_CACHED_STATEMENT_PARAMS", 128) < 128:
        _queries.MAX_CACHED_STATEMENT_PARAMS = 128


class CrmConfig(AppConfig):
    name = "crm"
    verbose_name = "Sales organisation"

    def ready(self) -> None:
        connection_created.connect(sqlite_use_real_variable_limit, dispatch_uid="sqlite_variable_limit")
        connection_created.connect(psycopg_cache_wide_statements, dispatch_uid="psycopg_statement_cache")
