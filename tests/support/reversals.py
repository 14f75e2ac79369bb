"""Reversals checked from the stored events, apart from the audit.

``check_reversals`` reads the whole Accounts log and compares every
``Reversed`` event with the reversal it belongs to: a transaction is
reversed at most once on each account, only a carried-out reversal has
legs, and its legs are the original's legs undone, on the right accounts,
for the right amounts. The concurrency suites use it after many threads
and two "processes" (two banks on one database) reverse, approve and
reject at once.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from accounts.domain import REVERSIBLE, Reversed, signed_amount
from accounts.money import ZERO
from esbank_site.operations.reading import read_log

if TYPE_CHECKING:
    from uuid import UUID

    from accounts.reversal_desk import ReversalSummary
    from esbank_site.bank import Bank

CARRIED_OUT = "carried out"


def balance_change(summary: ReversalSummary) -> Decimal:
    """What a carried-out reversal changed the sum of all balances by."""
    if summary.kind == "deposit":
        return -summary.amount
    if summary.kind == "withdrawal":
        return summary.amount
    return ZERO  # a transfer's two legs cancel out


def taken_back_from(summary: ReversalSummary) -> UUID | None:
    """The account a reversal takes money back from, if any."""
    if summary.kind == "deposit":
        return summary.account_ids[0]
    if summary.kind == "transfer":
        return summary.account_ids[1]  # the receiver
    return None


def expected_legs(summary: ReversalSummary) -> list[tuple[UUID, str, Decimal]]:
    """(account, leg undone, signed change) of each ``Reversed`` it must record."""
    if summary.kind == "deposit":
        return [(summary.account_ids[0], "deposit", -summary.amount)]
    if summary.kind == "withdrawal":
        return [(summary.account_ids[0], "withdrawal", summary.amount)]
    sender, receiver = summary.account_ids
    return [
        (sender, "transfer sent", summary.amount),
        (receiver, "transfer received", -summary.amount),
    ]


@dataclass
class ReversalFindings:
    """Every reversal asked for, what was carried out, and what is wrong."""

    reversals: list[ReversalSummary] = field(default_factory=list)
    legs: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def carried_out(self) -> list[ReversalSummary]:
        return [r for r in self.reversals if r.status == CARRIED_OUT]

    def summary(self) -> str:
        statuses = Counter(r.status for r in self.reversals)
        return (
            f"{len(self.reversals)} reversals {dict(statuses)}, {self.legs} "
            f"Reversed events, {len(self.problems)} problem(s)"
        )


def check_reversals(bank: Bank) -> ReversalFindings:
    """Fold the Accounts log and compare each reversal with its legs."""
    findings = ReversalFindings()
    legs_of: dict[UUID, list[Any]] = defaultdict(list)
    times_reversed: Counter[tuple[UUID, UUID]] = Counter()
    originals: dict[tuple[UUID, UUID], Any] = {}
    for domain_event in read_log(bank.accounts):
        if isinstance(domain_event, Reversed):
            findings.legs += 1
            legs_of[domain_event.transaction_id].append(domain_event)
            times_reversed[domain_event.originator_id, domain_event.reverses] += 1
        elif type(domain_event) in REVERSIBLE:
            key = (domain_event.originator_id, domain_event.transaction_id)
            originals[key] = domain_event
    findings.problems.extend(
        f"Transaction {reverses} is reversed {count} times on account {account_id}."
        for (account_id, reverses), count in times_reversed.items()
        if count > 1
    )
    findings.reversals = list(bank.accounts.reversals.all_reversals())
    listed = Counter(r.id for r in findings.reversals)
    findings.problems.extend(
        f"Reversal {reversal_id} is listed {count} times."
        for reversal_id, count in listed.items()
        if count > 1
    )
    for reversal in findings.reversals:
        legs = legs_of.pop(reversal.transaction_id, [])
        if reversal.status != CARRIED_OUT:
            if legs:
                findings.problems.append(
                    f"Reversal {reversal.id} is {reversal.status} but recorded "
                    f"{len(legs)} Reversed event(s)."
                )
            continue
        findings.problems.extend(_leg_problems(reversal, legs, originals))
    findings.problems.extend(
        f"{len(legs)} Reversed event(s) with transaction id {transaction_id} "
        "belong to no reversal."
        for transaction_id, legs in legs_of.items()
    )
    return findings


def _leg_problems(
    reversal: ReversalSummary,
    legs: list[Any],
    originals: dict[tuple[UUID, UUID], Any],
) -> list[str]:
    problems = []
    recorded = sorted((e.originator_id, e.original, e.amount) for e in legs)
    if recorded != sorted(expected_legs(reversal)):
        problems.append(
            f"Reversal {reversal.id} ({reversal.kind} of £{reversal.amount}) "
            f"recorded legs {recorded}; expected {sorted(expected_legs(reversal))}."
        )
    total = sum((e.amount for e in legs), ZERO)
    if total != balance_change(reversal):
        problems.append(
            f"Reversal {reversal.id}'s legs add up to £{total}, not "
            f"£{balance_change(reversal)}."
        )
    for leg in legs:
        original = originals.get((leg.originator_id, reversal.reverses))
        if leg.reverses != reversal.reverses or original is None:
            problems.append(
                f"Reversal {reversal.id} on account {leg.originator_id} undoes "
                f"{leg.reverses}, which that account never recorded as "
                f"{reversal.reverses}."
            )
        elif leg.amount != -signed_amount(original):
            problems.append(
                f"Reversal {reversal.id} on account {leg.originator_id} changed "
                f"it by £{leg.amount}; the original moved £{signed_amount(original)}."
            )
    return problems
