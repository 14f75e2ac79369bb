"""Processing that fails at random positions never fails a committed request.

Suite 5, crash inside processing. The ledger's and the transaction log's
policies, and the accounts list projection, fail at positions of the
Accounts log chosen by a fixed seed: some before doing anything, some after
their work is done but before it is recorded, some more than once. Customers
meanwhile deposit, withdraw and transfer through the site's views (the
Django test client, with the views on this test's bank, on SQLite and on
PostgreSQL). Every request whose money moved answers 200 or 302, never a
5xx; while a processor fails, /health/ says "degraded" (and to staff,
which and why); each failure is logged; and once the failures stop, the
followers catch up and the audit passes: nothing processed twice, nothing
lost.
"""

from __future__ import annotations

import logging
import random
from collections import Counter
from http import HTTPStatus
from typing import TYPE_CHECKING, Any
from uuid import uuid4

import pytest
from django.test import Client

from esbank_site.operations.audit import audit
from esbank_site.runtime import processing
from tests.support.http_workload import (
    ACCEPTED,
    Command,
    Exchange,
    History,
    assert_no_unexplained_movements,
    check_commands,
    report_line,
    unthrottled,
)

if TYPE_CHECKING:
    from esbank_site.bank import Bank

SEED = 5
COMMANDS = 150
FAILURE_RATE = 0.04


class InjectedCrashError(RuntimeError):
    """Raised by a processor at a position chosen to fail."""


class Crashes:
    """Decides, by a fixed seed, where each processor fails and how often."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.plan: dict[tuple[str, int], tuple[int, bool]] = {}
        self.raised: Counter[str] = Counter()
        self.enabled = True

    def wrap(self, name: str, handle: Any) -> Any:
        """``handle(domain_event, tracking_or_processing_event)``, failing at times."""

        def flaky(domain_event: Any, context: Any) -> None:
            tracking = getattr(context, "tracking", context)
            key = (name, tracking.notification_id)
            if key not in self.plan:
                fails = self.rng.random() < FAILURE_RATE
                times = self.rng.choice([1, 1, 2, 3]) if fails else 0
                self.plan[key] = (times, self.rng.random() < 0.5)
            times, after = self.plan[key]
            if not self.enabled or times == 0:
                handle(domain_event, context)
                return
            self.plan[key] = (times - 1, after)
            if after:
                # The work is done, not yet recorded: it must be rolled back.
                handle(domain_event, context)
            self.raised[name] += 1
            msg = f"{name} crashed at position {tracking.notification_id}"
            raise InjectedCrashError(msg)

        return flaky


@pytest.fixture
def site_on(
    site_bank: Bank,
    transactional_db: None,
    monkeypatch: pytest.MonkeyPatch,
    settings: Any,
) -> Bank:
    """The site's views, on this test's bank, and a quick retry of failures.

    Transactional: a test inside one open SQLite transaction would hold the
    write lock that /health/ probes for.
    """
    unthrottled(settings)
    # A failed processor is retried after the next commit, not seconds
    # later: the failures then land all over the log, not only at its start.
    monkeypatch.setattr(processing, "MAX_BACKOFF_SECONDS", 0.0)
    return site_bank


def test_failing_processors_never_fail_a_committed_request(
    site_on: Bank,
    database: dict[str, Any],
    django_user_model: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    bank = site_on
    crashes = Crashes(SEED)
    for name, follower in bank.followers.items():
        follower.policy = crashes.wrap(name, follower.policy)  # type: ignore[method-assign]
    projection = bank.accounts_list_projection
    projection.process_event = crashes.wrap(  # type: ignore[method-assign]
        projection.name, projection.process_event
    )

    customers = {}
    for name in ("ada", "bob"):
        client = Client()
        client.force_login(django_user_model.objects.create_user(name))
        customers[name] = client
    accounts = {
        name: [bank.accounts.open_account(name, f"Account {n}") for n in range(2)]
        for name in customers
    }
    everyone = [a for owned in accounts.values() for a in owned]
    for account_id in everyone:
        bank.accounts.deposit(account_id, "200.00")
    staff = Client()
    staff.force_login(django_user_model.objects.create_user("staff", is_staff=True))

    rng = random.Random(SEED)
    commands: list[Command] = []
    unhealthy: list[dict[str, Any]] = []
    caplog.set_level(logging.ERROR, logger="esbank_site.runtime.processing")
    for _ in range(COMMANDS):
        owner = rng.choice(list(customers))
        account_id = rng.choice(accounts[owner])
        kind = rng.choices(["deposit", "withdraw", "transfer"], [3, 2, 4])[0]
        to_account = None
        if kind == "transfer":
            to_account = rng.choice([a for a in everyone if a != account_id])
        amount = f"{rng.randint(1, 15_000) / 100:.2f}"
        command = Command(kind, account_id, amount, str(uuid4()), to_account)
        htmx = rng.random() < 0.7
        headers = {"HX-Request": "true"} if htmx else {}
        response = customers[owner].post(command.path, command.fields, headers=headers)
        command.exchange = Exchange.of(
            owner, "POST", command.path, response, command.fields, htmx=htmx
        )
        commands.append(command)
        if any(status.failing for status in bank.processor_status()):
            # Degraded, not down: commands are still recorded.
            health = staff.get("/health/")
            assert health.status_code == HTTPStatus.OK
            assert health["Content-Type"] == "application/json"
            assert health.json()["status"] == "degraded"
            unhealthy.append(health.json())
            ledger_panel = staff.get("/staff/ledger/", headers={"HX-Request": "true"})
            assert ledger_panel.status_code == HTTPStatus.OK
            assert "Processing failing" in ledger_panel.text

    lag_before_recovery = max(status.lag for status in bank.processor_status())
    crashes.enabled = False
    bank.wait_until_processed(timeout=60)
    recovered = staff.get("/health/")

    history = History.read(bank)
    figures = check_commands(commands, history)
    logged = Counter(
        record.args[0]  # type: ignore[index]
        for record in caplog.records
        if record.getMessage().startswith(tuple(crashes.raised))
        and "failed to process" in record.getMessage()
    )
    named = {
        name
        for body in unhealthy
        for name, status in body["processors"].items()
        if status["failing"] and "InjectedCrashError" in (status["last_error"] or "")
    }
    report = audit(bank)
    engine = database["ENGINE"].rsplit(".", 1)[-1]
    print(
        report_line(
            f"processing crash ({engine})",
            requests=figures.requests,
            statuses=dict(sorted(figures.statuses.items())),
            accepted=sum(figures.accepted.values()),
            refused=figures.refused,
            failures_injected=dict(crashes.raised),
            failures_logged=dict(logged),
            unhealthy_checks=len(unhealthy),
            lag_before_recovery=lag_before_recovery,
            events_checked=history.events,
        )
        + report_line(f"audit ({engine})", summary=report.summary())
    )
    assert figures.problems == [], figures.problems[:20]
    assert set(figures.statuses) <= ACCEPTED | {HTTPStatus.UNPROCESSABLE_ENTITY}
    assert sum(figures.accepted.values()) >= COMMANDS // 2
    assert_no_unexplained_movements(history, figures, setup_deposits=len(everyone))
    # Every processor failed, more than once, and every failure was logged.
    assert set(crashes.raised) == {"Ledger", "Transactions", "AccountsList"}
    assert min(crashes.raised.values()) >= 3
    assert logged == crashes.raised
    assert named == set(crashes.raised)
    assert recovered.status_code == HTTPStatus.OK, recovered.json()
    assert recovered.json()["status"] == "ok"
    assert {p["lag"] for p in recovered.json()["processors"].values()} == {0}
    assert report.ok, report.problems
