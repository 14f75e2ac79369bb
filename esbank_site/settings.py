"""Django settings for Event Sourced Bank: one file, read from the environment.

Run locally with no environment at all (``make run``); in production set at
least DJANGO_SECRET_KEY, DJANGO_ALLOWED_HOSTS and DATABASE_URL. With
DJANGO_DEBUG off the site is HTTPS-only (HSTS, secure cookies, a redirect to
https) unless DJANGO_HTTPS=0 says it is served over plain HTTP on purpose,
as ``make serve`` on 127.0.0.1 and the tests' live servers are.
docs/SECURITY.md explains every setting below that guards the site.
"""

from __future__ import annotations

import base64
import binascii
import os
import tempfile
import warnings
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from esbank_site.persistence.network import client_keepalives, server_options

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


def env_int(name: str, *, default: int) -> int:
    """Read a whole number of something (seconds, connections) from the environment."""
    value = os.environ.get(name, "")
    if value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        number = -1
    if number < 0:
        msg = f"{name} must be a whole number, 0 or more, not {value!r}."
        raise ImproperlyConfigured(msg)
    return number


# DANGER: never run with DJANGO_DEBUG=1 where anyone else can reach the site.
DEBUG = env_flag("DJANGO_DEBUG", default=False)

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
# Django names the keys it makes for development so; the bank's own is one.
INSECURE_KEY_PREFIX = "django-insecure-"
if not SECRET_KEY:
    if not DEBUG:
        # No variable (ESBANK_INSECURE_DEV_KEY once did) picks the public key
        # with DEBUG off: tests and tools give a random key of their own.
        msg = (
            "Set DJANGO_SECRET_KEY: the development key is only for "
            "DJANGO_DEBUG=1 (local development)."
        )
        raise ImproperlyConfigured(msg)
    # DANGER: a well-known key, for local development (DJANGO_DEBUG=1) only.
    SECRET_KEY = f"{INSECURE_KEY_PREFIX}esbank-local-development-only"
elif not DEBUG and SECRET_KEY.startswith(INSECURE_KEY_PREFIX):
    msg = (
        f"DJANGO_SECRET_KEY starts with {INSECURE_KEY_PREFIX!r}: a development "
        "key, refused with DJANGO_DEBUG off. Make a key of your own, e.g. "
        "python3 -c 'import secrets; print(secrets.token_urlsafe(50))'."
    )
    raise ImproperlyConfigured(msg)
elif not DEBUG and (len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5):
    # Sessions and CSRF tokens are only as strong as this key.
    msg = (
        "DJANGO_SECRET_KEY is too weak: give at least 50 random characters, e.g. "
        "python3 -c 'import secrets; print(secrets.token_urlsafe(50))'."
    )
    raise ImproperlyConfigured(msg)

ALLOWED_HOSTS = [
    host.strip()
    for host in os.environ.get("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",")
    if host.strip()
]

# HTTPS only, by default whenever DEBUG is off. DJANGO_HTTPS=0 is for a
# site served over plain HTTP on purpose: `make serve` on 127.0.0.1, the
# tests' live servers. Behind a proxy that ends TLS, gunicorn trusts its
# X-Forwarded-Proto from 127.0.0.1 (--forwarded-allow-ips for others), so
# Django sees https requests as secure and the redirect does not loop.
HTTPS = env_flag("DJANGO_HTTPS", default=not DEBUG)
SECURE_SSL_REDIRECT = HTTPS
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
# DANGER: browsers remember HSTS for this long, for every subdomain, and
# preloading is a promise to the browsers' lists; lower DJANGO_HSTS_SECONDS
# (say to 300) while trying HTTPS out on a new domain.
SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", default=31536000) * HTTPS
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS
# Django's defaults, stated because the site relies on them.
# Load balancers may check health over plain HTTP inside the network.
SECURE_REDIRECT_EXEMPT = [r"^health/$"]
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Scripts never read the CSRF cookie: htmx sends the token from the page's
# hx-headers (base.html).
CSRF_COOKIE_HTTPONLY = True
# Origins (scheme://host) allowed to POST besides the site's own host, e.g.
# when a proxy rewrites the Host header; comma-separated.
CSRF_TRUSTED_ORIGINS = [
    origin.strip()
    for origin in os.environ.get("DJANGO_CSRF_TRUSTED_ORIGINS", "").split(",")
    if origin.strip()
]

# What the pages may load: only the site's own files. No inline script or
# style anywhere (base.html, bank.js), so neither needs a nonce. The same
# shape as Django 6.0's SECURE_CSP, whose middleware can replace ours.
SECURE_CSP = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:"],
    "connect-src": ["'self'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
    "base-uri": ["'none'"],
    "object-src": ["'none'"],
}
# Browser features the bank never uses, switched off for every page.
PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=()"

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "axes",
    "esbank_site",
    "accounts",
    "ledger",
]

MIDDLEWARE = [
    # First: every response carries X-Request-ID, and every request is
    # logged once with it (web/request_ids.py).
    "esbank_site.web.request_ids.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "esbank_site.web.security.SecurityHeadersMiddleware",
    # Serves static/ itself (gunicorn serves no files): before anything else.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # Cache-Control: no-store on every response to a signed-in user.
    "esbank_site.web.security.SignedInNoStoreMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Events recorded by the view say who asked, in which request
    # (web/provenance.py): needs request.user and request.id.
    "esbank_site.web.provenance.ProvenanceMiddleware",
    "esbank_site.web.middleware.LoginRequiredMiddleware",
    # 400 for NUL in a query, cookie, Basic credentials or (once signed in)
    # a form, before any view or database sees it (docs/SECURITY.md).
    "esbank_site.web.input_guard.NulCharacterGuardMiddleware",
    # Sign out a user idle for ESBANK_SESSION_IDLE_MINUTES (web/sessions.py).
    "esbank_site.web.sessions.IdleSessionTimeoutMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "esbank_site.web.security.MoneyPostThrottleMiddleware",
    "esbank_site.web.security.PayeeCheckThrottleMiddleware",
    # 429 before a login or a feed's Basic credentials cost a password hash.
    "esbank_site.web.login_throttle.LoginThrottleMiddleware",
    "esbank_site.web.middleware.BankTroubleMiddleware",
    # Last, so its lockout page replaces whatever the login view answered.
    "axes.middleware.AxesMiddleware",
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
                "accounts.context_processors.htmx_events",
            ],
        },
    },
]

WSGI_APPLICATION = "esbank_site.wsgi.application"

# How long to wait for the database, and how many connections to keep: read
# once here, and given to Django's connections, the event store and
# run_processors alike (esbank_site/persistence/environment.py). The
# drivers' own defaults wait much longer, or forever; a request held that
# long is one its user gave up on, so it fails fast with a 503 instead.
ESBANK_DB_LOCK_TIMEOUT = env_int("ESBANK_DB_LOCK_TIMEOUT", default=5)
ESBANK_DB_CONNECT_TIMEOUT = env_int("ESBANK_DB_CONNECT_TIMEOUT", default=5)
# Seconds a PostgreSQL connection may go unanswered (a cut link, a
# partition) before the client and the server both give it up: keepalives
# and TCP_USER_TIMEOUT at both ends (esbank_site/persistence/network.py).
# It bounds how long a cut-off run_processors keeps its followers from the
# standby (docs/DEPLOYMENT.md, "On several machines"). 0: the kernel's
# defaults, up to hours.
ESBANK_DB_NETWORK_TIMEOUT = env_int("ESBANK_DB_NETWORK_TIMEOUT", default=15)
# The connection budget (docs/DEPLOYMENT.md, esbank_site/persistence/
# connection_budget.py): each application's pool keeps POSTGRES_POOL_SIZE
# connections per web process, and opens at most POSTGRES_MAX_OVERFLOW more
# while all of them are in use. A sync gunicorn worker serves one request at
# a time, and no request holds two connections of one pool: 1 and 0. Set the
# pool size to the threads of a gthread worker. run_processors sizes its
# pools by its own threads, with the same overflow.
ESBANK_POSTGRES_POOL_SIZE = env_int("POSTGRES_POOL_SIZE", default=1)
ESBANK_POSTGRES_MAX_OVERFLOW = env_int("POSTGRES_MAX_OVERFLOW", default=0)
if ESBANK_POSTGRES_POOL_SIZE + ESBANK_POSTGRES_MAX_OVERFLOW == 0:
    msg = (
        "POSTGRES_POOL_SIZE and POSTGRES_MAX_OVERFLOW are both 0: a pool of no "
        "connection serves nothing. POSTGRES_POOL_SIZE=1 fits a sync worker."
    )
    raise ImproperlyConfigured(msg)

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
        # Wait this long for a lock held by the event store.
        "timeout": ESBANK_DB_LOCK_TIMEOUT,
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
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "connect_timeout": ESBANK_DB_CONNECT_TIMEOUT,
            "options": f"-c lock_timeout={ESBANK_DB_LOCK_TIMEOUT}s "
            f"{server_options(ESBANK_DB_NETWORK_TIMEOUT)}".strip(),
            **client_keepalives(ESBANK_DB_NETWORK_TIMEOUT),
        }
    )
    # A kept connection is checked (SELECT 1) before a request reuses it:
    # after a database restart or a failover, a web worker's old connection
    # is dead, and without the check the first request each worker serves
    # afterwards would fail with a 503.
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

# The function that returns this process's running bank, through which the
# apps' views reach it (accounts/services.py, ledger/services.py).
ESBANK_BANK = "esbank_site.bank.get_bank"

# How this process runs the followers (ledger, transaction log):
# inline after each commit, and on a timer; or not at all, when separate
# `manage.py run_processors` workers do it.
ESBANK_PROCESS_INLINE = env_flag("ESBANK_PROCESS_INLINE", default=True)
ESBANK_POLL_INTERVAL = float(os.environ.get("ESBANK_POLL_INTERVAL", "2.0")) or None

# Where the repository's files can be read in a browser (a forge's URL of
# the tree, e.g. ending in /blob/main): the "How this works" disclosures
# link into its docs/FEATURES.md. Empty: they show the path as text.
ESBANK_SOURCE_URL = os.environ.get("ESBANK_SOURCE_URL", "").strip()
if ESBANK_SOURCE_URL and not ESBANK_SOURCE_URL.startswith(("https://", "http://")):
    msg = "ESBANK_SOURCE_URL must be an http:// or https:// URL."
    raise ImproperlyConfigured(msg)

# Encryption at rest of the events' state (AES-GCM): a base64 key of 16, 24
# or 32 bytes; see the README for how to make one. Topics, ids and versions
# stay readable. The key must stay the same for the life of the database.
ESBANK_CIPHER_KEY = os.environ.get("CIPHER_KEY", "")
if ESBANK_CIPHER_KEY:
    try:
        _cipher_key_bytes = len(base64.b64decode(ESBANK_CIPHER_KEY, validate=True))
    except binascii.Error:
        _cipher_key_bytes = 0
    if _cipher_key_bytes not in {16, 24, 32}:
        msg = (
            "CIPHER_KEY must be a base64 key of 16, 24 or 32 bytes; make one with "
            "AESCipher.create_key(32) (see the README)."
        )
        raise ImproperlyConfigured(msg)
ESBANK_COMPRESS_EVENTS = env_flag("ESBANK_COMPRESS_EVENTS", default=False)

# Login throttling (django-axes): after ESBANK_LOGIN_FAILURE_LIMIT wrong
# passwords for one username from one address, that pair is refused for
# ESBANK_LOGIN_COOLOFF_MINUTES, with a 429 page saying so. Attempts are kept
# in the database, so every web process sees them.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("ESBANK_LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(
    minutes=float(os.environ.get("ESBANK_LOGIN_COOLOFF_MINUTES", "15"))
)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "esbank_site.web.security.lockout_response"
# Record failures, not every successful login.
AXES_DISABLE_ACCESS_LOG = True
# Behind N proxies of one's own, the client's address is the Nth from the
# right of X-Forwarded-For; without them, REMOTE_ADDR (never a header a
# client could forge). esbank_site/web/addresses.py reads it, for the
# lockout and the login throttle. With HTTPS on, something ends TLS in front
# of gunicorn: a system check then refuses to go on until DJANGO_PROXY_COUNT
# is given (0 if clients reach gunicorn directly).
PROXY_COUNT = env_int("DJANGO_PROXY_COUNT", default=0)
PROXY_COUNT_STATED = os.environ.get("DJANGO_PROXY_COUNT", "") != ""
AXES_CLIENT_IP_CALLABLE = "esbank_site.web.addresses.client_address"
# Before any password is hashed (esbank_site/web/login_throttle.py): a login
# or a feed request with HTTP Basic credentials gets 429 with Retry-After
# past this many attempts per client address and minute, or when the site
# has let one through in the last 60/ESBANK_LOGIN_ATTEMPTS_PER_MINUTE
# seconds (0: no limit). Counted in the "throttle" cache, below.
ESBANK_LOGIN_ATTEMPTS_PER_ADDRESS_PER_MINUTE = env_int(
    "ESBANK_LOGIN_ATTEMPTS_PER_ADDRESS_PER_MINUTE", default=10
)
ESBANK_LOGIN_ATTEMPTS_PER_MINUTE = env_int(
    "ESBANK_LOGIN_ATTEMPTS_PER_MINUTE", default=30
)

# Money-moving POSTs (deposit, withdraw, transfer) per signed-in user and
# minute; more are answered 429 with Retry-After (0: no limit). Counted in
# the "throttle" cache, which is per process: with W web processes a user
# gets up to W times this, unless ESBANK_THROTTLE_CACHE names a cache that
# all processes share (see docs/SECURITY.md).
ESBANK_MONEY_POSTS_PER_MINUTE = env_int("ESBANK_MONEY_POSTS_PER_MINUTE", default=60)
# Confirmation-of-payee lookups per user and minute (0: no limit).
ESBANK_PAYEE_CHECKS_PER_MINUTE = env_int("ESBANK_PAYEE_CHECKS_PER_MINUTE", default=30)
# Open accounts one customer may hold at once; opening another is refused
# (422, nothing recorded) until one is closed. Enforced by the Accounts
# application, which gets it from the bank's environment (esbank_site/bank.py),
# so two web processes opening at once cannot pass it. 0: no limit.
ESBANK_MAX_OPEN_ACCOUNTS = env_int("ESBANK_MAX_OPEN_ACCOUNTS", default=20)
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "throttle": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "esbank-throttle",
    },
}
if os.environ.get("ESBANK_THROTTLE_CACHE") == "database":
    # Shared by every process; `manage.py createcachetable` makes the table.
    CACHES["throttle"] = {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "esbank_throttle",
    }

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"

# A signed-in user idle for this many minutes is signed out, and the login
# page says why (esbank_site/web/sessions.py); a panel refreshing itself on
# a timer is not activity. 0: no idle timeout (DANGER: a session then lasts
# as long as the browser stays open). sessions.py, not the cookie, decides
# when a session has ended: the cookie lasts until the browser closes, and
# the stored session an hour past the limit (counted from the last activity
# written), long enough to tell a customer who comes back why they must log
# in again, and no longer.
ESBANK_SESSION_IDLE_MINUTES = env_int("ESBANK_SESSION_IDLE_MINUTES", default=15)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
if ESBANK_SESSION_IDLE_MINUTES:
    SESSION_COOKIE_AGE = (ESBANK_SESSION_IDLE_MINUTES + 60) * 60

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
    # A refused request (4xx) logs one line, without Django's traceback.
    "formatters": {
        "console": {"()": "esbank_site.web.request_logging.ClientErrorFormatter"}
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "console"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {"esbank_site": {"level": "INFO"}},
}
