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


class CrmConfig(AppConfig):
    name = "crm"
    verbose_name = "Sales organisation"

    def ready(self) -> None:
        connection_created.connect(sqlite_use_real_variable_limit, dispatch_uid="sqlite_variable_limit")
