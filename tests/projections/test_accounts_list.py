"""The accounts list: a projection of the Accounts log into a read model."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from eventsourcing.persistence import IntegrityError, Tracking

from accounts.domain import TransferReceived
from accounts.projections import (
    AccountsListProjection,
    AccountsQuery,
    ReadModelError,
)
from esbank_site.runtime.processing import ProjectionProcessor


def list_page(bank, **params):
    return bank.accounts_list().get_accounts_page(AccountsQuery(**params))


def rows_by_id(bank):
    return {row.id: row for row in list_page(bank, per_page=100).rows}


def test_every_kind_of_event_lands_in_its_row(bank):
    accounts = bank.accounts
    ada = accounts.open_account("Ada Lovelace", "Current")
    bob = accounts.open_account("bob", "Savings")
    cat = accounts.open_account("Cat", "Spare")
    accounts.deposit(ada, "100.00", description="salary")
    accounts.withdraw(ada, "20.50")
    accounts.transfer(ada, bob, "30.01")
    accounts.staff.set_overdraft_limit(bob, "50", "Agreed overdraft")
    accounts.withdraw(bob, "60.00")
    accounts.deposit(cat, "5.00", idempotency_key="once")
    accounts.deposit(cat, "5.00", idempotency_key="once")  # a repeat: no event
    accounts.withdraw(cat, "5.00")
    accounts.close_account(cat)

    rows = rows_by_id(bank)
    assert {row_id: row.balance for row_id, row in rows.items()} == {
        ada: Decimal("49.49"),
        bob: Decimal("-29.99"),
        cat: Decimal("0.00"),
    }
    for account_id, row in rows.items():
        summary = accounts.get_account(account_id)
        assert (
            row.owner,
            row.name,
            row.currency,
            row.balance,
            row.overdraft_limit,
            row.is_closed,
            row.version,
            row.opened_at,
            row.last_activity_at,
        ) == (
            summary.owner,
            summary.name,
            summary.currency,
            summary.balance,
            summary.overdraft_limit,
            summary.is_closed,
            summary.version,
            summary.opened_at,
            summary.last_activity_at,
        )
    assert rows[cat].is_closed
    assert rows[bob].overdraft_limit == Decimal("50.00")
    # Index entries and receipts move the position too: no lag at the head.
    head = accounts.recorder.max_notification_id()
    assert list_page(bank).position == head
    [status] = [s for s in bank.processor_status() if s.name == "AccountsList"]
    assert (status.position, status.lag, status.failing) == (head, 0, False)


def test_a_page_shows_the_position_it_reflects_while_processing_lags(bank):
    ada = bank.accounts.open_account("ada", "Current")
    bank.accounts.deposit(ada, "10.00")
    seen = bank.accounts.recorder.max_notification_id()
    bank.process_inline = False
    bank.accounts.deposit(ada, "5.00")

    page = list_page(bank)
    assert (page.position, page.rows[0].balance, page.total_balance) == (
        seen,
        Decimal("10.00"),
        Decimal("10.00"),
    )
    bank.process_all()
    page = list_page(bank)
    assert (page.position, page.rows[0].balance) == (
        bank.accounts.recorder.max_notification_id(),
        Decimal("15.00"),
    )


@pytest.fixture
def six_accounts(bank):
    """Names that test case folding, code point order and LIKE's wildcards."""
    specs = [
        ("Zoë", "Holiday", "70.00"),
        ("ada", "Current", "250.00"),
        ("Bob", "50%_off", "0.01"),
        ("bob", "Savings", "999.99"),
        ("Émile", "rainy day", "12.50"),
        ("carol", "a_b", "250.00"),
    ]
    ids = {}
    for owner, name, amount in specs:
        account_id = bank.accounts.open_account(owner, name)
        bank.accounts.deposit(account_id, amount)
        ids[name] = account_id
    return ids


def names(page):
    return [row.name for row in page.rows]


def test_sorts_are_whitelisted_and_exact_on_both_databases(bank, six_accounts):
    by_owner = list_page(bank, sort="owner")
    bobs = sorted([six_accounts["50%_off"], six_accounts["Savings"]], key=str)
    assert [row.owner.casefold() for row in by_owner.rows] == [
        "ada",
        "bob",
        "bob",
        "carol",
        "zoë",
        "émile",  # code point order: é comes after z
    ]
    assert [row.id for row in by_owner.rows[1:3]] == bobs  # ties: by id
    assert names(list_page(bank, sort="owner", descending=True)) == [
        names(by_owner)[i] for i in (5, 4, 3, 2, 1, 0)
    ]
    # Money sorts as money, not as text ("999.99" < "70.00" as text).
    assert [row.balance for row in list_page(bank, sort="balance").rows] == [
        Decimal(a) for a in ("0.01", "12.50", "70.00", "250.00", "250.00", "999.99")
    ]
    assert names(list_page(bank, sort="name")) == [
        "50%_off",
        "a_b",
        "Current",
        "Holiday",
        "rainy day",
        "Savings",
    ]
    opened = names(list_page(bank, sort="opened"))
    assert opened == ["Holiday", "Current", "50%_off", "Savings", "rainy day", "a_b"]
    assert names(list_page(bank, sort="last_activity", descending=True))[0] == "a_b"
    with pytest.raises(ValueError, match="Cannot sort accounts by"):
        AccountsQuery(sort="balance; DROP TABLE accountslist_rows")


def test_search_is_case_insensitive_and_takes_wildcards_literally(bank, six_accounts):
    def found(search):
        return sorted(names(list_page(bank, search=search)))

    assert found("BOB") == ["50%_off", "Savings"]  # owner, any case
    assert found("ÉMI") == ["rainy day"]
    assert found("day") == ["Holiday", "rainy day"]  # or name
    assert found("%") == ["50%_off"]
    assert found("_") == ["50%_off", "a_b"]
    assert found("0%_") == ["50%_off"]
    assert found("a%b") == []
    assert found("\\") == []
    assert found("") == sorted(six_accounts)


def test_pages_count_and_total_what_the_search_matched(bank, six_accounts):
    everything = list_page(bank, sort="balance", per_page=100)
    pages = [list_page(bank, sort="balance", page=n, per_page=4) for n in (1, 2, 3)]
    assert [len(p.rows) for p in pages] == [4, 2, 0]
    assert [r.id for p in pages for r in p.rows] == [r.id for r in everything.rows]
    assert (pages[0].page_count, pages[0].has_previous, pages[0].has_next) == (
        2,
        False,
        True,
    )
    assert (pages[1].has_previous, pages[1].has_next) == (True, False)
    assert (everything.count, everything.all_count) == (6, 6)
    assert everything.total_balance == Decimal("1582.50")

    bobs = list_page(bank, search="bob", per_page=1)
    assert (len(bobs.rows), bobs.count, bobs.all_count) == (1, 2, 6)
    assert bobs.total_balance == Decimal("1000.00")
    assert bobs.position == bank.accounts.recorder.max_notification_id()


def test_one_owners_accounts_and_what_they_hold(bank, six_accounts):
    bobs = list_page(bank, owner="bob")
    assert names(bobs) == ["Savings"]  # "Bob" is someone else
    assert (bobs.count, bobs.total_balance, bobs.all_count) == (
        1,
        Decimal("999.99"),
        6,
    )
    assert names(list_page(bank, owner="Bob", search="OFF")) == ["50%_off"]
    assert names(list_page(bank, owner="Bob", search="Savings")) == []
    assert list_page(bank, owner="nobody").count == 0


def test_query_from_request_parameters_never_raises():
    assert AccountsQuery.from_params() == AccountsQuery(sort="owner", page=1)
    query = AccountsQuery.from_params(" ada ", "-balance", "3")
    assert (query.search, query.sort, query.descending, query.page) == (
        "ada",
        "balance",
        False,  # balance is largest first; "-" turns it round
        3,
    )
    assert query.sort_param == "-balance"
    assert AccountsQuery.from_params(sort="balance").descending is True
    assert AccountsQuery.from_params(sort="name; --", page="x").sort == "owner"
    assert AccountsQuery.from_params(page="-4").page == 1
    assert AccountsQuery.from_params(per_page=10_000).per_page == 100
    assert AccountsQuery(page=3, per_page=10).offset == 20
    assert AccountsQuery.from_params(owner="ada").owner == "ada"


def test_an_event_is_applied_once_even_if_offered_twice(bank):
    ada = bank.accounts.open_account("ada", "Current")
    bank.accounts.deposit(ada, "10.00")
    head = bank.accounts.recorder.max_notification_id()
    [notification] = bank.accounts.recorder.select_notifications(head, 1)
    deposited = bank.accounts.mapper.to_domain_event(notification)

    projection = bank.accounts_list_projection
    with pytest.raises(IntegrityError):
        projection.process_event(deposited, Tracking("Accounts", head))
    assert rows_by_id(bank)[ada].balance == Decimal("10.00")
    assert bank.accounts_list().get_position() == head


def test_an_event_for_an_account_it_never_saw_is_refused_untracked(bank):
    bank.accounts.open_account("ada", "Current")
    head = bank.accounts.recorder.max_notification_id()
    stray = TransferReceived(
        originator_id=uuid.uuid4(),
        originator_version=2,
        timestamp=TransferReceived.create_timestamp(),
        amount=Decimal("1.00"),
        from_account_id=uuid.uuid4(),
        transaction_id=uuid.uuid4(),
        description="",
    )
    with pytest.raises(ReadModelError, match=str(stray.originator_id)):
        bank.accounts_list_projection.process_event(
            stray, Tracking("Accounts", head + 1)
        )
    assert bank.accounts_list().get_position() == head


def test_a_failing_projection_is_reported_and_retried_not_raised(bank, monkeypatch):
    view_class = type(bank.accounts_list())
    real = view_class.record_movement

    def broken(self, *args, **kwargs):
        msg = "read model unavailable"
        raise RuntimeError(msg)

    monkeypatch.setattr(view_class, "record_movement", broken)
    ada = bank.accounts.open_account("ada", "Current")
    bank.accounts.deposit(ada, "7.00")  # returns normally
    [status] = [s for s in bank.processor_status() if s.name == "AccountsList"]
    assert status.failing
    assert "read model unavailable" in status.last_error
    assert status.lag > 0
    assert bank.ledger().get_ledger().balance == Decimal("7.00")

    monkeypatch.setattr(view_class, "record_movement", real)
    bank.wait_until_processed()
    assert rows_by_id(bank)[ada].balance == Decimal("7.00")


def test_processor_catches_up_in_batches(bank):
    bank.process_inline = False
    ada = bank.accounts.open_account("ada", "Current")
    for _ in range(7):
        bank.accounts.deposit(ada, "1.00")
    head = bank.accounts.recorder.max_notification_id()
    processor = ProjectionProcessor(
        bank.accounts_list_projection, bank.accounts, batch_size=3
    )
    assert processor.process(limit=4)
    assert processor.position() == 4
    assert processor.process()
    assert processor.position() == head
    assert rows_by_id(bank)[ada].balance == Decimal("7.00")
    assert AccountsListProjection.name == processor.name == "AccountsList"


def test_a_batch_is_applied_once_or_not_at_all(bank):
    ada = bank.accounts.open_account("ada", "Current")
    bank.accounts.deposit(ada, "10.00")
    seen = bank.accounts_list().get_position()
    bank.process_inline = False
    bank.accounts.deposit(ada, "5.00")
    bank.accounts.withdraw(ada, "1.00")
    view, projection = bank.accounts_list(), bank.accounts_list_projection

    def replay(start):
        with view.batch():
            for n in bank.accounts.recorder.select_notifications(start, 100):
                event = bank.accounts.mapper.to_domain_event(n)
                projection.process_event(event, Tracking("Accounts", n.id))

    with pytest.raises(IntegrityError):
        replay(seen)  # starts with an event the list already has
    assert (rows_by_id(bank)[ada].balance, view.get_position()) == (
        Decimal("10.00"),
        seen,
    )
    replay(seen + 1)
    assert (rows_by_id(bank)[ada].balance, view.get_position()) == (
        Decimal("14.00"),
        bank.accounts.recorder.max_notification_id(),
    )


def test_a_transfer_is_listed_whole_even_when_processing_restarts_between_legs(bank):
    ada = bank.accounts.open_account("ada", "Current")
    bob = bank.accounts.open_account("bob", "Current")
    bank.accounts.deposit(ada, "100.00")
    bank.process_inline = False
    bank.accounts.transfer(ada, bob, "30.00")
    [processor] = [p for p in bank.processors if p.name == "AccountsList"]

    assert processor.process(force=True, limit=1)  # the sending leg: held back
    balances = {row.owner: row.balance for row in list_page(bank).rows}
    assert balances == {"ada": Decimal("100.00"), "bob": Decimal("0.00")}

    # Processing starts again from the recorded position, as after a
    # failure: the sending leg comes again, and both are written together.
    assert processor.process(force=True)
    balances = {row.owner: row.balance for row in list_page(bank).rows}
    assert balances == {"ada": Decimal("70.00"), "bob": Decimal("30.00")}
    assert (processor.failures, processor.status().lag) == (0, 0)
