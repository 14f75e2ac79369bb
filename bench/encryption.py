"""What encryption at rest costs a deposit, with each of the library's ciphers.

The library has two AES-GCM ciphers: ``eventsourcing.cipher:AESCipher``
(pycryptodome) and ``eventsourcing.cryptography:AESCipher`` (the
cryptography package, on OpenSSL). Both store ``nonce + tag + ciphertext``
(12, 16 and the rest), so either reads what the other wrote
(``tests/application/test_encryption.py`` checks it).

Two measurements, both in one process:

- Per call: each cipher encrypts and decrypts the stored states of a real
  bank (every event of ``Accounts`` and its followers after the deposits
  below, as the transcoder writes them), interleaved.
- Deposits: three banks, each on its own database, as ``make run`` runs
  one (followers and the accounts list processed in the same thread right
  after each commit): without a key, with each cipher. Keyed deposits under
  a request's provenance, the three interleaved in blocks of ten
  (``in_blocks``): deposits per second, and this process's CPU time per
  deposit. Not over HTTP: the web layer adds the same work with and without
  a key, so in process the cipher's share is the largest it can be; a
  counted pass says how many encrypts and decrypts one deposit makes.
"""

from __future__ import annotations

import statistics
import time
from contextlib import ExitStack
from functools import partial
from typing import TYPE_CHECKING, Any
from uuid import uuid4

from eventsourcing.cipher import AESCipher as PycryptodomeCipher
from eventsourcing.cryptography import AESCipher as CryptographyCipher
from eventsourcing.utils import Environment, get_topic

from accounts.provenance import Provenance, acting_as
from bench.common import (
    Spread,
    database_of,
    interleaved,
    log,
    paired_ratios,
    rate,
    running_bank,
    sized,
    wait_for_connections,
)
from bench.loading import open_accounts, owner_names

if TYPE_CHECKING:
    from collections.abc import Callable
    from uuid import UUID

    from eventsourcing.persistence import Cipher

    from esbank_site.bank import Bank

PLAIN = "no key"
# Deposits each bank makes in turn (see in_blocks).
BLOCK = 10
CIPHERS: dict[str, type[Cipher]] = {
    "pycryptodome": PycryptodomeCipher,
    "cryptography": CryptographyCipher,
}


def run(repetitions: int = 3) -> dict[str, Any]:
    """Both databases; then the per-call costs on the states they stored."""
    results: dict[str, Any] = {}
    states: list[bytes] = []
    for engine in ("postgres", "sqlite"):
        results[engine], engine_states = _run_engine(engine, repetitions)
        states += engine_states
    results["per_call"] = per_call(states, repetitions)
    return results


def deposits(
    bank: Bank, ids: list[UUID], operations: int, start: int = 0
) -> tuple[float, float]:
    """Seconds, and this process's CPU seconds, for keyed deposits.

    Each under its own request's provenance, into ``ids`` round-robin from
    ``start``, so every account takes its share (and its snapshots)
    whatever the blocks.
    """
    started, cpu = time.perf_counter(), time.process_time()
    for number in range(start, start + operations):
        request = Provenance(actor=f"owner{number % 100}", correlation_id=uuid4().hex)
        with acting_as(request):
            bank.accounts.deposit(
                ids[number % len(ids)], "1.00", idempotency_key=str(uuid4())
            )
    return time.perf_counter() - started, time.process_time() - cpu


def in_blocks(
    banks: dict[str, Bank],
    ids: dict[str, list[UUID]],
    repetitions: int,
    operations: int,
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Deposits per second of each bank, per repetition, taken in blocks.

    Each repetition runs ``operations`` deposits per bank in blocks of
    ``BLOCK``, the banks' blocks in a rotating order, and adds up each bank's
    time: the three share the same seconds of a noisy machine, a burst of
    load elsewhere falls on all of them, and their ratio is the cipher's.
    Also this process's CPU milliseconds per deposit, which other work on
    the machine disturbs less (with SQLite, nearly all of a deposit's work).
    """
    names = list(banks)
    rates: dict[str, list[float]] = {name: [] for name in names}
    cpu_ms: dict[str, list[float]] = {name: [] for name in names}
    position, done = 0, operations // BLOCK * BLOCK
    for repetition in range(repetitions):
        seconds = dict.fromkeys(names, 0.0)
        cpu = dict.fromkeys(names, 0.0)
        for block in range(operations // BLOCK):
            shift = (repetition + block) % len(names)
            for name in names[shift:] + names[:shift]:
                wall, used = deposits(banks[name], ids[name], BLOCK, position)
                seconds[name] += wall
                cpu[name] += used
            position += BLOCK
        for name in names:
            rates[name].append(rate(done, seconds[name]))
            cpu_ms[name].append(cpu[name] / done * 1000)
    return rates, cpu_ms


def _run_engine(engine: str, repetitions: int) -> tuple[dict[str, Any], list[bytes]]:
    operations = sized(150, 30)
    account_count = sized(200, 50)
    key = CryptographyCipher.create_key(32)
    variants: dict[str, dict[str, str]] = {PLAIN: {}} | {
        name: {"CIPHER_TOPIC": get_topic(cipher), "CIPHER_KEY": key}
        for name, cipher in CIPHERS.items()
    }
    if engine == "postgres":
        # Three banks, each with pools for Accounts, its followers and the
        # accounts list: wait for room on the shared server first.
        wait_for_connections(20)
    with ExitStack() as stack:
        banks: dict[str, Bank] = {}
        ids: dict[str, list[UUID]] = {}
        for number, (name, overrides) in enumerate(variants.items()):
            database = stack.enter_context(database_of(engine, f"encryption_{number}"))
            bank = stack.enter_context(
                running_bank(database, process_inline=True, **overrides)
            )
            banks[name] = bank
            ids[name] = open_accounts(bank.accounts, account_count, owner_names(100))
            # The followers take in the openings before anything is timed.
            bank.wait_until_processed(timeout=300)
        results, cpu_ms = in_blocks(banks, ids, repetitions, operations)
        calls = {
            name: _cipher_calls(
                partial(deposits, banks[name], ids[name], 20), 20, CIPHERS[name]
            )
            for name in CIPHERS
        }
        states = _plain_states(banks[PLAIN])
    rates = {name: Spread.of(v).as_dict() for name, v in results.items()}
    ratios = {
        name: paired_ratios(results[name], results[PLAIN]).as_dict() for name in CIPHERS
    }
    ratios["cryptography vs pycryptodome"] = paired_ratios(
        results["cryptography"], results["pycryptodome"]
    ).as_dict()
    cpu = {name: Spread.of(v).as_dict() for name, v in cpu_ms.items()}
    cpu_ratios = {
        name: paired_ratios(cpu_ms[name], cpu_ms[PLAIN]).as_dict() for name in CIPHERS
    }
    log(
        f"encryption ({engine}): deposits/s "
        + ", ".join(f"{n} {r['median']:,.0f}" for n, r in rates.items())
        + "; with key / without: "
        + ", ".join(f"{n} {ratios[n]['median']:.2f}" for n in CIPHERS)
        + "; CPU with key / without: "
        + ", ".join(f"{n} {cpu_ratios[n]['median']:.3f}" for n in CIPHERS)
        + f"; per deposit: {calls['cryptography']}"
    )
    return {
        "operations": operations,
        "accounts": account_count,
        "rates": rates,
        "with_key_vs_without": ratios,
        "cpu_ms_per_deposit": cpu,
        "cpu_with_key_vs_without": cpu_ratios,
        "calls_per_deposit": calls["cryptography"],
    }, states


def _cipher_calls(
    work: Callable[[], object], operations: int, cipher: type[Cipher]
) -> dict[str, float]:
    """Encrypts and decrypts per operation of ``work``, counted on the class.

    Counted on the class, not on one mapper, so the accounts list's sealed
    rows count too.
    """
    counts = {"encrypt": 0, "decrypt": 0}
    originals = {name: getattr(cipher, name) for name in counts}

    def counting(name: str) -> Callable[..., bytes]:
        def call(self: Cipher, data: bytes) -> bytes:
            counts[name] += 1
            return originals[name](self, data)

        return call

    try:
        for name in counts:
            setattr(cipher, name, counting(name))
        work()
    finally:
        for name, original in originals.items():
            setattr(cipher, name, original)
    return {name: count / operations for name, count in counts.items()}


def _plain_states(bank: Bank) -> list[bytes]:
    """The stored state of every event of the bank without a key."""
    states: list[bytes] = []
    for app in [bank.accounts, *bank.followers.values()]:
        position = 0
        while page := app.recorder.select_notifications(
            position, 1_000, inclusive_of_start=False
        ):
            states += [bytes(n.state) for n in page]
            position = page[-1].id
    return states


def per_call(states: list[bytes], repetitions: int) -> dict[str, Any]:
    """Microseconds per encrypt and per decrypt of ``states``, each cipher."""
    key = CryptographyCipher.create_key(32)
    env = Environment(env={"CIPHER_KEY": key})
    ciphers = {name: cipher(env) for name, cipher in CIPHERS.items()}
    sealed = {name: [c.encrypt(s) for s in states] for name, c in ciphers.items()}

    def encrypting(cipher: Cipher) -> float:
        started = time.perf_counter()
        for state in states:
            cipher.encrypt(state)
        return (time.perf_counter() - started) / len(states) * 1e6

    def decrypting(cipher: Cipher, texts: list[bytes]) -> float:
        started = time.perf_counter()
        for text in texts:
            cipher.decrypt(text)
        return (time.perf_counter() - started) / len(texts) * 1e6

    runs: dict[str, Callable[[], float]] = {}
    for name, cipher in ciphers.items():
        runs[f"{name} encrypt"] = partial(encrypting, cipher)
        runs[f"{name} decrypt"] = partial(decrypting, cipher, sealed[name])
    micro = interleaved(runs, repetitions)
    figures = {name: Spread.of(v).as_dict() for name, v in micro.items()}
    log(
        f"encryption per call over {len(states):,} states: "
        + ", ".join(f"{n} {f['median']:.1f} us" for n, f in figures.items())
    )
    return {
        "states": len(states),
        "mean_state_bytes": statistics.mean(len(s) for s in states),
        "microseconds": figures,
        "cryptography_vs_pycryptodome": {
            step: paired_ratios(
                micro[f"cryptography {step}"], micro[f"pycryptodome {step}"]
            ).as_dict()
            for step in ("encrypt", "decrypt")
        },
    }
