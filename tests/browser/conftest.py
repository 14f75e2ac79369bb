"""A real Chromium (Debian's package) driven by Playwright, against a live server.

Nothing here downloads a browser: the tests use the system's Chromium at
ESBANK_CHROMIUM (default /usr/bin/chromium). Without it, or without
Playwright, the tests are skipped with the reason, unless
ESBANK_TEST_BROWSER=1 (set in CI), which turns that into a failure.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.support.browser import PASSWORD, log_in
from tests.support.page_states import LONG_USERNAME, Site, build_bank

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from django.contrib.auth.models import User
    from playwright.sync_api import Browser, BrowserContext, Page

    from esbank_site.bank import Bank

CHROMIUM = os.environ.get("ESBANK_CHROMIUM", "/usr/bin/chromium")
BROWSER_REQUIRED = os.environ.get("ESBANK_TEST_BROWSER") == "1"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# The README's screenshots: written there by `make screenshots`
# (ESBANK_SCREENSHOTS=1); any other run takes them into a temporary
# directory, so the tests leave the checkout as they found it.
README_SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
SAVE_SCREENSHOTS = os.environ.get("ESBANK_SCREENSHOTS") == "1"


def unavailable(reason: str) -> None:
    """Skip, or fail where the browser tests are required."""
    if BROWSER_REQUIRED:
        pytest.fail(f"{reason} (ESBANK_TEST_BROWSER=1 requires it)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One Chromium per test module, closed before other tests run."""
    if not Path(CHROMIUM).exists():
        unavailable(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright  # noqa: PLC0415
    except ImportError:
        unavailable("Playwright is not installed (pip install -r requirements-dev.txt)")
    # Playwright's sync API keeps an event loop in this thread, which
    # Django's async-safety check takes for async code calling the ORM. Allow
    # it while the browser is open, and only then.
    allowed_before = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, args=CHROMIUM_ARGS
            )
            try:
                yield browser
            finally:
                browser.close()
    finally:
        if allowed_before is None:
            del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = allowed_before


@pytest.fixture
def new_context(browser: Browser) -> Iterator[Any]:
    """Open browser contexts (separate cookie jars); all closed afterwards."""
    contexts: list[BrowserContext] = []

    def open_context() -> BrowserContext:
        context = browser.new_context(
            viewport={"width": 1280, "height": 860}, locale="en-GB"
        )
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context

    yield open_context
    for context in contexts:
        context.close()


@pytest.fixture
def customer(django_bank: Bank, django_user_model: type[User]) -> User:
    return django_user_model.objects.create_user("alice", password=PASSWORD)


@pytest.fixture
def staff_member(django_bank: Bank, django_user_model: type[User]) -> User:
    return django_user_model.objects.create_user(
        "staff", password=PASSWORD, is_staff=True
    )


@pytest.fixture(scope="session")
def screenshots_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if SAVE_SCREENSHOTS:
        README_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        return README_SCREENSHOTS
    return tmp_path_factory.mktemp("screenshots")


@pytest.fixture
def screenshot(screenshots_dir: Path) -> Callable[[Page, str], None]:
    """Take a full-page screenshot, as the README shows it."""

    def take(page: Page, name: str) -> None:
        path = screenshots_dir / name
        page.screenshot(path=str(path), full_page=True)
        assert path.stat().st_size > 0

    return take


@pytest.fixture
def site(
    live_server: Any, django_bank: Bank, django_user_model: type[User], new_context: Any
) -> Site:
    """The bank of tests/support/page_states.py, and a page logged in per person."""
    accounts = build_bank(django_bank, django_user_model)
    site = Site(live_server.url, accounts)
    site.pages["anonymous"] = new_context().new_page()
    for who, username in (
        ("customer", LONG_USERNAME),
        ("newcomer", "newcomer"),
        ("staff", "staff"),
    ):
        site.pages[who] = new_context().new_page()
        log_in(site.pages[who], live_server.url, username)
    return site
