"""A pytest plugin (-p tests.environment) that runs before Django loads settings."""

from __future__ import annotations

import os

# Tests never run with a real secret; settings refuse to start without one
# unless this is set.
os.environ.setdefault("ESBANK_INSECURE_DEV_KEY", "1")
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
# One PostgreSQL connection per application's pool, not the library's five:
# a test's bank opens a pool for each application and projection, two runs
# of the suite may share the server's 100 connections, and the pools still
# overflow to more when a test's threads need them.
os.environ.setdefault("POSTGRES_POOL_SIZE", "1")
