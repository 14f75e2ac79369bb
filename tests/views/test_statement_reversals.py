"""The statement on the account page shows reversals.

A reversal's row says what it undoes, with the staff's reason, the other
account of a reversed transfer and its signed amount; the row of a
movement reversed on the same page is marked, from that page's own lines.
"""

from __future__ import annotations

from decimal import Decimal

from tests.support.html import element


def statement_rows(html):
    """The statement's rows, newest first, by version."""
    rows = element(html, id="statement").elements("tr", data_version=True)
    return {int(row["data-version"]): row for row in rows}


def test_a_reversed_transfer_s_rows_on_the_sender_s_statement(
    alice_client, django_bank, alice_account, bob_account
):
    transfer = django_bank.accounts.transfer(alice_account, bob_account, "25.00")
    django_bank.accounts.deposit(alice_account, "10.00")
    reversals = django_bank.accounts.reversals
    reversals.reverse(transfer, bob_account, "carol", "Wrong payee")

    html = alice_client.get(f"/accounts/{alice_account}/").content.decode()
    rows = statement_rows(html)
    versions = sorted(rows)
    sent, paid_in, back = (rows[v] for v in versions[-3:])
    assert back["data-kind"] == "reversal"
    assert back["data-reverses"] == str(transfer)
    assert "Reversal of transfer out" in back.text
    assert "Wrong payee" in back.text
    assert "from Bob's current" in back.words
    amounts = [cell["data-amount"] for cell in back.elements(data_amount=True)]
    assert [Decimal(a) for a in amounts] == [Decimal("25.00"), Decimal("110.00")]
    # The transfer it undoes is on the same page: marked as reversed.
    assert sent["data-kind"] == "transfer_out"
    assert sent["data-reversed"] == "true"
    assert paid_in.get("data-reversed") is None
