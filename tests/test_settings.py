"""Settings come from the environment: DATABASE_URL for SQLite and PostgreSQL, REDIS_URL for the broker."""

import os
import subprocess
import sys

import pytest


def settings_in_subprocess(env: dict, expr: str) -> str:
    code = f"import django, os; os.environ['DJANGO_SETTINGS_MODULE']='crm.settings'; from django.conf import settings; print(({expr}))"
    full_env = {
        k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "DEBUG", "SECRET_KEY"}
    }
    full_env.update({"LEADFLOW_DEV": "1"}, **env)
    return subprocess.run(
        [sys.executable, "-c", code], env=full_env, capture_output=True, text=True, check=True
    ).stdout.strip()


def test_default_database_is_a_sqlite_file_in_wal_mode():
    out = settings_in_subprocess(
        {},
        "settings.DATABASES['default']['ENGINE'], settings.DATABASES['default']['OPTIONS']['init_command']",
    )
    assert "sqlite3" in out and "journal_mode=WAL" in out


def test_postgres_database_url_is_parsed():
    out = settings_in_subprocess(
        {"DATABASE_URL": "postgres://app@db.example:5433/leads"},
        "settings.DATABASES['default']['ENGINE'], settings.DATABASES['default']['HOST'], settings.DATABASES['default']['PORT'], settings.DATABASES['default']['NAME'], settings.IS_POSTGRES",
    )
    assert out == "('crm.backends.postgresql', 'db.example', 5433, 'leads', True)"


def test_redis_url_switches_the_django_q_broker():
    assert (
        settings_in_subprocess(
            {"REDIS_URL": "redis://localhost:6379/0"},
            "settings.Q_CLUSTER.get('redis'), settings.Q_CLUSTER.get('orm')",
        )
        == "('redis://localhost:6379/0', None)"
    )
    assert settings_in_subprocess({}, "settings.Q_CLUSTER.get('orm')") == "default"


def test_production_requires_a_secret_key():
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"SECRET_KEY", "LEADFLOW_DEV", "PYTEST_VERSION", "DEBUG"}
    }
    env["DJANGO_SETTINGS_MODULE"] = "crm.settings"
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"], env=env, capture_output=True, text=True
    )
    assert result.returncode != 0 and "SECRET_KEY must be set" in result.stderr


@pytest.mark.parametrize("debug", ["0"])
def test_production_settings_pass_the_deploy_check(debug):
    env = {k: v for k, v in os.environ.items() if k not in {"LEADFLOW_DEV", "PYTEST_VERSION"}}
    env.update(
        DEBUG=debug,
        SECRET_KEY="x" * 64 + "-not-a-real-key-but-long-and-random-enough-1234",
        SECURE_SSL_REDIRECT="1",
        SECURE_HSTS_SECONDS="31536000",
        DJANGO_SETTINGS_MODULE="crm.settings",
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_sqlite_process_starts_without_importing_psycopg():
    """The import command's start-up counts in its rows/s; psycopg is only loaded for PostgreSQL."""
    code = (
        "import django, os, sys; os.environ['DJANGO_SETTINGS_MODULE']='crm.settings'; django.setup();"
        "from django.db import connection; connection.ensure_connection(); print('psycopg' in sys.modules)"
    )
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "DEBUG", "SECRET_KEY"}}
    env.update(LEADFLOW_DEV="1", DATABASE_URL="sqlite:///:memory:")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.django_db
def test_a_postgresql_connection_lets_psycopg_cache_the_routed_lead_write():
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("SKIPPED ON SQLITE: a psycopg setting")
    from psycopg import _queries

    connection.ensure_connection()
    assert _queries.MAX_CACHED_STATEMENT_PARAMS >= 128
