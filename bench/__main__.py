"""``python -m bench``: run every benchmark, then write docs/BENCHMARKS.md.

``--only NAME`` runs some sections (and leaves the report alone unless
``--report``); ``--from-results FILE`` rewrites the report from a previous
run's results without measuring anything. ESBANK_BENCH_QUICK=1 runs the
same code on small sizes, for development.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

from bench import (
    batching,
    catchup,
    commits,
    encryption,
    followers,
    inserts,
    metadata,
    pages,
    reads,
    report,
    scaling,
    web,
)
from bench.common import QUICK, admin_connection, log

SECTIONS = {
    "commits": lambda: commits.run(3),
    "db_functions": lambda: commits.run_db_functions(3),
    "metadata": lambda: metadata.run(3),
    "inserts": lambda: inserts.run(3),
    "encryption": lambda: encryption.run(5),
    "reads": lambda: reads.run(5),
    "web": lambda: web.run(3),
    "pages": lambda: pages.run(3),
    "catchup": catchup.run,
    "batching": lambda: batching.run(3),
    "followers": lambda: followers.run(5),
    "scaling": lambda: scaling.run(5),
}
RESULTS = Path(tempfile.gettempdir()) / "esbank-bench" / "results.json"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--only", action="append", choices=list(SECTIONS))
    parser.add_argument("--from-results", type=Path)
    parser.add_argument("--report", action="store_true")
    options = parser.parse_args()
    if options.from_results:
        results = json.loads(options.from_results.read_text())
    else:
        results = {"machine": machine(), "quick": QUICK, "sections": {}, "failed": {}}
        started = time.monotonic()
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        for name in options.only or SECTIONS:
            log(f"{name}: starting")
            section_started = time.monotonic()
            try:
                results["sections"][name] = SECTIONS[name]()
            except Exception as error:  # noqa: BLE001 (report it, run the rest)
                log(f"{name} failed: {error!r}")
                traceback.print_exc()
                results["failed"][name] = repr(error)
            else:
                results["sections"][name]["elapsed"] = (
                    time.monotonic() - section_started
                )
            results["elapsed"] = time.monotonic() - started
            # Saved after every section: a later failure loses nothing.
            RESULTS.write_text(json.dumps(results, indent=1, default=str))
        log(f"results in {RESULTS}")
    if options.from_results or options.report or not options.only:
        written = report.write(results)
        log(f"wrote {', '.join(str(p) for p in written)}")


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    with admin_connection() as admin:
        row = admin.execute("SHOW server_version").fetchone()
        settings = {
            name: admin.execute(f"SHOW {name}").fetchone()[0]  # type: ignore[index]
            for name in ("synchronous_commit", "fsync", "max_connections")
        }
    from importlib.metadata import version  # noqa: PLC0415

    return {
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "load_average": os.getloadavg(),
        "python": platform.python_version(),
        "postgresql": row[0] if row else "unknown",
        "postgresql_settings": settings,
        "sqlite": sqlite3.sqlite_version,
        "eventsourcing": version("eventsourcing"),
        "django": version("django"),
        "gunicorn": version("gunicorn"),
        "platform": platform.platform(),
        "argv": sys.argv,
    }


if __name__ == "__main__":
    main()
