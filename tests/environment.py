"""A pytest plugin (-p tests.environment) that runs before Django loads settings."""

from __future__ import annotations

import os

# Tests never run with a real secret; settings refuse to start without one
# unless this is set.
os.environ.setdefault("ESBANK_INSECURE_DEV_KEY", "1")
# Followers run inline after each command; no background thread in tests,
# so every test sees a deterministic state.
os.environ.setdefault("ESBANK_POLL_INTERVAL", "0")
