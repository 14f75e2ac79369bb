"""A person at a real Chromium: logging in, and telling a swap from a reload."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from playwright.sync_api import Page

# The password of every user the browser tests create.
PASSWORD = "correct-horse-battery"


def log_in(page: Page, base_url: str, username: str) -> None:
    """Log in through the login form, as a person would."""
    page.goto(f"{base_url}/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{base_url}/")


def mark_page(page: Page) -> None:
    """Leave a mark in the page's window; a reload would wipe it."""
    page.evaluate("window.__notReloaded = true")


def was_not_reloaded(page: Page) -> bool:
    return bool(page.evaluate("window.__notReloaded === true"))
