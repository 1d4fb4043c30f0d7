"""Settings come from the environment so one code base runs the SQLite demo and a PostgreSQL fleet.

Variables: DATABASE_URL, REDIS_URL, SECRET_KEY, DEBUG, ALLOWED_HOSTS, TIME_ZONE.
"""

import os
import secrets
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


DEBUG = env_bool("DEBUG", False)

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG and not os.environ.get("PYTEST_VERSION") and not env_bool("LEADFLOW_DEV", False):
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    # Dev/test only: a random key generated once per checkout (never a fixed one in the repo) and
    # shared by every process — the web server and the qclusters sign and verify each other's
    # django-q2 tasks with it.
    _key_file = BASE_DIR / ".dev-secret-key"
    try:
        _fd = os.open(_key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        for _ in range(50):
            SECRET_KEY = _key_file.read_text().strip()
            if SECRET_KEY:
                break
            import time

            time.sleep(0.05)
    else:
        SECRET_KEY = "dev-" + secrets.token_urlsafe(48)
        with os.fdopen(_fd, "w") as _fh:
            _fh.write(SECRET_KEY)

ALLOWED_HOSTS = [
    h.strip() for h in os.environ.get("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]").split(",") if h.strip()
]
CSRF_TRUSTED_ORIGINS = [o.strip() for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()]

INSTALLED_APPS = [
    "crm.admin_apps.AdminOnDemandConfig",  # admin modules load with the URLconf (see there)
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rules.apps.AutodiscoverRulesConfig",
    "adminsortable2",
    "import_export",
    "django_filters",
    "django_q",
    "crm",
    "leads",
    "assignment",
    "lifecycle",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "crm.middleware.DatabaseUnavailableMiddleware",
]

ROOT_URLCONF = "crm.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "crm.context_processors.workspace",
            ],
        },
    }
]

WSGI_APPLICATION = "crm.wsgi.application"

DEFAULT_SQLITE = f"sqlite:///{BASE_DIR / 'leadflow.sqlite3'}"
DATABASE_URL = os.environ.get("DATABASE_URL") or DEFAULT_SQLITE
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_health_checks=True)}
_SQLITE = DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3"
# A server database keeps its connections between requests (re-checked before reuse): opening
# one costs about as much as routing a lead. SQLite's file connections are cheap to open.
DATABASES["default"]["CONN_MAX_AGE"] = int(os.environ.get("CONN_MAX_AGE", "0" if _SQLITE else "60"))
if _SQLITE:
    # WAL + a busy timeout + IMMEDIATE transactions let the web process and the scheduler
    # share one file without "database is locked" errors reaching users. A 64 MiB page cache
    # (the default is 2 MiB) keeps the lead table's indexes in memory while intake and routing
    # update them by the thousand. The log is copied back into the file every 10,000 pages
    # (40 MiB) instead of every 1,000: a 1,000-row import batch dirties that many index pages,
    # so the default checkpointed after nearly every commit and copied the same pages again
    # and again (commits took half the time, measured); the file is cut back to 64 MiB after.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 30,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=30000; PRAGMA cache_size=-65536; PRAGMA temp_store=MEMORY; PRAGMA wal_autocheckpoint=10000; PRAGMA journal_size_limit=67108864;",
        }
    )
    DATABASES["default"]["TEST"] = {"NAME": os.environ.get("SQLITE_TEST_NAME") or None}
IS_POSTGRES = DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
if IS_POSTGRES and os.environ.get("DB_SERVER_SIDE_BINDING", "1") != "0":
    # Parameters bound by the server let psycopg prepare the statements that every intake and
    # routing repeats (after 5 runs), so PostgreSQL stops planning them anew: planning a lead
    # query against the lead table's indexes costs about as much as running it. Set
    # DB_SERVER_SIDE_BINDING=0 behind a pooler that cannot keep prepared statements.
    DATABASES["default"].setdefault("OPTIONS", {})["server_side_binding"] = True
    # ...which caps a statement at 65,535 parameters: this backend tells Django so, and Django
    # then splits a big cascade delete or bulk_create into statements under the cap.
    DATABASES["default"]["ENGINE"] = "crm.backends.postgresql"

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

AUTHENTICATION_BACKENDS = [
    "rules.permissions.ObjectPermissionBackend",
    "django.contrib.auth.backends.ModelBackend",
]

LANGUAGE_CODE = os.environ.get("LANGUAGE_CODE", "zh-hans")
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = os.environ.get("TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / "media"))
MEDIA_URL = "media/"
# Uploaded import files and their rejects reports hold customers' contact data: they are
# deleted this many days after their import finished (the job, with its counts, stays).
IMPORT_FILE_RETENTION_DAYS = int(os.environ.get("IMPORT_FILE_RETENTION_DAYS", "30"))

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/leads/"
LOGOUT_REDIRECT_URL = "login"

EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "leadflow@localhost")

DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
API_MAX_BODY_BYTES = int(os.environ.get("API_MAX_BODY_BYTES", 64 * 1024))

IMPORT_EXPORT_SKIP_ADMIN_LOG = True
IMPORT_EXPORT_ESCAPE_FORMULAE_ON_EXPORT = True
# A control character pasted into a lead (the admin form keeps it) would make openpyxl refuse the
# whole XLSX export; it is written as U+FFFD instead.
IMPORT_EXPORT_ESCAPE_ILLEGAL_CHARS_ON_EXPORT = True

REDIS_URL = os.environ.get("REDIS_URL", "")
# Shared between web processes and workers (rate limits, dashboard cache): Redis at scale, a
# cache directory on the embedded setup, process-local under pytest so tests stay isolated.
if os.environ.get("PYTEST_VERSION"):
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
elif REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": os.environ.get("CACHE_DIR", str(BASE_DIR / ".cache")),
        }
    }
Q_CLUSTER = {
    "name": os.environ.get("Q_CLUSTER_NAME", "leadflow"),
    "workers": int(os.environ.get("Q_WORKERS", "2")),
    "timeout": 240,
    "retry": 300,  # greater than timeout, or a task runs twice
    "max_attempts": 3,
    "catch_up": False,  # never replay every missed minute after downtime
    "ack_failures": True,
    "save_limit": 500,
    "poll": 1,
    "label": "Django Q",
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
}

if not DEBUG:
    SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", True)
    CSRF_COOKIE_SECURE = env_bool("SECURE_COOKIES", True)
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "0"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_CONTENT_TYPE_NOSNIFF = True
    X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
