"""The followers' CPU per event, as the benchmark reads it (``bench/followers.py``).

Each processor writes what it has spent after each pull, when
``ESBANK_FOLLOWER_METER_DIR`` says where; the benchmark's ``Meter`` reads
those files before and after a load and divides.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import TYPE_CHECKING, Any
from uuid import uuid4

from bench import followers
from esbank_site.runtime.processing import METER_VARIABLE
from tests.support.databases import fresh_bank

if TYPE_CHECKING:
    from pathlib import Path

    import pytest


def test_the_meter_gives_each_followers_cpu_per_event_and_pull_size(
    database: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(METER_VARIABLE, str(tmp_path))
    monkeypatch.setattr(followers, "meter_directory", lambda _: tmp_path)
    process = SimpleNamespace(site=SimpleNamespace(database=database), process=None)
    with fresh_bank(database, process_inline=False) as bank:
        account = bank.accounts.open_account("ada", "Current")
        bank.process_all(force=True)  # each processor has written once
        start = bank.accounts.recorder.max_notification_id() or 0
        meter = followers.Meter(process)  # type: ignore[arg-type]
        meter.start()
        for _ in range(5):
            bank.accounts.deposit(account, "2.00", idempotency_key=uuid4().hex)
            bank.process_all(force=True)
        found = meter.stop()
        head = bank.accounts.recorder.max_notification_id() or 0
    assert set(found["followers"]) == {"Ledger", "Transactions", "AccountsList"}
    for figures in found["followers"].values():
        assert figures["events"] == head - start == 10  # deposits and receipts
        assert figures["pulls"] == 5
        assert figures["mean_pull"] == 2
        assert figures["thread_ms_per_event"] >= figures["pulls_ms_per_event"] > 0
    assert found["total_ms_per_event"] == sum(
        f["thread_ms_per_event"] for f in found["followers"].values()
    )
    assert found["process_ms_per_event"] is None  # no process of its own here
