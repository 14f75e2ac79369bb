"""What the eventsourcing library does behind each panel, said on the page.

Each main panel has a "How this works" disclosure beside it
(``{% how_it_works "key" %}``, templates/_how_it_works.html): two or three
sentences, the file and the class or method that do it, and the section of
docs/FEATURES.md that lists the feature. The texts are written here once.
"""

from __future__ import annotations

from dataclasses import dataclass

FEATURES_DOC = "docs/FEATURES.md"

APPLICATIONS = "applications-and-persistence"
SYSTEMS = "systems-followers-projections"


@dataclass(frozen=True)
class Explanation:
    """One panel's explanation.

    ``symbol`` is a class or function of ``path``, or ``Class.method``;
    ``anchor`` is the id GitHub gives a heading of docs/FEATURES.md.
    """

    title: str
    text: str
    path: str
    symbol: str
    anchor: str

    @property
    def doc(self) -> str:
        """The repository path of the feature map's section."""
        return f"{FEATURES_DOC}#{self.anchor}"


EXPLANATIONS: dict[str, Explanation] = {
    "balance": Explanation(
        title="How this works: balance and statement",
        text=(
            "The balance is the state of an Account aggregate (accounts/domain.py), "
            "rebuilt from its stored events: Accounts reads it with the "
            "repository's get, starting from its copy in the library's aggregate "
            "cache, or else from its latest snapshot (taken every 50 events), "
            "and applying only the events recorded after that. The statement reads "
            "the same events, a page at a time, and shows each movement with the "
            "balance after it; its CSV download streams them, 500 events a read, "
            "so it holds no more in memory however long the history."
        ),
        path="accounts/application.py",
        symbol="Accounts.get_recent_statement",
        anchor=APPLICATIONS,
    ),
    "money_forms": Explanation(
        title="How this works: moving money",
        text=(
            "Each form carries a one-time idempotency key. Accounts loads the "
            "account (both accounts, for a transfer), calls one method on the "
            "Account aggregate, whose guards refuse a bad command before any "
            "event is recorded, and saves the new events with a Receipt for the "
            "key in one transaction. Sent twice, the same form's second save is "
            "refused by the store, as that key's Receipt exists, so the money "
            "moves once; a save that loses a race with another is reloaded and "
            "tried again."
        ),
        path="accounts/commands.py",
        symbol="CommandRunner.move_money",
        anchor=APPLICATIONS,
    ),
    "accounts_list": Explanation(
        title="How this works: the accounts list",
        text=(
            "This list is a projection, not a replay: AccountsListProjection "
            "folds every Accounts event into a table of one row per account, "
            "writing each change with a tracking record of the notification it "
            "came from, in one transaction. A page of it is one query, and its "
            "tracking position says how many Accounts events it has yet to "
            "reflect (\u201cUpdating\u2026\u201d). "
            "manage.py rebuild_projection AccountsList replays it from the events."
        ),
        path="accounts/projections.py",
        symbol="AccountsListProjection",
        anchor=SYSTEMS,
    ),
    "ledger": Explanation(
        title="How this works: the ledger",
        text=(
            "LedgerProcess is a ProcessApplication following the Accounts "
            "notification log: its policy turns each deposit, withdrawal and "
            "transfer into an event of the one Ledger aggregate, stored in the "
            "same transaction as the tracking record of the Accounts "
            "notification that caused it, so each is counted exactly once, even "
            "across a crash. The ledger is snapshotted every 50 events and kept "
            "in the aggregate cache, so reading it does not replay its history."
        ),
        path="ledger/application.py",
        symbol="LedgerProcess",
        anchor=SYSTEMS,
    ),
    "processors": Explanation(
        title="How this works: the processors",
        text=(
            "Each row follows the Accounts notification log (BankSystem in "
            "esbank_site/system.py says who follows whom). Its position is the "
            "last notification it has processed, read from its own tracking "
            "records, and \u201cBehind\u201d is how far that is from the newest "
            "Accounts notification. For the ledger and the transaction log, a "
            "Processor pulls the new notifications into its follower with the "
            "library's pull_and_process, from that position on, so a follower "
            "that was stopped catches up where it left off."
        ),
        path="esbank_site/runtime/processing.py",
        symbol="Processor.position",
        anchor=SYSTEMS,
    ),
    "transactions": Explanation(
        title="How this works: the transaction log",
        text=(
            "TransactionLogProcess is a second ProcessApplication following "
            "Accounts, with its own tracking position. Its policy appends one "
            "TransactionLogged event for each deposit, withdrawal and transfer, "
            "and for each reversal of one, to an EventSourcedLog, numbered in "
            "order and stored with the tracking record in one transaction; this "
            "panel reads that log newest first, a page at a time."
        ),
        path="ledger/application.py",
        symbol="TransactionLogProcess",
        anchor=SYSTEMS,
    ),
    "event_stream": Explanation(
        title="How this works: the event stream",
        text=(
            "Each application of the bank records its events in a notification "
            "log of its own: Accounts, the Ledger and the transaction log. "
            "EventStream reads the newest notifications of each with its "
            "recorder's select_notifications, decodes them with the "
            "application's mapper (so events encrypted or compressed at rest "
            "read as recorded), and merges the logs by the time each event was "
            "recorded. A page's place is a position in each log, so an older "
            "page costs no more to read than the newest."
        ),
        path="esbank_site/web/event_stream.py",
        symbol="EventStream",
        anchor=SYSTEMS,
    ),
    "trace": Explanation(
        title="How this works: a transaction's trace",
        text=(
            "Accounts records a transaction's events in one save; the Ledger "
            "and the transaction log, process applications following Accounts, "
            "record theirs in answer, each carrying the request's correlation "
            "id and, as its causation, the Accounts event it answers. The trace "
            "reads the newest notifications of each application's log for the "
            "events naming this transaction id, and compares each follower's "
            "tracking position with each Accounts event's notification id."
        ),
        path="esbank_site/web/trace.py",
        symbol="read_trace",
        anchor=SYSTEMS,
    ),
    "reversals": Explanation(
        title="How this works: reversals",
        text=(
            "Nothing stored is changed: a reversal records a Reversed event on "
            "each account the transaction moved money in, all in one save. "
            "Each reversal is a Reversal aggregate, the process from request to "
            "money moving back: more than £1,000.00 waits here for a second "
            "member of staff, and only their approval carries it out. Its id is "
            "derived from the transaction it reverses, so the event store "
            "itself refuses a second reversal of the same transaction."
        ),
        path="accounts/reversal_desk.py",
        symbol="ReversalDesk",
        anchor=APPLICATIONS,
    ),
    "timeline": Explanation(
        title="How this works: the timeline",
        text=(
            "These are the stored events of one Account aggregate, in the order "
            "of their versions. Choosing one asks Accounts for the account at "
            "that version: the repository's get(account_id, version=N) replays "
            "the events up to N, from the latest snapshot at or before it if "
            "there is one. Snapshots are taken every 50 events "
            "(snapshotting_intervals) or by \u201cTake a snapshot now\u201d, "
            "and marked here."
        ),
        path="accounts/application.py",
        symbol="Accounts.get_account",
        anchor=APPLICATIONS,
    ),
}
