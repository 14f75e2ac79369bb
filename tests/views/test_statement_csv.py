"""``GET /accounts/<id>/statement.csv``: the statement to keep, as CSV.

The same filters as the page, the same access as the page, one row per
movement oldest first with the account's balance after it, cells that no
spreadsheet runs as formulas, and a long history streamed a page of events
at a time. On this test's bank (``site_bank``): SQLite and PostgreSQL in
turn; the formatting alone needs no bank.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from uuid import uuid4

import pytest
from django.utils.timezone import localdate

from accounts.errors import AccountNotFoundError
from accounts.statement_export import (
    CSV_HEADER,
    Counterparties,
    csv_row,
    neutralise,
)
from accounts.statements import FILTERED_READ_SIZE, StatementLine
from tests.support.html import element
from tests.support.http import HX, signed_in
from tests.support.spies import count_events_read
from tests.support.statement_history import StoppedClock, daily_history, long_history

# The formatting alone.


@pytest.mark.parametrize(
    ("typed", "cell"),
    [
        ("=1+1", "'=1+1"),
        ("+44 20 7946 0000", "'+44 20 7946 0000"),
        ("-5", "'-5"),
        ("@SUM(A1:A2)", "'@SUM(A1:A2)"),
        ("\tTab first", "'\tTab first"),
        ("\rReturn first", "'\rReturn first"),
        ("Rent = 500", "Rent = 500"),
        ("", ""),
    ],
)
def test_text_that_a_spreadsheet_would_run_gets_an_apostrophe(typed, cell):
    assert neutralise(typed) == cell


def test_a_row_has_the_moment_kind_texts_and_plain_signed_amounts():
    line = StatementLine(
        version=3,
        timestamp=datetime(2026, 6, 1, 23, 30, 5, 123456, tzinfo=UTC),
        kind="Transfer out",
        amount=Decimal("-1234.50"),
        balance=Decimal("-34.50"),
        transaction_id=uuid4(),
        counterparty_id=uuid4(),
        description='=HYPERLINK("http://example.com")',
    )
    from zoneinfo import ZoneInfo  # noqa: PLC0415

    assert csv_row(line, "@Bob", ZoneInfo("Europe/London")) == [
        "2026-06-02T00:30:05+01:00",
        "transfer_out",
        '\'=HYPERLINK("http://example.com")',
        "'@Bob",
        "-1234.50",
        "-34.50",
    ]


def test_each_counterparty_is_looked_up_once_per_download():
    asked = []
    known, gone = uuid4(), uuid4()

    def find(account_id):
        asked.append(account_id)
        if account_id == gone:
            raise AccountNotFoundError(account_id)

        class Summary:
            name = "Savings"
            number = "12345674"

        return Summary()

    counterparties = Counterparties(find)
    assert [counterparties(known) for _ in range(3)] == ["Savings (1234 5674)"] * 3
    assert counterparties(gone) == str(gone)
    assert counterparties(None) == ""
    assert asked == [known, gone]


# The download.


@pytest.fixture
def clock(monkeypatch):
    return StoppedClock(monkeypatch)


@pytest.fixture
def ada(site_bank, django_user_model):
    return signed_in(django_user_model.objects.create_user("ada"))


@pytest.fixture
def everyday(site_bank, clock):
    return daily_history(site_bank, clock)


def rows_of(response):
    """The CSV's rows, header first, read from the streamed response."""
    assert response.streaming
    text = b"".join(response.streaming_content).decode("utf-8")
    return list(csv.reader(io.StringIO(text)))


def page_lines(html):
    """(moment, amount, balance) of each line the page shows, oldest first."""
    rows = element(html, id="statement").elements("tr", data_version=True)
    return [
        (
            row.element("time")["datetime"],
            *(cell["data-amount"] for cell in row.elements(data_amount=True)[-2:]),
        )
        for row in reversed(rows)
    ]


# Filters, and how many of the 32 movements each keeps.
KEPT = {
    "everything": ({}, 32),
    "kind": ({"kind": "transfer_out"}, 10),
    "dates": ({"from": "2026-01-08", "to": "2026-01-21"}, 16),
    "reference and date": ({"q": "salary", "to": "2026-01-20"}, 7),
}


@pytest.mark.parametrize("case", KEPT)
def test_the_csv_has_the_lines_the_page_shows_for_the_same_filters(ada, everyday, case):
    params, kept = KEPT[case]
    shown = page_lines(ada.get(f"/accounts/{everyday}/", params).text)
    response = ada.get(f"/accounts/{everyday}/statement.csv", params)
    assert response.status_code == 200
    header, *rows = rows_of(response)
    assert tuple(header) == CSV_HEADER
    assert len(rows) == kept
    # The page shows the newest 20 of them: the file's last rows.
    assert len(shown) == min(kept, 20)
    assert [(row[0], row[4], row[5]) for row in rows[-len(shown) :]] == shown


def test_the_rows_say_what_moved_when_and_the_balance_after(ada, everyday, site_bank):
    params = {"to": "2026-01-03"}
    header, *rows = rows_of(ada.get(f"/accounts/{everyday}/statement.csv", params))
    assert header == ["date", "kind", "reference", "counterparty", "amount", "balance"]
    [savings] = [
        site_bank.accounts.get_account(i)
        for i in site_bank.accounts.list_owner_account_ids("ada")
        if i != everyday
    ]
    to_savings = f"Savings ({savings.number[:4]} {savings.number[4:]})"
    assert rows == [
        ["2026-01-01T09:00:00+00:00", "deposit", "Salary 1", "", "100.00", "100.00"],
        ["2026-01-02T09:00:00+00:00", "withdrawal", "", "", "-7.00", "93.00"],
        ["2026-01-03T09:00:00+00:00", "transfer_out", "", to_savings, "-3.00", "90.00"],
    ]


def test_a_filter_that_keeps_nothing_gives_the_header_alone(ada, everyday):
    response = ada.get(f"/accounts/{everyday}/statement.csv", {"q": "rent"})
    assert rows_of(response) == [list(CSV_HEADER)]


def test_the_file_is_csv_in_utf8_named_for_the_account_and_the_day(
    site_bank, ada, everyday
):
    response = ada.get(f"/accounts/{everyday}/statement.csv")
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    account = site_bank.accounts.get_account(everyday)
    name = account.number or str(everyday).split("-")[0]
    assert response["Content-Disposition"] == (
        f'attachment; filename="statement-{name}-{localdate().isoformat()}.csv"'
    )
    rows_of(response)


def test_references_and_names_that_look_like_formulas_are_neutralised(site_bank, ada):
    accounts = site_bank.accounts
    account_id = accounts.open_account("ada", "Everyday")
    other = accounts.open_account("ada", '=HYPERLINK("http://evil.example")')
    for reference in ("=1+1", "+44 20 7946 0000", "-5", "@SUM(A1:A2)", "Plain"):
        accounts.deposit(account_id, "10", description=reference)
    accounts.transfer(account_id, other, "20")
    accounts.transfer(other, account_id, "1")
    _, *rows = rows_of(ada.get(f"/accounts/{account_id}/statement.csv"))
    assert [row[2] for row in rows[:5]] == [
        "'=1+1",
        "'+44 20 7946 0000",
        "'-5",
        "'@SUM(A1:A2)",
        "Plain",
    ]
    number = accounts.get_account(other).number
    label = f'\'=HYPERLINK("http://evil.example") ({number[:4]} {number[4:]})'
    assert [row[3] for row in rows[5:]] == [label, label]
    # Amounts are numbers: a withdrawal's minus stays as it is.
    assert [row[4] for row in rows[5:]] == ["-20.00", "1.00"]
    assert rows[-1][5] == "31.00"


# Who may download: exactly who may see the account page.


def without_tokens(html):
    return re.sub(rb"[A-Za-z0-9]{64}", b"<token>", html)


@pytest.fixture
def clients(client, ada, site_bank, django_user_model):
    return {
        "owner": ada,
        "staff": signed_in(
            django_user_model.objects.create_user("staff", is_staff=True)
        ),
        "other customer": signed_in(django_user_model.objects.create_user("bob")),
        "anonymous": client,
    }


def test_owners_and_staff_download_others_get_the_pages_404(clients, everyday):
    url = f"/accounts/{everyday}/statement.csv"
    for who in ("owner", "staff"):
        response = clients[who].get(url)
        assert response.status_code == 200, who
        assert len(rows_of(response)) == 33, who  # the header and 32 movements
    for headers in ({}, HX):
        other = clients["other customer"].get(url, headers=headers)
        page = clients["other customer"].get(f"/accounts/{everyday}/", headers=headers)
        assert other.status_code == page.status_code == 404
        # The same page, but for its per-response CSRF token.
        assert without_tokens(other.content) == without_tokens(page.content)
        missing = clients["owner"].get(f"/accounts/{uuid4()}/statement.csv")
        assert missing.status_code == 404
    anonymous = clients["anonymous"].get(url)
    assert anonymous.status_code == 302
    assert anonymous["Location"] == f"/accounts/login/?next={url}"


def test_refused_filters_download_nothing(ada, everyday):
    response = ada.get(
        f"/accounts/{everyday}/statement.csv",
        {"from": "2026-01-10", "to": "2026-01-01"},
    )
    assert response.status_code == 422
    assert "Content-Disposition" not in response
    assert (
        "The end date is before the start date."
        in element(response.text, id="statement-csv-errors").text
    )


# A long history.


def test_a_long_history_is_streamed_a_page_of_events_at_a_time(
    site_bank, ada, clock, monkeypatch
):
    account_id, balance = long_history(site_bank, "ada", 1200)
    clock.at(clock.now + timedelta(days=1))
    site_bank.accounts.withdraw(account_id, "0.50")
    read = count_events_read(site_bank.accounts.events.recorder, monkeypatch)
    response = ada.get(f"/accounts/{account_id}/statement.csv")
    assert response.status_code == 200
    _, *rows = rows_of(response)
    assert len(rows) == 1201
    assert rows[0][4:] == ["1.00", "1.00"]
    assert rows[-1][4:] == ["-0.50", str(balance - Decimal("0.50"))]
    # Opened, 1,200 deposits and a withdrawal: three reads of the stream,
    # none larger than a page, after the account's own read.
    stream = read[-3:]
    assert stream == [FILTERED_READ_SIZE, FILTERED_READ_SIZE, 202]
    assert max(read) <= FILTERED_READ_SIZE
