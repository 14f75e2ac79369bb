"""A pytest plugin (-p tests.environment) that runs before Django loads settings."""

from __future__ import annotations

import os
import secrets

# A strong key of the run's own: settings refuse the public development key
# with DEBUG off. Processes the tests start (gunicorn, run_processors,
# manage.py) inherit it, so a session made by one is read by the others.
os.environ.setdefault("DJANGO_SECRET_KEY", secrets.token_urlsafe(50))
# Followers run inline after each command; no background thread in tests,
# so every test sees a deterministic state.
os.environ.setdefault("ESBANK_POLL_INTERVAL", "0")
# Live servers and gunicorn in tests speak plain HTTP: no HTTPS redirect,
# no secure-only cookies (tests/views/test_settings.py checks production's).
os.environ.setdefault("DJANGO_HTTPS", "0")
# Suites that drive the site as hard as they can (tests/multiprocess,
# tests/adversarial) must not be throttled; tests of the throttle set their
# own limit.
os.environ.setdefault("ESBANK_MONEY_POSTS_PER_MINUTE", "100000")
# Suites log many clients in from 127.0.0.1 at once: no login throttle
# (0: off); its tests (tests/views/test_login_throttle.py,
# tests/adversarial/test_login_flood.py) set their own limits.
os.environ.setdefault("ESBANK_LOGIN_ATTEMPTS_PER_ADDRESS_PER_MINUTE", "0")
os.environ.setdefault("ESBANK_LOGIN_ATTEMPTS_PER_MINUTE", "0")
# One PostgreSQL connection per application's pool, not the library's five:
# a test's bank opens a pool for each application and projection, two runs
# of the suite may share the server's 100 connections, and the pools still
# overflow to more when a test's threads need them (the library's 10; the
# site's default is 0, for a sync worker: docs/DEPLOYMENT.md). The test of
# the connection budget runs its processes without either.
os.environ.setdefault("POSTGRES_POOL_SIZE", "1")
os.environ.setdefault("POSTGRES_MAX_OVERFLOW", "10")
