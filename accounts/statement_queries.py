"""An account's statement, filtered, read through the Accounts application.

The statement's pages and its download are readings of the account's
events (``accounts/statements.py``); a filter (``StatementFilter``) only
chooses which lines they keep. An unfiltered page is
``Accounts.get_recent_statement``'s; a filtered one starts, like it, from
the account as of the page's last version, and reads back from there.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from accounts.statement_filters import EVERY_LINE
from accounts.statements import read_statement_page, statement_lines

if TYPE_CHECKING:
    from collections.abc import Iterator
    from uuid import UUID

    from accounts.application import Accounts
    from accounts.statement_filters import StatementFilter
    from accounts.statements import RecentStatement, StatementLine


def read_page(
    accounts: Accounts,
    account_id: UUID,
    *,
    upto_version: int,
    before: int | None,
    limit: int,
    matching: StatementFilter = EVERY_LINE,
) -> RecentStatement:
    """The latest ``limit`` lines ``matching`` keeps, before ``before`` if given.

    Up to ``upto_version``, the newest version the reader may see; each line
    with the account's balance after it.
    """
    if matching.is_everything:
        return accounts.get_recent_statement(
            account_id, upto_version=upto_version, before=before, limit=limit
        )
    last = upto_version if before is None else min(before - 1, upto_version)
    return read_statement_page(
        accounts.events,
        accounts.get_account(account_id, version=last),
        upto_version=upto_version,
        limit=limit,
        matching=matching,
    )


def read_all(
    accounts: Accounts,
    account_id: UUID,
    *,
    upto_version: int,
    matching: StatementFilter = EVERY_LINE,
) -> Iterator[StatementLine]:
    """Every line ``matching`` keeps up to ``upto_version``, oldest first, streamed.

    The events are read a page at a time as the lines are taken, so a
    download of a long history holds one page of events at once.
    """
    return statement_lines(
        accounts.events, account_id, upto_version=upto_version, matching=matching
    )
