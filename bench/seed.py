"""Users, sessions and accounts for the HTTP benchmarks (run under bench.settings).

``python -m bench.seed web ...`` or ``... pages ...`` fills the database that
``DATABASE_URL`` names and prints, as JSON, what the load generator needs:
session keys, CSRF tokens and account ids. It runs as its own process
because Django's settings, and so its database, are fixed when it starts.
"""

from __future__ import annotations

import argparse
import json
import secrets
import string
import sys
from decimal import Decimal
from typing import Any

import django

BALANCE = Decimal("100000.00")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.seed")
    parser.add_argument("what", choices=["web", "pages"])
    parser.add_argument("--users", type=int, default=8)
    parser.add_argument("--accounts-per-user", type=int, default=20)
    parser.add_argument("--histories", default="10,1000,10000")
    parser.add_argument("--accounts", type=int, default=100)
    parser.add_argument("--deposits", type=int, default=1000)
    options = parser.parse_args()
    django.setup()
    if options.what == "web":
        result = seed_web(
            options.users,
            options.accounts_per_user,
            [int(n) for n in options.histories.split(",")],
        )
    else:
        result = seed_pages(options.accounts, options.deposits)
    json.dump(result, sys.stdout)


def signed_in(username: str, *, staff: bool = False) -> dict[str, str]:
    """A user and a session of theirs, as a browser would hold it after login."""
    from django.contrib.auth import (  # noqa: PLC0415 (after django.setup)
        BACKEND_SESSION_KEY,
        HASH_SESSION_KEY,
        SESSION_KEY,
    )
    from django.contrib.auth.models import User  # noqa: PLC0415
    from django.contrib.sessions.backends.db import SessionStore  # noqa: PLC0415

    user, _ = User.objects.get_or_create(
        username=username, defaults={"is_staff": staff}
    )
    user.set_password(secrets.token_hex(8))
    user.save()
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    alphabet = string.ascii_letters + string.digits
    csrf = "".join(secrets.choice(alphabet) for _ in range(32))
    return {"session_key": session.session_key or "", "csrf_token": csrf}


def seed_web(users: int, per_user: int, histories: list[int]) -> dict[str, Any]:
    """Customers with accounts in both banks, and accounts with long histories."""
    from bench.conventional.models import Account  # noqa: PLC0415
    from bench.loading import deposit_each, grow_history, open_accounts  # noqa: PLC0415
    from esbank_site.bank import get_bank  # noqa: PLC0415

    bank = get_bank()
    names = [f"bench-{n:04d}" for n in range(1, users + 1)]
    sessions = {name: signed_in(name) for name in names}
    es_ids = open_accounts(bank.accounts, users * per_user, names)
    deposit_each(bank.accounts, es_ids, BALANCE)
    es_accounts: dict[str, list[str]] = {name: [] for name in names}
    for number, account_id in enumerate(es_ids):
        es_accounts[names[number % users]].append(str(account_id))
    conventional = Account.objects.bulk_create(
        Account(owner=names[n % users], name=f"Account {n + 1}", balance=BALANCE)
        for n in range(users * per_user)
    )
    conv_accounts: dict[str, list[str]] = {name: [] for name in names}
    for number, account in enumerate(conventional):
        conv_accounts[names[number % users]].append(str(account.id))
    history_owner = "bench-history"
    history_ids = open_accounts(bank.accounts, len(histories), [history_owner])
    for account_id, length in zip(history_ids, histories, strict=True):
        grow_history(bank.accounts, account_id, length)
    return {
        "sessions": sessions,
        "es_accounts": es_accounts,
        "conventional_accounts": conv_accounts,
        "history_session": signed_in(history_owner),
        "histories": {
            str(length): str(account_id)
            for length, account_id in zip(histories, history_ids, strict=True)
        },
        "staff_session": signed_in("bench-staff", staff=True),
        "head": bank.accounts.recorder.max_notification_id() or 0,
    }


def seed_pages(count: int, deposits: int) -> dict[str, Any]:
    """A bank of ``count`` accounts; the first ones have ``deposits`` deposits.

    The deposits come first in the log and are the same at every size, so
    the ledger and transaction panels show the same figures whatever the
    number of accounts.
    """
    from bench.loading import deposit_each, open_accounts  # noqa: PLC0415
    from esbank_site.bank import get_bank  # noqa: PLC0415

    bank = get_bank()
    owners = [f"bench-{n:05d}" for n in range(1, max(1, count // 10) + 1)]
    funded = min(count, 100)
    first = open_accounts(bank.accounts, funded, owners)
    for _ in range(max(1, deposits // funded)):
        deposit_each(bank.accounts, first)
    money_head = bank.accounts.recorder.max_notification_id() or 0
    if count > funded:
        open_accounts(bank.accounts, count - funded, owners)
    return {
        "staff_session": signed_in("bench-staff", staff=True),
        "money_head": money_head,
        "head": bank.accounts.recorder.max_notification_id() or 0,
        "accounts": bank.accounts.count_accounts(),
    }


if __name__ == "__main__":
    main()
