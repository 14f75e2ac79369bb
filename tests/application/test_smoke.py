from decimal import Decimal


def test_deposit_reaches_ledger(bank):
    account_id = bank.accounts.open_account("ada", "Current")
    bank.accounts.deposit(account_id, "10.00")
    assert bank.ledger().get_ledger().balance == Decimal("10.00")


def test_health(django_bank, client):
    response = client.get("/health/")
    assert response.status_code == 200, response.content
