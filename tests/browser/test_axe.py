"""Every page state passes axe-core: WCAG 2.0 and 2.1 A and AA, and best practices.

The states are tests/support/page_states.py's list, customer and staff,
each checked at a phone's width and a desktop's: a layout can fail a rule
at one and not the other (a table that scrolls only on the phone must be
reachable by keyboard there).
"""

from __future__ import annotations

from collections import defaultdict

import pytest

from tests.support import axe
from tests.support.axe import axe_violations
from tests.support.page_states import PAGE_STATES, VIEWPORTS, hold_still

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_every_page_state_passes_axe(site, viewport):
    found: dict[str, list[str]] = defaultdict(list)  # rule: where, and what
    for state in PAGE_STATES:
        page = site.pages[state.who]
        page.set_viewport_size(VIEWPORTS[viewport])
        state.visit(page, site)
        hold_still(page)
        for rule in axe_violations(page):
            found[rule["id"]].append(
                f"{state.name} at {viewport}: {rule['help']} "
                f"({rule['impact']}) at {', '.join(rule['targets'])}"
            )
    report = [
        f"{rule}: {len(where)}\n  " + "\n  ".join(where)
        for rule, where in found.items()
    ]
    print(
        f"axe-core: {len(PAGE_STATES)} page states at {viewport}, "
        f"{sum(map(len, found.values()))} violations"
    )
    print("\n".join(report))
    assert not found, "\n".join(report)


def test_without_axe_core_the_check_fails_and_says_how_to_install_it(
    monkeypatch, tmp_path
):
    monkeypatch.setattr(axe, "AXE_SCRIPT", tmp_path / "axe.min.js")
    axe.axe_source.cache_clear()
    try:
        with pytest.raises(pytest.fail.Exception, match="run `make install-dev`"):
            axe.axe_source()
    finally:
        axe.axe_source.cache_clear()
