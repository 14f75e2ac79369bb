"""Production settings: what they refuse, and Django's deployment checklist.

Each case loads the settings in a fresh interpreter with its own
environment, as a production process would, never the tests' own.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from eventsourcing.cipher import AESCipher

REPO = Path(__file__).resolve().parents[2]
# The public key `make run` uses with DJANGO_DEBUG=1 (esbank_site/settings.py).
DEVELOPMENT_KEY = "django-insecure-esbank-local-development-only"

# What the tests' environment (tests/environment.py) and a developer's shell
# may set that a production process would not.
NOT_IN_PRODUCTION = (
    "DJANGO_DEBUG",
    "DJANGO_HTTPS",
    "DJANGO_HSTS_SECONDS",
    "ESBANK_INSECURE_DEV_KEY",
    "ESBANK_MONEY_POSTS_PER_MINUTE",
    "ESBANK_LOGIN_ATTEMPTS_PER_ADDRESS_PER_MINUTE",
    "ESBANK_LOGIN_ATTEMPTS_PER_MINUTE",
    "DJANGO_PROXY_COUNT",
    "CIPHER_KEY",
)


def production_env(**changes: str | None) -> dict[str, str]:
    """A production process's environment; ``None`` removes a variable."""
    env = {k: v for k, v in os.environ.items() if k not in NOT_IN_PRODUCTION}
    env |= {
        "DJANGO_SETTINGS_MODULE": "esbank_site.settings",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "bank.example.com",
        # Never reached: checks and settings make no connection.
        "DATABASE_URL": "postgres://bank:secret@db.example.invalid:5432/bank",
        "CIPHER_KEY": AESCipher.create_key(32),
        # Behind one load balancer that ends TLS (HTTPS is on).
        "DJANGO_PROXY_COUNT": "1",
    }
    for name, value in changes.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Python in the checkout with ``args``, in a process of its own."""
    return subprocess.run(
        [sys.executable, *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def run_python(code: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return run(["-c", code], env)


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return run(["manage.py", *args], env)


def load_settings(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Import the settings module; print a few of its values."""
    return run_python(
        "from esbank_site import settings as s; "
        "print(s.DEBUG, s.SECURE_SSL_REDIRECT, s.SESSION_COOKIE_SECURE, "
        "s.CSRF_COOKIE_SECURE, s.SECURE_HSTS_SECONDS)",
        env,
    )


def test_deploy_checklist_passes_under_production_settings():
    done = manage("check", "--deploy", "--fail-level", "WARNING", env=production_env())
    print(f"\ncheck --deploy: exit {done.returncode}; {done.stdout.strip()}")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no issues" in done.stdout


def test_deploy_checklist_fails_when_https_is_switched_off():
    plain_http = production_env(DJANGO_HTTPS="0")
    done = manage("check", "--deploy", "--fail-level", "WARNING", env=plain_http)
    assert done.returncode != 0
    for check in ("security.W004", "security.W008", "security.W012"):
        assert check in done.stderr + done.stdout


def test_production_defaults_are_https_only():
    done = load_settings(production_env())
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "True", "True", "True", "31536000"]


def test_a_web_process_keeps_one_connection_per_pool_by_default():
    # A sync gunicorn worker serves one request at a time (docs/DEPLOYMENT.md,
    # "Connection budget"); the library's own defaults are 5, and 10 more.
    env = production_env(POSTGRES_POOL_SIZE=None, POSTGRES_MAX_OVERFLOW=None)
    done = run_python(
        "from esbank_site import settings as s; "
        "print(s.ESBANK_POSTGRES_POOL_SIZE, s.ESBANK_POSTGRES_MAX_OVERFLOW)",
        env,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["1", "0"]


def test_plain_http_is_a_choice_that_must_be_made():
    done = load_settings(production_env(DJANGO_HTTPS="0"))
    assert done.stdout.split() == ["False", "False", "False", "False", "0"]


def test_debug_serves_plain_http_with_the_development_key():
    done = load_settings(production_env(DJANGO_DEBUG="1", DJANGO_SECRET_KEY=None))
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "False", "False", "False", "0"]


@pytest.mark.parametrize(
    ("changes", "complaint"),
    [
        ({"DJANGO_SECRET_KEY": None}, "Set DJANGO_SECRET_KEY"),
        ({"DJANGO_SECRET_KEY": ""}, "Set DJANGO_SECRET_KEY"),
        ({"DJANGO_SECRET_KEY": "short-but-secret"}, "DJANGO_SECRET_KEY is too weak"),
        ({"DJANGO_SECRET_KEY": "a" * 60}, "DJANGO_SECRET_KEY is too weak"),
        (
            {"DJANGO_SECRET_KEY": None, "ESBANK_INSECURE_DEV_KEY": "1"},
            "the development key is only for DJANGO_DEBUG=1",
        ),
        (
            {"DJANGO_SECRET_KEY": DEVELOPMENT_KEY},
            "DJANGO_SECRET_KEY starts with 'django-insecure-'",
        ),
        (
            {"DJANGO_SECRET_KEY": f"django-insecure-{secrets.token_urlsafe(50)}"},
            "DJANGO_SECRET_KEY starts with 'django-insecure-'",
        ),
        ({"CIPHER_KEY": "not base64!"}, "CIPHER_KEY must be a base64 key"),
        ({"CIPHER_KEY": "c2hvcnQ="}, "CIPHER_KEY must be a base64 key"),
        ({"DJANGO_DEBUG": "maybe"}, "DJANGO_DEBUG must be true or false"),
        ({"DJANGO_HTTPS": "sometimes"}, "DJANGO_HTTPS must be true or false"),
        (
            {"ESBANK_DB_LOCK_TIMEOUT": "soon"},
            "ESBANK_DB_LOCK_TIMEOUT must be a whole number, 0 or more, not 'soon'",
        ),
        (
            {"POSTGRES_POOL_SIZE": "-2"},
            "POSTGRES_POOL_SIZE must be a whole number, 0 or more, not '-2'",
        ),
        (
            {"POSTGRES_MAX_OVERFLOW": "many"},
            "POSTGRES_MAX_OVERFLOW must be a whole number, 0 or more, not 'many'",
        ),
        (
            {"POSTGRES_POOL_SIZE": "0", "POSTGRES_MAX_OVERFLOW": "0"},
            "POSTGRES_POOL_SIZE and POSTGRES_MAX_OVERFLOW are both 0",
        ),
    ],
    ids=[
        "no-secret-key",
        "empty-secret-key",
        "short-secret-key",
        "repetitive-secret-key",
        "insecure-dev-key-flag-without-debug",
        "development-key-without-debug",
        "django-insecure-key-without-debug",
        "cipher-key-not-base64",
        "cipher-key-wrong-size",
        "debug-not-a-flag",
        "https-not-a-flag",
        "lock-timeout-not-a-number",
        "pool-size-negative",
        "pool-overflow-not-a-number",
        "pool-of-no-connection",
    ],
)
def test_settings_refuse_to_load(changes, complaint):
    done = load_settings(production_env(**changes))
    assert done.returncode != 0
    assert "ImproperlyConfigured" in done.stderr
    assert complaint in done.stderr


def test_manage_py_refuses_to_start_without_a_secret_key():
    done = manage("check", env=production_env(DJANGO_SECRET_KEY=None))
    assert done.returncode != 0
    assert "Set DJANGO_SECRET_KEY" in done.stderr


def test_the_tests_run_with_a_strong_key_of_their_own(settings):
    # tests/environment.py makes one per run; spawned processes inherit it.
    assert not settings.SECRET_KEY.startswith("django-insecure-")
    assert len(settings.SECRET_KEY) >= 50
    assert os.environ["DJANGO_SECRET_KEY"] == settings.SECRET_KEY


# The proxy count, and the login throttle's settings.


@pytest.mark.parametrize("command", [["check"], ["migrate", "--noinput"]])
def test_https_without_a_stated_proxy_count_refuses_to_start(command):
    done = manage(*command, env=production_env(DJANGO_PROXY_COUNT=None))
    assert done.returncode != 0
    assert "esbank.E001" in done.stderr
    assert "DJANGO_PROXY_COUNT is not set, and HTTPS is on." in done.stderr
    # An empty value says nothing either.
    done = manage("check", env=production_env(DJANGO_PROXY_COUNT=""))
    assert "esbank.E001" in done.stderr


@pytest.mark.parametrize("count", ["0", "2"])
def test_any_stated_proxy_count_passes(count):
    done = manage("check", env=production_env(DJANGO_PROXY_COUNT=count))
    assert done.returncode == 0, done.stderr
    assert "esbank.E001" not in done.stderr


def test_plain_http_needs_no_proxy_count():
    env = production_env(DJANGO_HTTPS="0", DJANGO_PROXY_COUNT=None)
    done = manage("check", env=env)
    assert done.returncode == 0, done.stderr


def test_production_login_throttle_and_address_settings():
    done = run_python(
        "from esbank_site import settings as s; "
        "print(s.ESBANK_LOGIN_ATTEMPTS_PER_ADDRESS_PER_MINUTE, "
        "s.ESBANK_LOGIN_ATTEMPTS_PER_MINUTE, s.PROXY_COUNT, "
        "s.AXES_CLIENT_IP_CALLABLE, "
        "'esbank_site.web.login_throttle.LoginThrottleMiddleware' in s.MIDDLEWARE)",
        production_env(),
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [
        "10",
        "30",
        "1",
        "esbank_site.web.addresses.client_address",
        "True",
    ]


@pytest.mark.parametrize(
    "name",
    [
        "ESBANK_LOGIN_ATTEMPTS_PER_ADDRESS_PER_MINUTE",
        "ESBANK_LOGIN_ATTEMPTS_PER_MINUTE",
        "DJANGO_PROXY_COUNT",
    ],
)
@pytest.mark.parametrize("value", ["lots", "-1"])
def test_login_throttle_and_proxy_settings_must_be_whole_numbers(name, value):
    done = load_settings(production_env(**{name: value}))
    assert done.returncode != 0
    assert f"{name} must be a whole number, 0 or more, not {value!r}" in done.stderr
