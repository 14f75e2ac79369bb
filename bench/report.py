# ruff: noqa: E501 (markdown rows and long labels read better on one line)
"""docs/BENCHMARKS.md and its plots, from one run's results."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import matplotlib as mpl

mpl.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.ticker import LogLocator, NullFormatter

from esbank_site.runtime.workers import DEFAULTS

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PLOTS = DOCS / "benchmarks"
MARKDOWN = DOCS / "BENCHMARKS.md"


def fmt(spread: dict[str, float] | None, digits: int = 2) -> str:
    """``median (low-high)``."""
    if not spread or math.isnan(spread["median"]):
        return "n/a"
    return (
        f"{spread['median']:,.{digits}f} "
        f"({spread['low']:,.{digits}f}-{spread['high']:,.{digits}f})"
    )


def verdict(met: bool | None) -> str:
    if met is None:
        return "not measured"
    return "**met**" if met else "**missed**"


def at_least(spread: dict[str, float] | None, target: float) -> bool | None:
    if not spread or math.isnan(spread["median"]):
        return None
    return spread["median"] >= target


def at_most(spread: dict[str, float] | None, target: float) -> bool | None:
    if not spread or math.isnan(spread["median"]):
        return None
    return spread["median"] <= target


def write(results: dict[str, Any]) -> list[Path]:
    PLOTS.mkdir(parents=True, exist_ok=True)
    sections = results["sections"]
    lines: list[str] = []
    targets: list[tuple[str, str, str, bool | None]] = []
    plots: list[Path] = []
    body: list[str] = []
    for name, writer in (
        ("web", _write_path),
        ("reads", _reads),
        ("pages", _pages),
        ("web", _followers),
        ("web", _follower_cpu),
        ("catchup", _catchup),
        ("commits", _commits),
        ("metadata", _metadata),
        ("encryption", _encryption),
        ("scaling", _scaling),
    ):
        if name in sections:
            text, found, drawn = writer(sections[name], sections)
            body += text
            targets += found
            plots += drawn
    lines += _header(results)
    for name, error in results.get("failed", {}).items():
        lines += [f"**The {name} section failed in this run** (`{error}`).", ""]
    lines += ["## Targets", ""]
    lines += ["| figure | target | measured: median (min-max) | |", "|---|---|---|---|"]
    lines += [
        f"| {f} | {t} | {m} | {'no target' if t == 'reported' else verdict(ok)} |"
        for f, t, m, ok in targets
    ]
    lines += [""]
    lines += body
    lines += _levers(sections)
    lines += _closing(targets)
    MARKDOWN.write_text("\n".join(lines) + "\n")
    return [MARKDOWN, *plots]


def _header(results: dict[str, Any]) -> list[str]:
    m = results["machine"]
    quick = (
        " (quick run: small sizes, not the real figures)" if results["quick"] else ""
    )
    return [
        "# Benchmarks",
        "",
        "Written by `make bench` (`python -m bench`), which builds its own "
        "databases, measures, drops them and rewrites this page and "
        "`docs/benchmarks/*.png`. Do not edit by hand.",
        "",
        "These machines are shared and noisy (a fixed CPU loop varies about "
        "1.6x), so every figure is a ratio of two things measured in the same "
        "run, interleaved (each repetition runs every variant once, in a "
        "rotating order), over several repetitions, and reported as "
        "**median (min-max)** of the per-repetition ratios. Absolute rates "
        "are shown for orientation only. Nothing here is a test.",
        "",
        f"Measured {m['date']}{quick}: {m['cpu']}, {m['cores']} cores "
        f"(load average at start {', '.join(f'{x:.1f}' for x in m['load_average'])}), "
        f"PostgreSQL {m['postgresql']} on loopback "
        f"(synchronous_commit={m['postgresql_settings']['synchronous_commit']}, "
        f"fsync={m['postgresql_settings']['fsync']}), SQLite {m['sqlite']} "
        f"(WAL, synchronous=FULL), Python {m['python']}, eventsourcing "
        f"{m['eventsourcing']}, Django {m['django']}, gunicorn {m['gunicorn']}. "
        f"The whole run took {results.get('elapsed', 0) / 60:.1f} minutes.",
        "",
    ]


# 1. The write path.


def _write_path(
    web: dict[str, Any], _: dict[str, Any]
) -> tuple[list[str], list[Any], list[Path]]:
    w = web["write_path"]
    clients = sorted({int(k.split()[1]) for k in w["figures"]})
    lines = [
        "## 1. Write path against the conventional way",
        "",
        f"HTTP deposits and transfers (htmx form posts with idempotency tokens, "
        f"signed-in customers, {w['seconds']:.1f} s per measurement) under gunicorn "
        f"({w['workers']} sync workers, as `make serve`) on PostgreSQL, with "
        "`run_processors` following the event-sourced bank beside it. The "
        "conventional bank (`bench/conventional/`: a balance column updated "
        "under `select_for_update`, a row per movement, the same forms, "
        "tokens, templates and middleware) is served by the same processes "
        "from the same database. Transfers go from one of the client's "
        "accounts to any account in the bank. The fragment ceiling "
        "(`bench/ceiling.py`) is the event-sourced deposit's request sent "
        "to a view served by the same processes: the same middleware, "
        "form parsing (token included) and response fragment, rendered "
        "from an account made in memory, with no bank read or write; it is "
        "as fast as this web path can answer a deposit. The raw commit (one "
        "thread of psycopg INSERT+COMMIT on the same database) is shown for "
        "orientation only.",
        "",
        "| command | clients | event-sourced req/s | conventional req/s | ES / conventional | ES / fragment ceiling |",
        "|---|---|---|---|---|---|",
    ]
    targets = []
    for command in ("deposit", "transfer"):
        for n in clients:
            f = w["figures"][f"{command} {n}"]
            lines.append(
                f"| {command} | {n} | {fmt(f['es'], 0)} | {fmt(f['conventional'], 0)} "
                f"| {fmt(f['es_vs_conventional'])} | {fmt(f.get('es_vs_ceiling'))} |"
            )
            targets.append(
                (
                    f"1. {command}, {n} client{'s' if n > 1 else ''}: ES / conventional",
                    ">= 1.0x",
                    fmt(f["es_vs_conventional"]),
                    at_least(f["es_vs_conventional"], 1.0),
                )
            )
    paused = [
        f"{n} client{'s' if n > 1 else ''}: {fmt(w['figures'][f'deposit {n}']['es_paused'], 0)} req/s, "
        f"{fmt(w['figures'][f'deposit {n}']['es_paused_vs_conventional'])}x the conventional bank"
        for n in clients
        if "es_paused" in w["figures"][f"deposit {n}"]
    ]
    if paused:
        lines += [
            "",
            "What the followers cost here: event-sourced deposits with `run_processors` "
            "stopped for the measurement (it catches up before the next one): "
            + "; ".join(paused)
            + ".",
        ]
    if "ceiling" in w["figures"][f"deposit {clients[0]}"]:
        lines += _ceiling_table(w, clients, targets)
    if "latency" in w:
        lines += _tail_latency(w["latency"], targets)
    raw_threads = ", ".join(
        f"{n} threads {fmt(s, 0)}/s" for n, s in w["raw_threads"].items()
    )
    lines += [
        "",
        f"Raw commit, one thread: {fmt(w['raw'], 0)}/s; {raw_threads}.",
        "",
        "Responses by status (all repetitions): "
        + "; ".join(
            f"{name}: {', '.join(f'{s}: {c}' for s, c in sorted(st.items()))}"
            for name, st in w["statuses"].items()
        ),
        "",
        "![throughput vs clients](benchmarks/write_path.png)",
        "",
    ]
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    for ax, command in zip(axes, ("deposit", "transfer"), strict=True):
        for bank, label, colour in (
            ("es", "event-sourced", "tab:blue"),
            ("conventional", "conventional", "tab:orange"),
        ):
            spreads = [w["figures"][f"{command} {n}"][bank] for n in clients]
            _errorbar(ax, clients, spreads, label, colour=colour)
        if command == "deposit" and all(
            "es_paused" in w["figures"][f"deposit {n}"] for n in clients
        ):
            paused_spreads = [
                w["figures"][f"deposit {n}"]["es_paused"] for n in clients
            ]
            _errorbar(
                ax,
                clients,
                paused_spreads,
                "event-sourced, followers stopped",
                style=":o",
            )
        if command == "deposit" and all(
            "ceiling" in w["figures"][f"deposit {n}"] for n in clients
        ):
            _errorbar(
                ax,
                clients,
                [w["figures"][f"deposit {n}"]["ceiling"] for n in clients],
                "fragment ceiling (no bank)",
                style="-.s",
                colour="tab:green",
            )
        raw = [w["raw"]] + [
            w["raw_threads"][str(n)]
            if str(n) in w["raw_threads"]
            else w["raw_threads"][n]
            for n in clients[1:]
        ]
        _errorbar(
            ax,
            clients,
            raw,
            "raw commit (threads = clients)",
            style="--",
            colour="tab:red",
        )
        ax.set_yscale("log")
        ax.set_title(f"HTTP {command}s, PostgreSQL")
        ax.set_xlabel("clients")
        ax.set_xticks(clients)
    axes[0].set_ylabel("requests (or commits) per second, log scale")
    axes[0].legend(fontsize=8)
    paths = [_save(fig, "write_path.png")]
    if "latency" in w:
        paths.append(_latency_plot(w["latency"]))
    if "write_path_sqlite" in web:
        lines += _write_path_sqlite(web["write_path_sqlite"], targets)
    return lines, targets, paths


def _ceiling_table(
    w: dict[str, Any], clients: list[int], targets: list[Any]
) -> list[str]:
    """Deposits against the fragment ceiling; the target at 4 and 8 clients."""
    lines = [
        "",
        "Deposits against the fragment ceiling, measured in the same repetitions:",
        "",
        "| clients | ceiling req/s | ES / ceiling | conventional / ceiling |",
        "|---|---|---|---|",
    ]
    for n in clients:
        f = w["figures"][f"deposit {n}"]
        lines.append(
            f"| {n} | {fmt(f['ceiling'], 0)} | {fmt(f['es_vs_ceiling'])} "
            f"| {fmt(f['conventional_vs_ceiling'])} |"
        )
        if n > 1:
            targets.append(
                (
                    f"1. ES deposits / fragment ceiling, {n} clients",
                    ">= 0.7x",
                    fmt(f["es_vs_ceiling"]),
                    at_least(f["es_vs_ceiling"], 0.7),
                )
            )
    return lines


def _tail_latency(t: dict[str, Any], targets: list[Any]) -> list[str]:
    """Deposit latency percentiles at 8 clients; ES p99 over conventional p99."""
    names = {
        "es": "event-sourced",
        "conventional": "conventional",
        "ceiling": "fragment ceiling",
    }
    lines = [
        "",
        f"Tail latency: every deposit's time from sending its request to its "
        f"whole answer, at {t['clients']} clients, in the measurements above. "
        "Each percentile is taken in each repetition (nearest rank), then "
        "summarised over the repetitions: median (min-max), in ms.",
        "",
        "| deposits | requests | p50 ms | p95 ms | p99 ms |",
        "|---|---|---|---|---|",
    ]
    for bank, label in names.items():
        p = t["percentiles_ms"][bank]
        lines.append(
            f"| {label} | {t['requests'][bank]:,} | {fmt(p['p50'], 1)} "
            f"| {fmt(p['p95'], 1)} | {fmt(p['p99'], 1)} |"
        )
    ratio = t["p99_es_vs_conventional"]
    lines += [
        "",
        f"ES p99 / conventional p99, per repetition: {fmt(ratio)}. The plot "
        "shows every repetition's deposits together; a dotted line marks "
        "each bank's p99 (the median of the repetitions').",
        "",
        "![deposit latency distribution](benchmarks/latency.png)",
    ]
    targets.append(
        (
            f"1. ES p99 / conventional p99, deposits, {t['clients']} clients",
            "<= 1.0x",
            fmt(ratio),
            at_most(ratio, 1.0),
        )
    )
    return lines


def _latency_plot(t: dict[str, Any]) -> Path:
    """The deposit latency distributions at 8 clients, as CDFs (log time)."""
    fig, ax = plt.subplots(figsize=(7, 4))
    for bank, label, colour in (
        ("es", "event-sourced", "tab:blue"),
        ("conventional", "conventional", "tab:orange"),
    ):
        samples = t["samples_ms"][bank]
        if not samples:
            continue
        n = len(samples)
        ax.step(
            samples,
            [(i + 1) / n for i in range(n)],
            where="post",
            label=f"{label} ({n:,} deposits)",
            color=colour,
        )
        p99 = t["percentiles_ms"][bank]["p99"]["median"]
        ax.axvline(p99, color=colour, linestyle=":", linewidth=1)
    ax.axhline(0.99, color="grey", linestyle=":", linewidth=1, label="p99")
    ax.set_xscale("log")
    ax.xaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
    ax.xaxis.set_major_formatter(plt.FuncFormatter(lambda value, _: f"{value:g}"))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("latency, ms (log scale; all repetitions; dotted: median p99)")
    ax.set_ylabel("fraction of deposits at or under")
    ax.set_title(f"HTTP deposit latency, {t['clients']} clients, PostgreSQL")
    ax.legend(fontsize=8)
    return _save(fig, "latency.png")


def _write_path_sqlite(s: dict[str, Any], targets: list[Any]) -> list[str]:
    """Both banks on one SQLite file, served as `make run` serves the site."""
    clients = sorted({int(k.split()[1]) for k in s["figures"]})
    lines = [
        "### On SQLite, as `make run` serves it",
        "",
        "The same requests (fewer customers) with both banks on one SQLite "
        "file, served by `manage.py runserver` with `make run`'s settings: "
        "DEBUG on, one process, a thread per request, and the event-sourced "
        "bank's followers in that process (inline after each commit, and on "
        f"a 2-second timer). {s['seconds']:.1f} s per measurement, interleaved.",
        "",
        "| command | clients | event-sourced req/s | conventional req/s | ES / conventional |",
        "|---|---|---|---|---|",
    ]
    for command in ("deposit", "transfer"):
        for n in clients:
            f = s["figures"][f"{command} {n}"]
            lines.append(
                f"| {command} | {n} | {fmt(f['es'], 0)} | {fmt(f['conventional'], 0)} "
                f"| {fmt(f['es_vs_conventional'])} |"
            )
            targets.append(
                (
                    f"1. {command}, {n} client{'s' if n > 1 else ''}, SQLite: ES / conventional",
                    ">= 1.0x",
                    fmt(f["es_vs_conventional"]),
                    at_least(f["es_vs_conventional"], 1.0),
                )
            )
    lines += [
        "",
        "Responses by status (all repetitions): "
        + "; ".join(
            f"{name}: {', '.join(f'{st}: {c}' for st, c in sorted(by.items()))}"
            for name, by in s["statuses"].items()
        ),
        "",
    ]
    return lines


# 2. Reads.


def _reads(
    reads: dict[str, Any], sections: dict[str, Any]
) -> tuple[list[str], list[Any], list[Path]]:
    lines = [
        "## 2. Reads that do not grow with history",
        "",
        "`Accounts.get_account` of an account with 10, 1,000 and 10,000 events, "
        "in this process (median of each repetition's calls), and the account "
        "page over HTTP. The site snapshots accounts every 50 events: the "
        "10,000-event account ends on a snapshot, so the worst case (49 events "
        "after one) is shown too. The site also keeps accounts in the "
        "library's aggregate cache, with fast-forward (one query for newer "
        "events on every get); without it, a get reads the latest snapshot "
        "and every event after it.",
        "",
        "| database | variant | 1,000 / 10 | longest / 10 | latency at 10 (ms) | latency at longest (ms) |",
        "|---|---|---|---|---|---|",
    ]
    targets = []
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, engine in zip(axes, ("postgres", "sqlite"), strict=True):
        r = reads[engine]
        hs = r["histories"]
        longest = hs[-1]
        for variant, key in (
            ("site (aggregate cache, snapshots every 50)", "site"),
            ("no cache (snapshots every 50)", "no cache"),
            ("no cache, no snapshots", "no snapshots"),
        ):
            ratios = r["ratios"][key]
            lines.append(
                f"| {engine} | {variant} | {fmt(ratios[str(hs[1])] if str(hs[1]) in ratios else ratios[hs[1]])} "
                f"| {fmt(ratios[str(longest)] if str(longest) in ratios else ratios[longest])} "
                f"| {fmt(r['latency_ms'][f'{key} {hs[0]}'], 3)} | {fmt(r['latency_ms'][f'{key} {longest}'], 3)} |"
            )
            _errorbar(ax, hs, [r["latency_ms"][f"{key} {h}"] for h in hs], variant)
        worst_latency = r["latency_ms"][f"site {r['worst']}"]
        lines.append(
            f"| {engine} | site, worst case ({r['worst']:,} events) | | {fmt(r['ratios']['site worst'])} "
            f"| | {fmt(worst_latency, 3)} |"
        )
        if "no cache worst" in r["ratios"]:
            no_cache_worst = r["latency_ms"][f"no cache {r['worst']}"]
            lines.append(
                f"| {engine} | no cache, worst case | | {fmt(r['ratios']['no cache worst'])} "
                f"| | {fmt(no_cache_worst, 3)} |"
            )
        site_ratio = r["ratios"]["site"]
        longest_ratio = (
            site_ratio[str(longest)]
            if str(longest) in site_ratio
            else site_ratio[longest]
        )
        targets.append(
            (
                f"2. get {longest:,} / 10 events, {engine}",
                "<= 1.3x",
                fmt(longest_ratio),
                at_most(longest_ratio, 1.3),
            )
        )
        targets.append(
            (
                f"2. get worst case / 10 events, {engine}",
                "<= 1.3x",
                fmt(r["ratios"]["site worst"]),
                at_most(r["ratios"]["site worst"], 1.3),
            )
        )
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(f"get latency, {engine}")
        ax.set_xlabel("events in the account's history")
        ax.set_ylabel("ms")
        ax.legend(fontsize=8)
    paths = [_save(fig, "get_latency.png")]
    if "web" in sections:
        p = sections["web"]["account_pages"]
        lengths = sorted(p["latency_ms"], key=int)
        lines += [
            "",
            "Account page over HTTP (PostgreSQL, one client):",
            "",
            "| events | latency (ms) | / 10 events |",
            "|---|---|---|",
        ]
        for length in lengths:
            ratio = p["ratios"].get(length)
            lines.append(
                f"| {int(length):,} | {fmt(p['latency_ms'][length], 1)} | {fmt(ratio) if ratio else '1'} |"
            )
        longest = lengths[-1]
        targets.append(
            (
                f"2. account page {int(longest):,} / 10 events, postgres",
                "<= 1.3x",
                fmt(p["ratios"][longest]),
                at_most(p["ratios"][longest], 1.3),
            )
        )
    lines += ["", "![get latency vs history](benchmarks/get_latency.png)", ""]
    return lines, targets, paths


# 3. Pages.


def _pages(
    p: dict[str, Any], _: dict[str, Any]
) -> tuple[list[str], list[Any], list[Path]]:
    sizes = p["sizes"]
    lines = [
        "## 3. Pages that do not grow with the bank",
        "",
        "The staff dashboard (`/`) and the accounts list (`/accounts/panel/`, "
        "htmx) of banks with "
        + ", ".join(f"{s:,}" for s in sizes)
        + " accounts: three databases, each served by its own gunicorn (one "
        "sync worker), requested in turn, one request at a time. The banks "
        "are built in bulk with the followers off, then the read models "
        "catch up (durability off while building only); the same 1,000 "
        "deposits sit on the first 100 accounts at every size. Worker memory "
        "is the resident set size of each worker after its pages.",
        "",
        "| page | "
        + " | ".join(f"{s:,} accounts (ms)" for s in sizes)
        + f" | {sizes[-1]:,} / {sizes[0]:,} |",
        "|---|" + "---|" * (len(sizes) + 1),
    ]
    targets = []
    fig, ax = plt.subplots(figsize=(6, 4))
    for page in ("dashboard", "accounts list"):
        ratio = p["ratios"][f"{page} {sizes[-1]}"]
        lines.append(
            f"| {page} | "
            + " | ".join(fmt(p["latency_ms"][f"{page} {s}"], 1) for s in sizes)
            + f" | {fmt(ratio)} |"
        )
        targets.append(
            (
                f"3. {page}, {sizes[-1]:,} / {sizes[0]:,} accounts",
                "<= 1.5x",
                fmt(ratio),
                at_most(ratio, 1.5),
            )
        )
        _errorbar(ax, sizes, [p["latency_ms"][f"{page} {s}"] for s in sizes], page)
    rss = p["ratios"]["rss"]
    lines.append(
        "| worker RSS (MiB) | "
        + " | ".join(
            fmt(p["rss_mib"][str(s)] if str(s) in p["rss_mib"] else p["rss_mib"][s], 1)
            for s in sizes
        )
        + f" | {fmt(rss)} |"
    )
    targets.append(
        (
            f"3. worker RSS, {sizes[-1]:,} / {sizes[0]:,} accounts",
            "<= 1.2x",
            fmt(rss),
            at_most(rss, 1.2),
        )
    )
    build = ", ".join(
        f"{int(s):,}: {v['catch_up_seconds']:.0f} s" for s, v in p["setup"].items()
    )
    lines += [
        "",
        f"Read-model catch-up while building (durability off): {build}.",
        "",
        "![page latency vs accounts](benchmarks/page_latency.png)",
        "",
    ]
    ax.set_xscale("log")
    ax.set_xlabel("accounts in the bank")
    ax.set_ylabel("ms per page")
    ax.set_ylim(bottom=0)
    ax.set_title("page latency, PostgreSQL")
    ax.legend(fontsize=8)
    return lines, targets, [_save(fig, "page_latency.png")]


# 4. Followers under load.


def _followers(
    web: dict[str, Any], _: dict[str, Any]
) -> tuple[list[str], list[Any], list[Path]]:
    f = web["followers"]
    lines = [
        "## 4. Followers keep up",
        "",
        f"8 clients deposit over HTTP for {f['load_seconds']:.1f} s "
        f"({f['requests_per_second']:.0f} requests/s; every deposit records "
        f"two events, the money and its idempotency receipt: "
        f"{f['write_rate']:.0f} events/s), while `run_processors` follows. A "
        "processor's pace is what it processed during that load over what was "
        "written during it (just under 1 when it keeps up: the last instant's "
        "events are in flight when the load stops). Then the same load again, "
        "with `run_processors` stopped at its start and started a third of the "
        "way in: a processor's throughput is its processing rate from its "
        "first step until it is back within one pull (100) of the head, over "
        "the write rate. Lag is the leader's head minus its position, sampled "
        "every 0.1 s.",
        "",
        "| processor | pace: processed / written during the steady load | most lag during it | lag when it stopped | throughput while catching up under the second load, events/s | / write rate |",
        "|---|---|---|---|---|---|",
    ]
    targets = []
    for name, pace in f["processors"].items():
        start, end = f["load_window"]
        lags = [s["lag"][name] for s in f["samples"] if start <= s["t"] <= end]
        rate = pace.get("catch_up_rate")
        ratio = pace.get("throughput_vs_write_rate")
        lines.append(
            f"| {name} | {pace['vs_write_rate']:.3f} | "
            f"{max(lags, default=0)} | {pace['lag_at_stop']} | "
            f"{'n/a' if rate is None else f'{rate:,.0f}'} | "
            f"{'n/a' if ratio is None else f'{ratio:.1f}'} |"
        )
        targets.append(
            (
                f"4. {name} throughput / write rate (8 clients)",
                ">= 1.0x",
                "n/a" if ratio is None else f"{ratio:.1f}",
                ratio is not None and ratio >= 1.0,
            )
        )
    if f.get("processors_exit_code") is not None:
        lines += [
            "",
            f"**run_processors had exited (code {f['processors_exit_code']}) by the end of this figure.**",
        ]
    if f.get("processor_failures"):
        lines += ["", "run_processors logged failures during this run (last ones):", ""]
        lines += [f"    {line}" for line in f["processor_failures"]]
    drained = f["drained_seconds"]
    lines += [
        "",
        f"Back to lag 0 {drained:.2f} s after the load stopped."
        if drained is not None
        else "Not back to lag 0 within 30 s of the load stopping.",
        "",
        "![processor lag over time](benchmarks/processor_lag.png)",
        "",
    ]
    targets.append(
        (
            "4. lag back to 0 after the load stops",
            "<= 2 s",
            "n/a" if drained is None else f"{drained:.2f} s",
            drained is not None and drained <= 2.0,
        )
    )
    fig, ax = plt.subplots(figsize=(7, 4))
    samples = f["samples"]
    for name in f["processors"]:
        ax.plot(
            [s["t"] for s in samples], [s["lag"][name] for s in samples], label=name
        )
    for n, window in enumerate([f["load_window"], f.get("paused_load_window")]):
        if window:
            label = "8 clients depositing" if n == 0 else None
            ax.axvspan(*window, alpha=0.15, color="grey", label=label)
    if len(f.get("paused_window", [])) == 2:
        stopped, restarted = f["paused_window"]
        ax.axvspan(
            stopped,
            restarted,
            alpha=0.15,
            color="red",
            label="run_processors stopping, stopped (then starting again)",
        )
    ax.set_xlabel("seconds")
    ax.set_ylabel("lag (notifications)")
    ax.set_title("processor lag under load, PostgreSQL")
    ax.legend(fontsize=8)
    return lines, targets, [_save(fig, "processor_lag.png")]


# 4. The followers' CPU under load (bench/followers.py).


def _follower_cpu(
    web: dict[str, Any], _: dict[str, Any]
) -> tuple[list[str], list[Any], list[Path]]:
    c = web.get("followers", {}).get("cpu")
    if not c:
        return [], [], []
    lines = [
        "## 4. Followers' CPU per Accounts event",
        "",
        "During the steady load above, each processor of `run_processors` "
        "(a thread each, in one process) writes after every pull the CPU "
        "its thread has used (`time.thread_time`) and the notifications it "
        "has pulled (`ESBANK_FOLLOWER_METER_DIR`, set by the benchmark "
        "only). Per Accounts event: the thread's CPU over the notifications "
        "it went through (receipts included), all of it (its waits for news "
        "and status queries too) and the part inside its pulls. The spread "
        "of the total is over the load's 1-second intervals; the whole "
        "`run_processors` process (every thread, from /proc) is shown for "
        "comparison.",
        "",
        "| processor | ms CPU per event, thread | inside pulls | pulls | mean pull (events) |",
        "|---|---|---|---|---|",
    ]

    def ms(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.3f}"

    for name, f in c["followers"].items():
        mean = f["mean_pull"]
        lines.append(
            f"| {name} | {ms(f['thread_ms_per_event'])} "
            f"| {ms(f['pulls_ms_per_event'])} | {f['pulls']} "
            f"| {'n/a' if mean is None else f'{mean:.1f}'} |"
        )
    total = c["total_ms_per_event"]
    lines += [
        f"| all three | {ms(total)} | | | |",
        "",
        f"The whole process: {ms(c['process_ms_per_event'])} ms per event; "
        f"the total by interval: {fmt(c.get('total_by_interval'), 3)} ms.",
        "",
    ]
    pulls = [
        f"{name} {f['mean_pull']:.1f}"
        for name, f in c["followers"].items()
        if f["mean_pull"] is not None
    ]
    target = c["target_ms_per_event"]
    targets = [
        (
            "4. followers' CPU per Accounts event (all three), 8 clients",
            f"<= {target} ms",
            f"{ms(total)} ms (by interval {fmt(c.get('total_by_interval'), 3)})",
            None if total is None else total <= target,
        ),
        (
            "4. mean pull under load (events per pull)",
            "reported",
            ", ".join(pulls) or "n/a",
            None,
        ),
    ]
    return lines, targets, []


# 5. Catch-up.


def _catchup(
    c: dict[str, Any], _: dict[str, Any]
) -> tuple[list[str], list[Any], list[Path]]:
    lines = [
        "## 5. Start-up and catch-up",
        "",
        f"{c['events']:,} events recorded with the followers off "
        f"({c['recorded_per_second']:,.0f} events/s in batches), then "
        "`manage.py run_processors NAME`, one process per follower, in "
        f"{c['window']:.0f}-second windows that alternate durable commits "
        "with asynchronous commits for the followers' own connections "
        f"(`PGOPTIONS=-c synchronous_commit=off`), for at most {c['time_limit']:.0f} s. "
        f"Raw commit, one thread, before and after: {fmt(c['raw_commit'], 0)}/s.",
        "",
        "| follower | durable events/s | / raw commit | asynchronous commit events/s | asynchronous / durable | all the events at the durable rate | caught up after |",
        "|---|---|---|---|---|---|---|",
    ]
    targets = []
    for name, f in c["followers"].items():
        whole = (
            f"{c['events'] / f['durable']['median']:.0f} s" if f["durable"] else "n/a"
        )
        done = (
            f"{f['caught_up_at']:.0f} s"
            if f["caught_up_at"] is not None
            else f"not within {c['time_limit']:.0f} s"
        )
        lines.append(
            f"| {name} | {fmt(f['durable'], 0)} | {fmt(f['durable_vs_raw'])} | {fmt(f['asynchronous'], 0)} "
            f"| {fmt(f['asynchronous_vs_durable'])} | {whole} | {done} |"
        )
        targets.append(
            (
                f"5. {name} catch-up, events/s (durable)",
                "reported",
                fmt(f["durable"], 0),
                None if f["durable"] is None else True,
            )
        )
    lines += ["", "![catch-up progress](benchmarks/catch_up.png)", ""]
    fig, ax = plt.subplots(figsize=(7, 4))
    samples = c["samples"]
    for name in c["followers"]:
        ax.plot(
            [s["t"] for s in samples],
            [s["processed"][name] for s in samples],
            label=name,
        )
    for window in c["windows"]:
        if window["mode"] != "durable":
            ax.axvspan(window["from"], window["to"], alpha=0.12, color="tab:green")
    ax.axhline(c["events"], color="grey", linestyle=":", label="head")
    ax.set_xlabel("seconds (shaded: asynchronous commit windows)")
    ax.set_ylabel("events processed")
    ax.set_title("followers catching up, PostgreSQL")
    ax.legend(fontsize=8)
    return lines, targets, [_save(fig, "catch_up.png")]


# Writes without HTTP (anchors) and levers.


def _commits(
    c: dict[str, Any], sections: dict[str, Any]
) -> tuple[list[str], list[Any], list[Path]]:
    lines = [
        "## Anchors: writes without HTTP",
        "",
        f"In one process, {c['postgres']['operations']} operations per "
        f"measurement over {c['postgres']['accounts']:,} accounts.",
        "",
        "| variant | PostgreSQL ops/s | / raw commit | SQLite ops/s | / raw commit |",
        "|---|---|---|---|---|",
    ]
    for name in c["postgres"]["rates"]:
        pg, sq = c["postgres"], c["sqlite"]
        lines.append(
            f"| {name} | {fmt(pg['rates'][name], 0)} | {fmt(pg['vs_raw'].get(name)) if name != 'raw commit' else '1'} "
            f"| {fmt(sq['rates'][name], 0)} | {fmt(sq['vs_raw'].get(name)) if name != 'raw commit' else '1'} |"
        )
    lines += [
        "",
        f"Bank deposit / library naive loop: PostgreSQL {fmt(c['postgres']['bank_vs_naive'])}, SQLite {fmt(c['sqlite']['bank_vs_naive'])}.",
        "",
    ]
    return lines, [], []


def _metadata(
    m: dict[str, Any], sections: dict[str, Any]
) -> tuple[list[str], list[Any], list[Path]]:
    pg, sq = m["postgres"], m["sqlite"]
    lines = [
        "## What the event metadata costs",
        "",
        "Every event stores who asked for it, the request it came from and what "
        "caused it (`accounts/provenance.py`). In one process, "
        f"{pg['operations']} keyed deposits per measurement over "
        f"{pg['accounts']:,} accounts, each under a request's provenance, by the "
        "bank's mapper and by the same mapper without the stamp "
        "(`bench/metadata.py`), interleaved. Bytes: the stored state of one "
        "`Deposited` event.",
        "",
        "| variant | PostgreSQL deposits/s | bytes per event | SQLite deposits/s | bytes per event |",
        "|---|---|---|---|---|",
    ]
    for name in pg["rates"]:
        lines.append(
            f"| {name} | {fmt(pg['rates'][name], 0)} | {pg['bytes_per_deposit_event'][name]:,.0f} "
            f"| {fmt(sq['rates'][name], 0)} | {sq['bytes_per_deposit_event'][name]:,.0f} |"
        )
    lines += [
        f"| with / without | {fmt(pg['stamped_vs_unstamped'])}x | {pg['bytes_ratio']:.2f}x "
        f"| {fmt(sq['stamped_vs_unstamped'])}x | {sq['bytes_ratio']:.2f}x |",
        "",
    ]
    return lines, [], []


def _encryption(
    e: dict[str, Any], sections: dict[str, Any]
) -> tuple[list[str], list[Any], list[Path]]:
    pg, sq, calls = e["postgres"], e["sqlite"], e["per_call"]
    us, per = calls["microseconds"], pg["calls_per_deposit"]
    lines = [
        "## What encryption at rest costs",
        "",
        "With `CIPHER_KEY` set, the state of every event, snapshot and "
        "accounts-list row is encrypted with AES-GCM. The library has two "
        "ciphers that store the same bytes (nonce, tag, ciphertext), so either "
        "reads what the other wrote: `eventsourcing.cipher:AESCipher` "
        "(pycryptodome, which the bank used) and "
        "`eventsourcing.cryptography:AESCipher` (the cryptography package, "
        "which it uses now). In one process, three banks on three databases "
        "as `make run` runs one (followers and the accounts list processed "
        "right after each commit): no key, and a key with each cipher; "
        f"{pg['operations']} keyed deposits per measurement over "
        f"{pg['accounts']:,} accounts, interleaved (`bench/encryption.py`). "
        "In process rather than over HTTP: the web layer's work is the same "
        "with and without a key, so this is where the cipher weighs most. "
        f"One deposit encrypts {pg['calls_per_deposit']['encrypt']:.0f} times "
        f"and decrypts {pg['calls_per_deposit']['decrypt']:.0f} times.",
        "",
        "Deposits per second, and this process's CPU milliseconds per "
        "deposit (less disturbed by other work on the machine; with SQLite, "
        "nearly all of a deposit's work):",
        "",
        "| variant | PostgreSQL deposits/s | / no key | CPU ms | / no key | SQLite deposits/s | / no key | CPU ms | / no key |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name in pg["rates"]:
        cells = []
        for figures in (pg, sq):
            ratio = figures["with_key_vs_without"].get(name)
            cpu_ratio = figures.get("cpu_with_key_vs_without", {}).get(name)
            cells.append(
                f"{fmt(figures['rates'][name], 0)} | {fmt(ratio) if ratio else '1'} "
                f"| {fmt(figures.get('cpu_ms_per_deposit', {}).get(name))} "
                f"| {fmt(cpu_ratio, 3) if cpu_ratio else '1'}"
            )
        lines.append(f"| {name} | {' | '.join(cells)} |")
    lines += [
        "",
        f"Per call, over the {calls['states']:,} stored event states of those "
        f"banks (mean {calls['mean_state_bytes']:,.0f} bytes), microseconds:",
        "",
        "| cipher | encrypt | decrypt |",
        "|---|---|---|",
        *(
            f"| {name} | {fmt(us[f'{name} encrypt'], 1)} | {fmt(us[f'{name} decrypt'], 1)} |"
            for name in ("pycryptodome", "cryptography")
        ),
        "",
        "Calls per deposit times microseconds per call (medians), the cipher's "
        "work in one deposit: "
        + ", ".join(
            f"{name} {(per['encrypt'] * us[f'{name} encrypt']['median'] + per['decrypt'] * us[f'{name} decrypt']['median']) / 1000:.2f} ms"
            for name in ("pycryptodome", "cryptography")
        )
        + ".",
        "",
    ]
    targets = [
        (
            f"5. ES deposits with CIPHER_KEY / without, {label}",
            ">= 0.9x",
            fmt(figures["with_key_vs_without"]["cryptography"]),
            at_least(figures["with_key_vs_without"]["cryptography"], 0.9),
        )
        for label, figures in (("PostgreSQL", pg), ("SQLite", sq))
    ]
    return lines, targets, []


def _scaling(
    s: dict[str, Any], sections: dict[str, Any]
) -> tuple[list[str], list[Any], list[Path]]:
    one, two, four = s["layouts"]
    raw, locked = "raw INSERT+COMMIT", "raw, table locked"
    lines = [
        "## One event-store table, and shards",
        "",
        "In one process on PostgreSQL, 1 to 16 writer threads, each depositing "
        f"into its own {s['accounts_per_thread']} accounts (keyed "
        "`Accounts.deposit`), for "
        f"{s['seconds']:g} s per measurement: one `Accounts` application, and the "
        "accounts split by number over 2 and 4 (`bench/sharding.py`, each with "
        "its own tables); beside them raw INSERT+COMMIT with one connection per "
        "thread, without and with the library's `LOCK TABLE` first "
        "(`bench/scaling.py`). docs/SCALING.md reads these figures.",
        "",
        f"| threads | raw ops/s | raw, table locked | {one} deposits/s | {two} | {four} "
        f"| {one} / raw | {two} / {one} | {four} / {one} |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for threads in s["threads"]:
        f = s["figures"][str(threads)]
        r = f["rates"]
        lines.append(
            f"| {threads} | {fmt(r[raw], 0)} | {fmt(r[locked], 0)} | {fmt(r[one], 0)} "
            f"| {fmt(r[two], 0)} | {fmt(r[four], 0)} | {fmt(f['vs_raw'][one])} "
            f"| {fmt(f['vs_one_application'][two])} | {fmt(f['vs_one_application'][four])} |"
        )
    lines += [
        "",
        "What each was waiting for, sampled every 10 ms while it ran (medians "
        "over the repetitions): backends waiting for the table lock; the mean "
        "time of one insert transaction (lock wait and hold); the cores this "
        "process used (one, at most, for Python's own work).",
        "",
        f"| threads | lock waiters: raw locked / {one} / {two} / {four} "
        f"| insert ms: {one} / {two} / {four} | process cores: {one} / {four} "
        f"| connections: raw / {one} / {two} / {four} |",
        "|---|---|---|---|---|",
    ]
    for threads in s["threads"]:
        f = s["figures"][str(threads)]
        w, ms, cores, held = (
            f["waiting_for_lock"],
            f["insert_ms"],
            f["process_cores"],
            f["connections"],
        )
        lines.append(
            f"| {threads} | {w[locked]['median']:.1f} / {w[one]['median']:.1f} "
            f"/ {w[two]['median']:.1f} / {w[four]['median']:.1f} "
            f"| {ms[one]['median']:.1f} / {ms[two]['median']:.1f} / {ms[four]['median']:.1f} "
            f"| {cores[one]['median']:.2f} / {cores[four]['median']:.2f} "
            f"| {held[raw]} / {held[one]} / {held[two]} / {held[four]} |"
        )
    lines += ["", f"At most {s['peak_connections']} connections at once.", ""]
    return lines, [], []


def _levers(sections: dict[str, Any]) -> list[str]:
    lines = ["## Levers", "", "| lever | measured | kept? |", "|---|---|---|"]
    if "commits" in sections:
        c = sections["commits"]
        lines += [
            f"| {lever}, deposits | PostgreSQL {fmt(c['postgres'][key])}x, SQLite {fmt(c['sqlite'][key])}x the bank {without} | yes (`Accounts`) |"
            for key, lever, without in (
                (
                    "bank_vs_no_cache",
                    "aggregate cache (fast-forward) on `Accounts`",
                    "without it",
                ),
                (
                    "bank_vs_receipt_read_first",
                    "optimistic receipts (saved with the money, read only when the store refuses them)",
                    "reading the receipt first",
                ),
                ("bank_vs_before_both", "both of these", "before them"),
            )
        ]
    if "batching" in sections:
        b = sections["batching"]
        for name, f in b["followers"].items():
            lines.append(
                f"| {name} processes each pull of up to {b['batch']} notifications in one transaction | {fmt(f['batched_vs_one_by_one'])}x one transaction per event ({fmt(f['one_by_one'], 0)} -> {fmt(f['batched'], 0)} events/s); same ledger and log at the end: {'yes' if b.get('same_outcome') else 'NO'} | yes (`ledger/batches.py`) |"
            )
    if "reads" in sections:
        r = sections["reads"]
        lines += [
            f"| aggregate cache on `Accounts`, get of {case} | PostgreSQL {fmt(r['postgres']['ratios'][ratio])}x, SQLite {fmt(r['sqlite']['ratios'][ratio])}x the latency without it | yes (`Accounts`) |"
            for ratio, case in (
                ("site vs no cache at longest", "the longest history"),
                ("site vs no cache at worst", "the worst case"),
            )
        ]
        lines.append(
            f"| snapshot every 200 events instead of 50, worst case / 10 events | PostgreSQL {fmt(r['postgres']['ratios']['every 200 worst'])}x, SQLite {fmt(r['sqlite']['ratios']['every 200 worst'])}x | no |"
        )
        ratios = r["postgres"]["ratios"]
        longest = r["postgres"]["histories"][-1]
        if "statement page" in ratios:
            for key, label, kept in (
                (
                    "statement",
                    "the whole statement (`whole_statement`, every event)",
                    "no: the page reads one page",
                ),
                (
                    "statement page",
                    f"the newest page of 20 lines (`get_recent_statement`), {longest:,} / 10 events",
                    "yes: the account page",
                ),
                (
                    "older statement page",
                    f"a page from the middle of {longest:,} events / the newest page at 10",
                    "yes: Older and Newer",
                ),
            ):
                lines.append(
                    f"| account page's statement: {label} | PostgreSQL {fmt(r['postgres']['ratios'][key])}x, SQLite {fmt(r['sqlite']['ratios'][key])}x | {kept} |"
                )
    if "db_functions" in sections:
        d = sections["db_functions"]
        lines.append(
            f"| `POSTGRES_ENABLE_DB_FUNCTIONS` (Accounts alone in its database) | {fmt(d['functions_vs_default'])}x the default insert | no: unsafe in this bank (see notes) |"
        )
    if "web" in sections:
        for gather, g in sections["web"].get("gather", {}).items():
            lines.append(
                f"| `run_processors --gather={gather}` (seconds to let commits land "
                f"before a pull), 8 clients | ES / conventional deposits "
                f"{fmt(g['es_vs_conventional'])}; back to lag 0 "
                f"{fmt(g['lag_back_to_0'])} s after | "
                f"{'default' if float(gather) == DEFAULTS.gather_seconds else ''} |"
            )
        for name, g in sections["web"]["gunicorn"].items():
            lines.append(
                f"| gunicorn {g['workers']} workers x {g['threads']} threads, pool {g['pool_size']} per application, 8 clients | ES deposit {fmt(g['es'], 0)}/s; ES / conventional {fmt(g['es_vs_conventional'])}; ES / raw {fmt(g['es_vs_raw'])} | {'make serve default' if name.startswith('3x1 pool 2') else ''} |"
            )
    lines += _encryption_levers(sections)
    lines += _follower_levers(sections)
    lines += _insert_levers(sections)
    if "catchup" in sections:
        for name, f in sections["catchup"]["followers"].items():
            measured = (
                f"{fmt(f['asynchronous_vs_durable'])}x durable"
                if f["asynchronous"]
                else "not measured: the follower caught up on every event in the "
                "durable window, before the asynchronous one began"
            )
            lines.append(
                f"| asynchronous commit for {name}'s connections | {measured} | see notes |"
            )
    lines.append("")
    return lines


def _encryption_levers(sections: dict[str, Any]) -> list[str]:
    """The cipher the bank encrypts with, against the one it used before."""
    if "encryption" not in sections:
        return []
    e = sections["encryption"]
    return [
        "| with `CIPHER_KEY`, the cryptography package's AES-GCM instead of pycryptodome's (same stored format) "
        f"| deposits PostgreSQL {fmt(e['postgres']['with_key_vs_without']['cryptography vs pycryptodome'])}x, "
        f"SQLite {fmt(e['sqlite']['with_key_vs_without']['cryptography vs pycryptodome'])}x; "
        f"encrypt {fmt(e['per_call']['cryptography_vs_pycryptodome']['encrypt'])}x, "
        f"decrypt {fmt(e['per_call']['cryptography_vs_pycryptodome']['decrypt'])}x the time per call "
        "| yes (`esbank_site/persistence/environment.py`) |"
    ]


def _follower_levers(sections: dict[str, Any]) -> list[str]:
    """Each follower lever on against off: CPU per event in catch-up."""
    if "followers" not in sections:
        return []
    f = sections["followers"]
    what = {
        "skip ignored notifications": "notifications whose events the "
        "follower ignores (receipts, index entries, a reversal's progress) "
        "not decoded",
        "snapshot from the pull": "the ledger's snapshot taken from the "
        "aggregate the pull holds, not rebuilt from the database",
        "rows of a pull read together": "the rows a pull changes read in one "
        "query (`= ANY` on PostgreSQL, `json_each` on SQLite) and written in "
        "one `executemany`, pulls of 40 as under load",
        "both": "both of these",
    }
    lines = []
    for lever, m in f["levers"].items():
        kind, _, who = lever.partition(" (")
        who = who.rstrip(")")
        same = f["same_outcome"].get(who)
        ratio = m["cpu_on_vs_off"]
        where = (
            "`esbank_site/runtime/processing.py`, `accounts/projections.py`"
            if who == "AccountsList"
            else "`ledger/batches.py`"
        )
        lines.append(
            f"| {who}: {what.get(kind, kind)} | CPU per event {fmt(ratio)}x "
            f"without it ({fmt(m['cpu_ms_per_event_off'], 3)} -> "
            f"{fmt(m['cpu_ms_per_event_on'], 3)} ms), events/s "
            f"{fmt(m['rate_on_vs_off'])}x; catching up on the same "
            f"{f['window']}-event windows in turns; same outcome: "
            f"{'yes' if same else 'NO'} | yes ({where}) |"
        )
    short = f.get("short_pulls")
    if short:
        stopping, chasing = short["LedgerStopping"], short["LedgerChasing"]

        def figures(m: dict[str, Any]) -> str:
            if m["cpu_ms_per_event"] is None or m["mean_pull"] is None:
                return "n/a"
            return (
                f"{m['cpu_ms_per_event']:.3f} ms CPU per event, "
                f"{m['mean_pull']:.0f} events per pull"
            )

        lines.append(
            "| Ledger: a pull that reaches the head stops there (the library's "
            "pulls again until one comes back empty), woken every 0.2 s while "
            f"deposits arrive | {figures(stopping)}, against {figures(chasing)} "
            "when chasing | yes (`ledger/batches.py`) |"
        )
    return lines


def _closing(targets: list[tuple[str, str, str, bool | None]]) -> list[str]:
    met = [t for t in targets if t[3] is True and t[1] != "reported"]
    missed = [t for t in targets if t[3] is False]
    unmeasured = [t for t in targets if t[3] is None and t[1] != "reported"]
    lines = ["## Closing note", ""]
    lines.append(
        f"Targets met ({len(met)}): "
        + ("; ".join(f"{t[0]} {t[2]} ({t[1]})" for t in met) or "none")
        + "."
    )
    lines.append("")
    lines.append(
        f"Targets missed ({len(missed)}): "
        + ("; ".join(f"{t[0]} {t[2]} ({t[1]})" for t in missed) or "none")
        + "."
    )
    if unmeasured:
        lines += ["", "Not measured: " + "; ".join(t[0] for t in unmeasured) + "."]
    lines.append("")
    notes = ROOT / "bench" / "NOTES.md"
    if notes.exists():
        lines += notes.read_text().splitlines()
    return lines


# Plot helpers.


def _errorbar(
    ax: Any,
    xs: list[int],
    spreads: list[dict[str, float]],
    label: str,
    *,
    style: str = "-o",
    colour: str | None = None,
) -> None:
    medians = [s["median"] for s in spreads]
    low = [s["median"] - s["low"] for s in spreads]
    high = [s["high"] - s["median"] for s in spreads]
    ax.errorbar(
        xs, medians, yerr=[low, high], fmt=style, capsize=3, label=label, color=colour
    )


def _save(fig: Any, name: str) -> Path:
    path = PLOTS / name
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def _insert_levers(sections: dict[str, Any]) -> list[str]:
    """The one-round-trip insert against the library's, by writer threads."""
    if "inserts" not in sections:
        return []
    threads = sections["inserts"]["threads"]
    before, after = "library's insert", "one round trip"
    measured = "; ".join(
        f"{count} thread{'s' if count != '1' else ''}: {fmt(t['ratio'])}x "
        f"({t['rates'][before]['median']:,.0f} -> "
        f"{t['rates'][after]['median']:,.0f} deposits/s)"
        for count, t in threads.items()
    )
    return [
        "| one-round-trip insert on PostgreSQL (BEGIN, lock, NOTIFY, INSERT, COMMIT "
        "before one sync), in-process keyed deposits | "
        f"{measured} the library's insert | yes "
        "(`esbank_site/persistence/postgres_recorders.py`) |"
    ]
