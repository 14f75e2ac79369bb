"""axe-core in a real page: what fails WCAG 2.0 and 2.1 A and AA, or best practice.

axe-core comes from the npm registry, pinned in package.json and
package-lock.json at the repository's root; ``make install-dev`` runs
``npm ci``, which puts it in node_modules/. Without it the browser tests
fail (not skip) and say how to get it.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Page

AXE_SCRIPT = Path(__file__).resolve().parents[2] / "node_modules/axe-core/axe.min.js"
# WCAG 2.0 and 2.1, levels A and AA; and axe's best practices, which
# catch what those levels let by (content outside any landmark, a page
# without a main one, a role its element cannot take).
RULE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]

RUN_AXE = """async (tags) => {
  const results = await axe.run(document, {
    runOnly: { type: "tag", values: tags },
    resultTypes: ["violations"],
  });
  return results.violations.map((rule) => ({
    id: rule.id,
    impact: rule.impact,
    help: rule.help,
    targets: rule.nodes.map((node) => node.target.join(" ")),
  }));
}"""


@cache
def axe_source() -> str:
    """axe.min.js, as npm installed it; a failure saying how, if it did not."""
    if not AXE_SCRIPT.exists():
        pytest.fail(
            f"axe-core is not installed ({AXE_SCRIPT} is missing): run "
            "`make install-dev`, which installs it with npm ci from package-lock.json",
            pytrace=False,
        )
    return AXE_SCRIPT.read_text(encoding="utf-8")


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """What axe-core finds on the page as it is now, rule by rule."""
    # Evaluated through the DevTools protocol, which the page's Content
    # Security Policy does not govern: a <script> tag added to the page would
    # be refused (no inline script), and a context with bypass_csp=True would
    # check pages that are not the ones the site serves.
    if not page.evaluate("typeof window.axe === 'object'"):
        page.evaluate(axe_source())
    return list(page.evaluate(RUN_AXE, RULE_TAGS))
