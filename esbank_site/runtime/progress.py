"""A one-line progress bar for management commands on long work."""

from __future__ import annotations


def progress_bar(done: int, total: int, width: int = 30) -> str:
    """E.g. ``[###############---------------]  50% 500/1000``."""
    total = max(total, done, 1)
    filled = width * done // total
    percent = 100 * done // total
    return f"[{'#' * filled}{'-' * (width - filled)}] {percent:>3}% {done}/{total}"
