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

# What the tests' environment (tests/environment.py) and a developer's shell
# may set that a production process would not.
NOT_IN_PRODUCTION = (
    "DJANGO_DEBUG",
    "DJANGO_HTTPS",
    "DJANGO_HSTS_SECONDS",
    "ESBANK_INSECURE_DEV_KEY",
    "ESBANK_MONEY_POSTS_PER_MINUTE",
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
    }
    for name, value in changes.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def run_python(code: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def load_settings(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Import the settings module; print a few of its values."""
    return run_python(
        "from esbank_site import settings as s; "
        "print(s.DEBUG, s.SECURE_SSL_REDIRECT, s.SESSION_COOKIE_SECURE, "
        "s.CSRF_COOKIE_SECURE, s.SECURE_HSTS_SECONDS)",
        env,
    )


def test_deploy_checklist_passes_under_production_settings():
    done = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "check",
            "--deploy",
            "--fail-level",
            "WARNING",
        ],
        cwd=REPO,
        env=production_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    print(f"\ncheck --deploy: exit {done.returncode}; {done.stdout.strip()}")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no issues" in done.stdout


def test_deploy_checklist_fails_when_https_is_switched_off():
    done = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=REPO,
        env=production_env(DJANGO_HTTPS="0"),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode != 0
    for check in ("security.W004", "security.W008", "security.W012"):
        assert check in done.stderr + done.stdout


def test_production_defaults_are_https_only():
    done = load_settings(production_env())
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "True", "True", "True", "31536000"]


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
    ],
    ids=[
        "no-secret-key",
        "empty-secret-key",
        "short-secret-key",
        "repetitive-secret-key",
        "cipher-key-not-base64",
        "cipher-key-wrong-size",
        "debug-not-a-flag",
        "https-not-a-flag",
        "lock-timeout-not-a-number",
        "pool-size-negative",
    ],
)
def test_settings_refuse_to_load(changes, complaint):
    done = load_settings(production_env(**changes))
    assert done.returncode != 0
    assert "ImproperlyConfigured" in done.stderr
    assert complaint in done.stderr


def test_manage_py_refuses_to_start_without_a_secret_key():
    done = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=REPO,
        env=production_env(DJANGO_SECRET_KEY=None),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode != 0
    assert "Set DJANGO_SECRET_KEY" in done.stderr
