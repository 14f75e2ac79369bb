"""The same form, submitted again and again: money moves once.

Suite 4, double submit, over real HTTP (the threaded live server on SQLite;
gunicorn web processes on PostgreSQL). Every money-moving form carries a
one-time token. Each round takes one filled-in form and submits it three
times in a row (htmx, then as a plain form, then htmx again), or from four
signed-in sessions of its owner at once. Every answer must be the first
outcome (the same notice, the same redirect, or the same refusal) or a 409,
and the events must show each form's money moved exactly once, or not at
all if the bank refused it; the same token with a changed amount is refused.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from decimal import Decimal
from http import HTTPStatus
from typing import TYPE_CHECKING, Any
from uuid import uuid4

import pytest

from esbank_site.operations.audit import audit
from tests.support.html import elements
from tests.support.http_workload import (
    ACCEPTED,
    Command,
    History,
    HttpClient,
    Recorder,
    Site,
    check_commands,
    create_site_users,
    gunicorn_site,
    live_site,
    report_line,
)

if TYPE_CHECKING:
    from pathlib import Path

    from tests.support.http_workload import Exchange

SEED = 4
ROUNDS = 6  # per kind of command, and per way of submitting
SESSIONS = 4


def test_a_form_submitted_again_moves_money_once_on_sqlite(
    live_server: Any, django_bank: Any, settings: Any
) -> None:
    with live_site(live_server, django_bank, settings) as site:
        submit_twice_and_check(site)


@pytest.mark.multiprocess
def test_a_form_submitted_again_moves_money_once_on_postgres(
    tmp_path: Path,
) -> None:
    with gunicorn_site(tmp_path) as site:
        submit_twice_and_check(site)


def submit_twice_and_check(site: Site) -> None:
    create_site_users(site, ["payer", "payee"])
    [current, savings] = site.accounts_for(["payer"], 2, "1000.00")["payer"]
    [payee] = site.accounts_for(["payee"], 1, "1.00")["payee"]
    site.settle()
    recorder = Recorder()
    sessions = [HttpClient(site.base_url, "payer", recorder) for _ in range(SESSIONS)]
    for session in sessions:
        session.log_in()

    rng = random.Random(SEED)
    forms: list[tuple[Command, list[Exchange]]] = []
    for round_number in range(ROUNDS):
        for kind, to_account in [
            ("deposit", None),
            ("withdraw", None),
            ("transfer", payee),
            ("transfer", savings),
        ]:
            cents = rng.randint(1, 5_000)
            if round_number == 0 and kind != "deposit":
                cents = 99_999_999  # more than the account could ever hold
            command = Command(
                kind, current, f"{cents / 100:.2f}", str(uuid4()), to_account
            )
            forms.append((command, in_a_row(sessions[0], command)))
            again = Command(
                kind, current, f"{cents / 100:.2f}", str(uuid4()), to_account
            )
            forms.append((again, at_once(sessions, again)))

    # The same token with another amount is another command: refused.
    first = forms[0][0]
    changed = dict(first.fields, amount=str(Decimal(first.amount) + 1))
    reused = sessions[1].post(first.path, changed)

    site.settle()
    history = History.read(site.bank)
    answers: Counter[str] = Counter()
    problems = []
    for command, exchanges in forms:
        outcome, trouble = same_outcome(exchanges)
        answers.update(outcome)
        problems += [f"{command.kind} {command.amount}: {t}" for t in trouble]
        command.exchange = next(
            (e for e in exchanges if e.status in ACCEPTED), exchanges[0]
        )
    figures = check_commands([command for command, _ in forms], history)
    report = audit(site.bank)
    print(
        report_line(
            f"double submit ({site.name})",
            forms=len(forms),
            requests=len(recorder.exchanges),
            answers=dict(answers),
            moved_once=sum(figures.accepted.values()),
            refused=figures.refused,
            reused_token=reused.status,
            events_checked=history.events,
        )
        + report_line(f"audit ({site.name})", summary=report.summary())
    )
    assert problems == [], problems
    assert figures.problems == [], figures.problems
    assert sum(figures.accepted.values()) >= 3 * ROUNDS
    assert figures.refused == 6  # the first round's withdrawal and transfers
    assert reused.status == HTTPStatus.UNPROCESSABLE_ENTITY
    assert len(history.receipts[first.token]) == 1
    assert report.ok, report.problems


def in_a_row(session: HttpClient, command: Command) -> list[Exchange]:
    """The same form three times: htmx, a plain form post, htmx again."""
    return [
        session.post(command.path, command.fields, htmx=htmx)
        for htmx in (True, False, True)
    ]


def at_once(sessions: list[HttpClient], command: Command) -> list[Exchange]:
    """The same form from every session at the same moment."""
    start = threading.Barrier(len(sessions))
    answers: list[Exchange | None] = [None] * len(sessions)

    def submit(number: int) -> None:
        start.wait()
        answers[number] = sessions[number].post(command.path, command.fields)

    threads = [threading.Thread(target=submit, args=(n,)) for n in range(len(sessions))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert all(answer is not None for answer in answers)
    return answers  # type: ignore[return-value]


def same_outcome(exchanges: list[Exchange]) -> tuple[list[str], list[str]]:
    """Each answer's outcome, and how any differs from the first outcome.

    An accepted htmx answer is identified by its notice, a plain one by its
    redirect; a refusal by its status. A 409 is always allowed.
    """
    outcomes = []
    for exchange in exchanges:
        if exchange.status == HTTPStatus.OK:
            shown = [
                notice
                for region in elements(exchange.body, role="status")
                for notice in region.elements("p", class_="notice notice-ok")
            ]
            outcomes.append(f"done: {shown[0].text if shown else '?'}")
        elif exchange.status == HTTPStatus.FOUND:
            outcomes.append(f"done: -> {exchange.headers.get('location')}")
        else:
            outcomes.append(str(exchange.status))
    decided = [o for o in outcomes if o != str(HTTPStatus.CONFLICT.value)]
    trouble = []
    done = {o for o in decided if o.startswith("done: ->")}
    notices = {o for o in decided if o.startswith("done:") and o not in done}
    refusals = {o for o in decided if not o.startswith("done:")}
    if refusals and (done or notices):
        trouble.append(f"accepted and refused: {outcomes}")
    if len(notices) > 1 or len(done) > 1 or len(refusals) > 1:
        trouble.append(f"different outcomes: {outcomes}")
    if any(o.startswith("done: ?") for o in outcomes):
        trouble.append(f"an accepted answer without its notice: {outcomes}")
    summary = ["done" if o.startswith("done") else o for o in outcomes]
    return summary, trouble
