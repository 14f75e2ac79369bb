"""``manage.py bank_audit``: reconcile the bank's books from its events."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from esbank_site import bank as site_bank
from esbank_site.operations.audit import audit
from esbank_site.runtime.progress import progress_bar

if TYPE_CHECKING:
    from esbank_site.bank import Bank
    from esbank_site.operations.audit import AuditReport


class Command(BaseCommand):
    help = (
        "Reconcile the bank independently: fold every account's events and "
        "check balances, the ledger (deposits minus withdrawals), the "
        "reversals (each carried out exactly once, on each of its accounts), the "
        "transaction log (each movement exactly once), every follower's "
        "position (at the head of the Accounts log) and every projection "
        "(recomputed from the events). Prints a report; exits with status 1 "
        "on any mismatch, naming the account."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--wait",
            type=float,
            default=10.0,
            metavar="SECONDS",
            help="wait this long for the followers to reach the head before "
            "checking (default 10; 0: check at once)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        bank = site_bank.get_bank()
        self.wait_for_followers(bank, options["wait"])
        head = bank.accounts.recorder.max_notification_id() or 0
        started = time.monotonic()

        def progress(done: int) -> None:
            self.stdout.write(f"\r{progress_bar(done, head)} events", ending="")

        report = audit(bank, progress=progress)
        if report.events_checked >= 500:
            progress(report.events_checked)
            self.stdout.write("")
        self.print_report(bank, report, time.monotonic() - started)
        if not report.ok:
            msg = f"The audit found {len(report.problems)} problem(s); see above."
            raise CommandError(msg)
        self.stdout.write(self.style.SUCCESS("The books balance."))

    def wait_for_followers(self, bank: Bank, timeout: float) -> None:
        """Give followers run elsewhere (or polling) time to reach the head."""
        deadline = time.monotonic() + timeout
        while any(s.lag for s in bank.processor_status()):
            if time.monotonic() >= deadline:
                return  # the audit reports the lag
            if bank.process_inline:
                bank.process_all()
            time.sleep(0.2)

    def print_report(self, bank: Bank, report: AuditReport, seconds: float) -> None:
        net = report.deposits - report.withdrawals
        lines = [
            f"Checked {report.events_checked} events in {seconds:.1f}s.",
            f"  accounts             {report.accounts:>14}",
            f"  movements            {report.movements:>14}",
            f"  reversals carried out{report.reversals_carried_out:>14}",
            f"  reversals pending    {report.reversals_pending:>14}",
            f"  reversals rejected   {report.reversals_rejected:>14}",
            f"  deposits           £{report.deposits:>14,}",
            f"  withdrawals        £{report.withdrawals:>14,}",
            f"  deposits - withdr. £{net:>14,}",
            f"  sum of balances    £{report.total_balances:>14,}",
            f"  ledger balance     £{report.ledger_balance:>14,}",
            "Followers and projections (position / head of Accounts):",
        ]
        lines.extend(
            f"  {s.name:<20} {s.position:>7} / {s.leader_position:<7} lag {s.lag}"
            for s in bank.processor_status()
        )
        lines.extend(
            f"  {check.name:<20} {check.rows} rows recomputed at position "
            f"{check.position}: {len(check.problems)} difference(s)"
            for check in report.projections
        )
        self.stdout.write("\n".join(lines))
        for problem in report.problems:
            self.stdout.write(self.style.ERROR(f"PROBLEM: {problem}"))
