"""Whatever is posted to whichever form: never a 5xx, never a stray event.

Suite 6, input fuzzing. Hypothesis (derandomized, a bounded number of
examples) drives every POST form of the site through the Django test
client, with the views on this test's bank, on SQLite and on PostgreSQL:
opening, paying in, taking out, sending, closing, the staff's snapshot and
logging in. Amounts come as NaN, sNaN, Infinity, -0, 1e3, 10.005, 1E+400,
full-width and other scripts' digits, floats, 10 kB strings and the like;
account numbers as the owner's, someone else's, unknown or malformed, in the
URL and in the form; each field may be missing, duplicated or joined by
extra ones; the sender may be the owner, another customer, staff or nobody.

After every request: its status is below 500; the Accounts log grew by
exactly one command (one transaction, opening or closing) if the request
was accepted, by none otherwise (a repeat of an accepted token is accepted
and records nothing); and every amount stored is quantized to pence, equal
to the amount posted. Oversized bodies and too many fields get a 400.

The staff's forms (overdraft limit, freeze, unfreeze) are fuzzed apart, as
staff: each limit and reason arbitrary text or an edge case (a limit just
over £10,000.00, a reason of 201 characters, blank, reversed or NUL), each
field missing, doubled or joined by others. A refusal is a 422 (a 400 for
NUL) and records nothing; an accepted post records exactly one event of
its kind, with the reason cleaned and the limit in pence as posted. So
are the reversal forms (reverse, approve, reject): a refusal records
nothing; an accepted one records the reversal asked for, of the
transaction in the URL, with the reason cleaned.
"""

from __future__ import annotations

import contextlib
import itertools
from collections import Counter
from decimal import Decimal
from http import HTTPStatus
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode
from uuid import uuid4

import pytest
from django.test import Client
from django.urls import NoReverseMatch, reverse
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from accounts.domain import (
    ALL_ACCOUNTS_LOG_ID,
    Account,
    AccountClosed,
    AccountOpened,
    Deposited,
    Receipt,
    TransferReceived,
    TransferSent,
    Withdrawn,
    clean_reason,
    owner_log_id,
)
from accounts.forms import NO_SUCH_ACCOUNT
from accounts.money import to_overdraft_limit
from accounts.reversal import ReversalRejected, ReversalRequested
from esbank_site.operations.audit import audit
from ledger.domain import TRANSACTION_LOG_ID, Ledger
from tests.adversarial.test_access_matrix import blank, url_names
from tests.support.http_workload import report_line, unthrottled

if TYPE_CHECKING:
    from uuid import UUID

    from esbank_site.bank import Bank

EXAMPLES = 200
TEN_KB = "9" * 10_240

NASTY_AMOUNTS = [
    "NaN", "nan", "-NaN", "sNaN", "Infinity", "-Infinity", "inf", "-inf",
    "-0", "-0.00", "+0", "0", "0.00", "0.001", "1e3", "1E3", "1E+3", "1e-2",
    "10.005", "10.0000", "1E+400", "1e-400", "1000000.01", "1000000.00",
    "999999.99", "0.01", "-5", "+5", " 5 ", "5.", ".5", "5.5.5", "1_000",
    "1,000", "0x10", "£5", "5£", "５", "１０.５０", "١٢", "߁", "५", "Ⅻ", "½",  # noqa: RUF001
    "5\n", "5\x00", "\x00", "", " ", TEN_KB, "9" * 400, "0" * 5000 + "1",
    "1" + "0" * 7, "12345678.9", "3.14159", "2.50", "7",
]  # fmt: skip

VALID_AMOUNTS = st.decimals(min_value=Decimal("0.01"), max_value=500, places=2)
# Valid amounts weigh as much as all the others, so that commands are
# accepted often enough for the log to be checked after them too.
AMOUNTS = st.one_of(
    VALID_AMOUNTS.map(str),
    VALID_AMOUNTS.map(str),
    VALID_AMOUNTS.map(str),
    VALID_AMOUNTS.map(str),
    st.sampled_from(NASTY_AMOUNTS),
    st.from_regex(r"[0-9]{1,8}(\.[0-9]{0,3})?", fullmatch=True),
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
    st.floats().map(repr),
    st.text(max_size=12),
)
TEXTS = st.one_of(
    st.text(max_size=160),
    st.sampled_from(["", " ", "\x00", "a\x00b", TEN_KB, "<script>", "'; --"]),
)
# Mostly a token never sent before, as a freshly rendered form has; then
# anything, including tokens already used for another command.
FRESH = "@fresh"
TOKENS = st.one_of(
    st.just(FRESH),
    st.just(FRESH),
    st.just(FRESH),
    st.uuids().map(str),
    st.sampled_from(["", " ", "reused", "x" * 101, "\x00", TEN_KB]),
    st.text(max_size=20),
)

# Each form's fields, and the strategy for each field's values.
FORMS: dict[str, dict[str, Any]] = {
    "open_account": {"name": TEXTS},
    "deposit": {"amount": AMOUNTS, "description": TEXTS, "token": TOKENS},
    "withdraw": {"amount": AMOUNTS, "token": TOKENS},
    "transfer": {"to_account": st.just("@to"), "amount": AMOUNTS, "token": TOKENS},
    "close": {},
    "snapshot": {},
    "login": {"username": TEXTS, "password": TEXTS},
}
# Account numbers, as the URL or the transfer form may give them.
ACCOUNT_IDS = ["own", "own_empty", "foreign", "unknown", "malformed"]
MALFORMED_IDS = [
    "not-a-uuid",
    "",
    "0" * 36,
    "{00000000-0000-0000-0000-000000000000}",
    TEN_KB,
    "١٢٣",
]


@st.composite
def posts(draw: st.DrawFn) -> dict[str, Any]:
    """One POST: who sends it, to which form and account, with which fields."""
    form = draw(st.sampled_from(list(FORMS)))
    data: dict[str, Any] = {}
    for name, values in FORMS[form].items():
        shape = draw(st.sampled_from(["given"] * 6 + ["missing", "twice"]))
        if shape == "given":
            data[name] = draw(values)
        elif shape == "twice":
            data[name] = [draw(values), draw(values)]
    extra = draw(st.dictionaries(st.text(min_size=1, max_size=12), TEXTS, max_size=3))
    for name, value in extra.items():
        data.setdefault(name, value)
    return {
        "form": form,
        "data": data,
        "who": draw(st.sampled_from(["owner"] * 8 + ["other", "staff", "nobody"])),
        "account": draw(st.sampled_from(["own"] * 6 + ACCOUNT_IDS)),
        "to": draw(st.sampled_from(["foreign", "own_empty", *ACCOUNT_IDS])),
        "malformed": draw(st.sampled_from(MALFORMED_IDS)),
        "htmx": draw(st.booleans()),
    }


class Fuzzer:
    """Sends one fuzzed POST at a time and checks what it left in the log."""

    def __init__(self, bank: Bank, users: dict[str, Any]) -> None:
        self.bank = bank
        self.clients = {"nobody": Client()}
        for role, user in users.items():
            self.clients[role] = Client()
            self.clients[role].force_login(user)
        self.owner_pk = users["owner"].pk
        self.accounts = {
            "own": bank.accounts.open_account("owner", "Current"),
            "own_empty": bank.accounts.open_account("owner", "Empty"),
            "foreign": bank.accounts.open_account("other", "Theirs"),
            "unknown": uuid4(),
        }
        bank.accounts.deposit(self.accounts["own"], "1000.00")
        self.position = bank.accounts.recorder.max_notification_id() or 0
        self.receipts: set[str] = set()
        self.tokens = itertools.count()
        self.statuses: Counter[int] = Counter()
        self.forms: Counter[str] = Counter()
        self.accepted = 0
        self.events = 0
        self.amounts = 0

    def account_id(self, which: str, malformed: str) -> str:
        return malformed if which == "malformed" else str(self.accounts[which])

    def path(self, post: dict[str, Any]) -> str:
        account = self.account_id(post["account"], post["malformed"])
        return {
            "open_account": "/accounts/open/",
            "deposit": f"/accounts/{account}/deposit/",
            "withdraw": f"/accounts/{account}/withdraw/",
            "transfer": f"/accounts/{account}/transfer/",
            "close": f"/accounts/{account}/close/",
            "snapshot": f"/staff/accounts/{account}/snapshot/",
            "login": "/accounts/login/",
        }[post["form"]]

    def send(self, post: dict[str, Any]) -> None:
        data = dict(post["data"])
        for name, value in data.items():
            if value == FRESH:
                data[name] = f"fuzz-{next(self.tokens)}"
            elif isinstance(value, list):
                data[name] = [
                    f"fuzz-{next(self.tokens)}" if v == FRESH else v for v in value
                ]
        if "to_account" in data:
            to = self.account_id(post["to"], post["malformed"])
            data["to_account"] = (
                [to, to] if isinstance(data["to_account"], list) else to
            )
        headers = {"HX-Request": "true"} if post["htmx"] else {}
        client = self.clients[post["who"]]
        response = client.post(self.path(post), data, headers=headers)
        self.statuses[response.status_code] += 1
        self.forms[post["form"]] += 1
        assert response.status_code < 500, response.content[:500]
        self.check_log(post, data, response)

    def check_log(
        self, post: dict[str, Any], data: dict[str, Any], response: Any
    ) -> None:
        recorder, mapper = self.bank.accounts.recorder, self.bank.accounts.mapper
        new = [
            mapper.to_domain_event(n)
            for n in recorder.select_notifications(
                self.position, 1000, inclusive_of_start=False
            )
        ]
        self.position = recorder.max_notification_id() or 0
        self.events += len(new)
        commands = len({e.transaction_id for e in new if isinstance(e, MONEY)}) + sum(
            isinstance(e, AccountOpened | AccountClosed) for e in new
        )
        accepted = is_accepted(post, response)
        token = last(data.get("token"))
        key = f"{self.owner_pk}:{token.strip()}" if isinstance(token, str) else None
        repeat = accepted and key in self.receipts
        self.accepted += accepted
        assert commands == (1 if accepted and not repeat else 0), (
            post,
            response.status_code,
            new,
        )
        for event in new:
            if hasattr(event, "idempotency_key"):
                self.receipts.add(event.idempotency_key)
            if isinstance(event, MONEY):
                self.amounts += 1
                # Stored in pence, as posted: "1000.00", never "1E+3".
                assert event.amount.as_tuple().exponent == -2, event.amount
                assert event.amount == Decimal(str(last(data["amount"])).strip())


MONEY = (Deposited, Withdrawn, TransferSent, TransferReceived)


def last(value: Any) -> Any:
    """What Django reads for a field sent more than once: the last value."""
    return value[-1] if isinstance(value, list) else value


def is_accepted(post: dict[str, Any], response: Any) -> bool:
    """Whether the bank carried out the command (login is not a command)."""
    if post["form"] in {"login", "snapshot"}:
        return False
    if response.status_code == HTTPStatus.FOUND:
        return not response["Location"].startswith("/accounts/login/")
    return (
        post["htmx"]
        and response.status_code == HTTPStatus.OK
        and "HX-Redirect" not in response
    )


@pytest.fixture
def fuzzer(
    site_bank: Bank,
    transactional_db: None,
    settings: Any,
    django_user_model: Any,
) -> Fuzzer:
    unthrottled(settings)
    users = {
        "owner": django_user_model.objects.create_user("owner", password="pw-owner-1"),
        "other": django_user_model.objects.create_user("other", password="pw-other-1"),
        "staff": django_user_model.objects.create_user(
            "staff", password="pw-staff-1", is_staff=True
        ),
    }
    return Fuzzer(site_bank, users)


def test_fuzzed_posts_never_fail_and_record_only_accepted_commands(
    fuzzer: Fuzzer, database: dict[str, Any]
) -> None:
    @hypothesis_settings(
        max_examples=EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(post=posts())
    def send(post: dict[str, Any]) -> None:
        fuzzer.send(post)

    send()
    fuzzer.bank.wait_until_processed()
    report = audit(fuzzer.bank)
    engine = database["ENGINE"].rsplit(".", 1)[-1]
    print(
        report_line(
            f"fuzzing ({engine})",
            requests=sum(fuzzer.statuses.values()),
            forms=dict(fuzzer.forms),
            statuses=dict(sorted(fuzzer.statuses.items())),
            accepted=fuzzer.accepted,
            events_checked=fuzzer.events,
            amounts_checked=fuzzer.amounts,
        )
        + report_line(f"audit ({engine})", summary=report.summary())
    )
    assert fuzzer.accepted >= 10
    assert report.ok, report.problems


# The staff's forms on an account page, each field fuzzed as the money
# forms' are, always posted by staff (customers get a 403 before any field
# is read: tests/adversarial/test_access_matrix.py).
STAFF_EXAMPLES = 60
NASTY_REASONS = [
    "", " ", "\t\n", "\x00", "a\x00b", "\u200b", "\u202e reversed", "x" * 200,
    " " + "x" * 200 + " ", "x" * 201, TEN_KB, "<script>", "'; --", " Audit. ",
]  # fmt: skip
LIMITS = st.one_of(
    AMOUNTS,
    st.sampled_from(["0", "0.00", "-0.01", "10000.00", "10000", "10000.01", "1E+4"]),
)
# Plain reasons weigh as much as all the others, as valid amounts do above.
PLAIN_REASONS = st.from_regex(r"[A-Za-z][A-Za-z0-9 .,'-]{0,60}", fullmatch=True)
REASONS = st.one_of(PLAIN_REASONS, PLAIN_REASONS, TEXTS, st.sampled_from(NASTY_REASONS))
STAFF_FORMS: dict[str, dict[str, Any]] = {
    "overdraft": {"limit": LIMITS, "reason": REASONS},
    "freeze": {"reason": REASONS},
    "unfreeze": {"reason": REASONS},
}
STAFF_EVENTS = {
    "overdraft": Account.OverdraftLimitSet,
    "freeze": Account.Frozen,
    "unfreeze": Account.Unfrozen,
}


@st.composite
def staff_posts(draw: st.DrawFn) -> dict[str, Any]:
    """One staff POST: to which form, with which fields, as htmx or not."""
    form = draw(st.sampled_from(list(STAFF_FORMS)))
    data: dict[str, Any] = {}
    for name, values in STAFF_FORMS[form].items():
        shape = draw(st.sampled_from(["given"] * 6 + ["missing", "twice"]))
        if shape == "given":
            data[name] = draw(values)
        elif shape == "twice":
            data[name] = [draw(values), draw(values)]
    extra = draw(st.dictionaries(st.text(min_size=1, max_size=12), TEXTS, max_size=2))
    for name, value in extra.items():
        data.setdefault(name, value)
    return {"form": form, "data": data, "htmx": draw(st.booleans())}


def send_staff(fuzzer: Fuzzer, post: dict[str, Any], tally: Counter[str]) -> None:
    """Post ``post`` as staff; accepted, one event as posted; refused, none."""
    bank, account = fuzzer.bank, fuzzer.accounts["own"]
    before = bank.accounts.recorder.max_notification_id() or 0
    response = fuzzer.clients["staff"].post(
        f"/staff/accounts/{account}/{post['form']}/",
        post["data"],
        headers={"HX-Request": "true"} if post["htmx"] else {},
    )
    tally[f"{post['form']} {response.status_code}"] += 1
    assert response.status_code < 500, response.content[:500]
    new = [
        bank.accounts.mapper.to_domain_event(n)
        for n in bank.accounts.recorder.select_notifications(
            before, 10, inclusive_of_start=False
        )
    ]
    done = HTTPStatus.OK if post["htmx"] else HTTPStatus.FOUND
    if response.status_code != done:
        # NUL anywhere in the form is refused at the edge (input_guard.py).
        nul = any(
            "\x00" in name + "".join(value if isinstance(value, list) else [value])
            for name, value in post["data"].items()
        )
        refused = HTTPStatus.BAD_REQUEST if nul else HTTPStatus.UNPROCESSABLE_ENTITY
        assert response.status_code == refused, post
        assert new == [], (post, new)
        return
    assert [type(e) for e in new] == [STAFF_EVENTS[post["form"]]], (post, new)
    event, data = new[0], post["data"]
    assert event.originator_id == account
    assert event.reason == clean_reason(last(data["reason"]))
    if post["form"] == "overdraft":
        assert event.limit == to_overdraft_limit(last(data["limit"]))
        assert event.limit.as_tuple().exponent == -2, event.limit


def test_fuzzed_staff_forms_never_fail_and_record_one_event_if_accepted(
    fuzzer: Fuzzer, database: dict[str, Any]
) -> None:
    tally: Counter[str] = Counter()

    @hypothesis_settings(
        max_examples=STAFF_EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(post=staff_posts())
    def send(post: dict[str, Any]) -> None:
        send_staff(fuzzer, post, tally)

    send()
    engine = database["ENGINE"].rsplit(".", 1)[-1]
    print(
        report_line(f"staff fuzzing ({engine})", outcomes=dict(sorted(tally.items())))
    )
    accepted = sum(n for key, n in tally.items() if key.endswith(("200", "302")))
    assert accepted >= 5, tally
    assert sum(n for key, n in tally.items() if key.endswith("422")) >= 5, tally


# The staff's reversal forms: reverse a fresh transaction of the owner's
# (small, carried out at once, or large, left waiting), approve or reject a
# large one another member of staff asked to reverse. Each field fuzzed as
# above; the account the form names may be the owner's, another's, unknown,
# malformed or missing (then looked up from the transaction's id).
REVERSAL_EXAMPLES = 40
FREEZES = st.one_of(st.sampled_from(["1", "0", "", "on", "true", "false"]), TEXTS)
REVERSAL_FORMS: dict[str, dict[str, Any]] = {
    "reverse": {"reason": REASONS, "freeze": FREEZES, "token": TOKENS},
    "approve": {"token": TOKENS},
    "reject": {"reason": REASONS},
}


@st.composite
def reversal_posts(draw: st.DrawFn) -> dict[str, Any]:
    """One staff POST to a reversal form, with which fields, as htmx or not."""
    form = draw(st.sampled_from(list(REVERSAL_FORMS)))
    data: dict[str, Any] = {}
    for name, values in REVERSAL_FORMS[form].items():
        shape = draw(st.sampled_from(["given"] * 6 + ["missing", "twice"]))
        if shape == "given":
            data[name] = draw(values)
        elif shape == "twice":
            data[name] = [draw(values), draw(values)]
    extra = draw(st.dictionaries(st.text(min_size=1, max_size=12), TEXTS, max_size=2))
    for name, value in extra.items():
        data.setdefault(name, value)
    return {
        "form": form,
        "data": data,
        "account": draw(st.sampled_from(["own"] * 3 + ACCOUNT_IDS + ["missing"])),
        "malformed": draw(st.sampled_from(MALFORMED_IDS)),
        "amount": draw(st.sampled_from(["5.00", "1500.00"])),
        "htmx": draw(st.booleans()),
    }


def send_reversal(fuzzer: Fuzzer, post: dict[str, Any], tally: Counter[str]) -> None:
    """Post ``post`` as staff; accepted, the events asked for; refused, none."""
    bank, own = fuzzer.bank, fuzzer.accounts["own"]
    data = dict(post["data"])
    for name, value in data.items():
        if value == FRESH:
            data[name] = f"fuzz-{next(fuzzer.tokens)}"
    if post["form"] == "reverse":
        transaction_id = bank.accounts.deposit(own, post["amount"])
        path = f"/staff/transactions/{transaction_id}/reverse/"
        if post["account"] != "missing":
            data["account"] = fuzzer.account_id(post["account"], post["malformed"])
    else:
        transaction_id = bank.accounts.deposit(own, "1500.00")
        reversal = bank.accounts.reversals.reverse(
            transaction_id, own, "supervisor", "Fuzzing"
        )
        path = f"/staff/reversals/{reversal.id}/{post['form']}/"
    before = bank.accounts.recorder.max_notification_id() or 0
    response = fuzzer.clients["staff"].post(
        path, data, headers={"HX-Request": "true"} if post["htmx"] else {}
    )
    tally[f"{post['form']} {response.status_code}"] += 1
    assert response.status_code < 500, response.content[:500]
    new = [
        bank.accounts.mapper.to_domain_event(n)
        for n in bank.accounts.recorder.select_notifications(
            before, 20, inclusive_of_start=False
        )
    ]
    done = HTTPStatus.OK if post["htmx"] else HTTPStatus.FOUND
    if response.status_code != done:
        nul = any(
            "\x00" in name + "".join(value if isinstance(value, list) else [value])
            for name, value in data.items()
        )
        refused = HTTPStatus.BAD_REQUEST if nul else HTTPStatus.UNPROCESSABLE_ENTITY
        assert response.status_code == refused, (post, response.status_code)
        assert new == [], (post, new)
        return
    reversed_legs = [e for e in new if isinstance(e, Account.Reversed)]
    if post["form"] == "reject":
        assert reversed_legs == [], (post, new)
        [rejected] = [e for e in new if isinstance(e, ReversalRejected)]
        assert rejected.reason == clean_reason(last(data["reason"]))
        return
    carried_out = post["form"] == "approve" or post["amount"] == "5.00"
    assert len(reversed_legs) == (1 if carried_out else 0), (post, new)
    amount = "1500.00" if post["form"] == "approve" else post["amount"]
    for leg in reversed_legs:
        assert leg.reverses == transaction_id
        assert leg.amount == -Decimal(amount)
    if post["form"] == "reverse":
        [requested] = [e for e in new if isinstance(e, ReversalRequested)]
        assert requested.reason == clean_reason(last(data["reason"]))
        assert requested.requested_by == "staff"


def test_fuzzed_reversal_forms_never_fail_and_record_only_what_was_accepted(
    fuzzer: Fuzzer, database: dict[str, Any]
) -> None:
    tally: Counter[str] = Counter()

    @hypothesis_settings(
        max_examples=REVERSAL_EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(post=reversal_posts())
    def send(post: dict[str, Any]) -> None:
        send_reversal(fuzzer, post, tally)

    send()
    fuzzer.bank.wait_until_processed()
    report = audit(fuzzer.bank)
    engine = database["ENGINE"].rsplit(".", 1)[-1]
    print(
        report_line(
            f"reversal fuzzing ({engine})", outcomes=dict(sorted(tally.items()))
        )
        + report_line(f"audit ({engine})", summary=report.summary())
    )
    accepted = sum(n for key, n in tally.items() if key.endswith(("200", "302")))
    assert accepted >= 5, tally
    assert sum(n for key, n in tally.items() if key.endswith("422")) >= 5, tally
    assert report.ok, report.problems


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"amount=1.00&description=" + b"x" * 3_000_000, id="3 MB"),
        pytest.param(b"&".join(b"f%d=1" % n for n in range(1_500)), id="1500 fields"),
    ],
)
def test_oversized_bodies_are_refused_with_400(fuzzer: Fuzzer, body: bytes) -> None:
    before = fuzzer.bank.accounts.recorder.max_notification_id()
    for who in ("owner", "nobody"):
        response = fuzzer.clients[who].generic(
            "POST",
            f"/accounts/{fuzzer.accounts['own']}/deposit/",
            body,
            content_type="application/x-www-form-urlencoded",
        )
        print(report_line("oversized body", who=who, status=response.status_code))
        # Anonymous senders are sent to log in before their body is read.
        expected = HTTPStatus.BAD_REQUEST if who == "owner" else HTTPStatus.FOUND
        assert response.status_code == expected
    assert fuzzer.bank.accounts.recorder.max_notification_id() == before


# The bank's ids that are not accounts, each derivable from the source: the
# lists of account ids, a receipt, the ledger and the transaction log. Every
# URL that takes an account id, as the owner and as staff (staff URLs and
# the money URLs refuse customers and staff before any lookup otherwise).
ID_URLS = {
    "accounts:account_detail": ("GET", ("owner", "staff")),
    "accounts:account_summary_hx": ("GET", ("owner", "staff")),
    "accounts:statement_csv": ("GET", ("owner", "staff")),
    "accounts:deposit": ("POST", ("owner", "staff")),
    "accounts:withdraw": ("POST", ("owner", "staff")),
    "accounts:transfer": ("POST", ("owner", "staff")),
    "accounts:close_account": ("POST", ("owner", "staff")),
    "accounts:account_events": ("GET", ("staff",)),
    "accounts:take_snapshot": ("POST", ("staff",)),
    "accounts:set_overdraft_limit": ("POST", ("staff",)),
    "accounts:freeze_account": ("POST", ("staff",)),
    "accounts:unfreeze_account": ("POST", ("staff",)),
}


def other_aggregate_ids(fuzzer: Fuzzer) -> dict[str, UUID]:
    """The ids of everything in the bank but accounts, each one in use."""
    key = f"{fuzzer.owner_pk}:a-token"
    fuzzer.bank.accounts.deposit(fuzzer.accounts["own"], "1.00", idempotency_key=key)
    fuzzer.bank.wait_until_processed()
    return {
        "every account": ALL_ACCOUNTS_LOG_ID,
        "the owner's accounts": owner_log_id("owner"),
        "another's accounts": owner_log_id("other"),
        "a receipt": Receipt.create_id(key),
        "the ledger": Ledger.create_id(),
        "the transaction log": TRANSACTION_LOG_ID,
    }


def id_urls() -> set[str]:
    """Every named URL whose route takes an account id."""
    names = set()
    for name in url_names():
        with contextlib.suppress(NoReverseMatch):
            reverse(name, kwargs={"account_id": uuid4()})
            names.add(name)
    return names


def ask_at(
    client: Client, name: str, method: str, account_id: UUID, *, htmx: bool
) -> Any:
    """One request to URL ``name`` for ``account_id``, with a form if a POST."""
    fields = {"amount": "1.00", "to_account": str(uuid4()), "token": str(uuid4())}
    return client.generic(
        method,
        reverse(name, kwargs={"account_id": account_id}),
        urlencode(fields) if method == "POST" else "",
        "application/x-www-form-urlencoded",
        headers={"HX-Request": "true"} if htmx else {},
    )


def test_the_banks_other_ids_are_404_at_every_url_and_no_transfer_target(
    fuzzer: Fuzzer, database: dict[str, Any]
) -> None:
    assert set(ID_URLS) == id_urls()
    others = other_aggregate_ids(fuzzer)
    missing = uuid4()
    before = fuzzer.bank.accounts.recorder.max_notification_id()
    statuses: Counter[int] = Counter()
    for name, (method, roles) in ID_URLS.items():
        for role, htmx in itertools.product(roles, (False, True)):
            client = fuzzer.clients[role]
            absent = ask_at(client, name, method, missing, htmx=htmx)
            assert absent.status_code == HTTPStatus.NOT_FOUND, (name, role)
            for what, other in others.items():
                response = ask_at(client, name, method, other, htmx=htmx)
                statuses[response.status_code] += 1
                assert response.status_code == HTTPStatus.NOT_FOUND, (
                    name,
                    role,
                    what,
                    response.content[:300],
                )
                # The same page as for an id never used.
                assert blank(response.content, other) == blank(absent.content, missing)
    # As a transfer's recipient: the same 422 as an account never opened.
    own = fuzzer.accounts["own"]
    for what, other in {**others, "never used": missing}.items():
        response = fuzzer.clients["owner"].post(
            f"/accounts/{own}/transfer/",
            {"to_account": str(other), "amount": "1.00", "token": str(uuid4())},
            headers={"HX-Request": "true"},
        )
        statuses[response.status_code] += 1
        assert response.status_code == HTTPStatus.UNPROCESSABLE_ENTITY, what
        assert NO_SUCH_ACCOUNT in response.content.decode(), what
    assert fuzzer.bank.accounts.recorder.max_notification_id() == before
    report = audit(fuzzer.bank)
    engine = database["ENGINE"].rsplit(".", 1)[-1]
    print(
        report_line(
            f"other ids ({engine})",
            ids=len(others),
            urls=len(ID_URLS),
            statuses=dict(sorted(statuses.items())),
        )
        + report_line(f"audit ({engine})", summary=report.summary())
    )
    assert report.ok, report.problems
