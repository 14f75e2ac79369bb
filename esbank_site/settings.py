"""Django settings for Event Sourced Bank: one file, read from the environment.

Run locally with no environment at all (``make run``); in production set at
least DJANGO_SECRET_KEY, DJANGO_ALLOWED_HOSTS and DATABASE_URL.
"""

from __future__ import annotations

import os
import tempfile
import warnings
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_flag(name: str, *, default: bool) -> bool:
    """Read a yes/no environment variable."""
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    msg = f"{name} must be true or false, not {value!r}."
    raise ImproperlyConfigured(msg)


# DANGER: never run with DJANGO_DEBUG=1 where anyone else can reach the site.
DEBUG = env_flag("DJANGO_DEBUG", default=False)

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if not env_flag("ESBANK_INSECURE_DEV_KEY", default=DEBUG):
        msg = "Set DJANGO_SECRET_KEY (or DJANGO_DEBUG=1 for local development)."
        raise ImproperlyConfigured(msg)
    # DANGER: a well-known key, for local development and tests only.
    SECRET_KEY = "django-insecure-esbank-local-development-only"  # noqa: S105

ALLOWED_HOSTS = [
    host.strip()
    for host in os.environ.get("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",")
    if host.strip()
]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "esbank_site",
    "accounts",
    "ledger",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Serves static/ itself (gunicorn serves no files): before anything else.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "esbank_site.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "esbank_site.middleware.BankTroubleMiddleware",
]

ROOT_URLCONF = "esbank_site.urls"

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
            ],
        },
    },
]

WSGI_APPLICATION = "esbank_site.wsgi.application"

# One database for everything: Django's tables and the bank's events.
# SQLite by default; DATABASE_URL=postgres://user:pass@host:5432/name for more.
DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=60,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        # Wait this long for a lock held by the event store (seconds).
        "timeout": 5,
        # Take the write lock when a transaction starts, not midway through
        # it, so two writers queue instead of failing with "locked".
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # A file, not memory: the event store opens its own connections to it.
    # One per test run, outside the checkout, so two runs never collide.
    DATABASES["default"]["TEST"] = {
        "NAME": str(Path(tempfile.gettempdir()) / f"esbank_test_{os.getpid()}.sqlite3")
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
else:
    # Give up on an unreachable server or a held lock after 5 seconds
    # (PostgreSQL's defaults wait much longer, or forever): requests then
    # fail fast with 503 instead of piling up.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"connect_timeout": 5, "options": "-c lock_timeout=5s"}
    )

# How this process runs the followers (ledger, transaction log):
# inline after each commit, and on a timer; or not at all, when separate
# `manage.py run_processors` workers do it.
ESBANK_PROCESS_INLINE = env_flag("ESBANK_PROCESS_INLINE", default=True)
ESBANK_POLL_INTERVAL = float(os.environ.get("ESBANK_POLL_INTERVAL", "2.0")) or None

# Encryption at rest of the events' state (AES-GCM): a base64 key of 16, 24
# or 32 bytes; see the README for how to make one. Topics, ids and versions
# stay readable. The key must stay the same for the life of the database.
ESBANK_CIPHER_KEY = os.environ.get("CIPHER_KEY", "")
ESBANK_COMPRESS_EVENTS = env_flag("ESBANK_COMPRESS_EVENTS", default=False)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "Europe/London"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
# Serve files straight from the apps' and static/ folders, so no
# collectstatic step is needed before starting gunicorn; whitenoise's
# warning about the uncollected STATIC_ROOT then says nothing useful.
WHITENOISE_USE_FINDERS = True
warnings.filterwarnings("ignore", message=r"No directory at: .*staticfiles")

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {"esbank_site": {"level": "INFO"}},
}
