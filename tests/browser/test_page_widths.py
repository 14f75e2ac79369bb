"""No page scrolls sideways, on a phone (390 px) or a desktop (1280 px).

The data is the hard case (tests/support/page_states.py): a 100-character
account name with no space, a 100-character username, £9,999,999.99. Wide
tables scroll inside their own region; the page itself never does.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.support.page_states import PAGE_STATES, VIEWPORTS, hold_still

pytestmark = pytest.mark.browser

# The innermost elements that reach past the window's right edge.
TOO_WIDE = """() => {
  const edge = window.innerWidth + 1;
  const wide = [...document.body.querySelectorAll("*")]
    .filter((e) => e.getBoundingClientRect().right > edge);
  return wide
    .filter((e) => !wide.some((other) => other !== e && e.contains(other)))
    .slice(0, 4)
    .map((e) => {
      const classes = typeof e.className === "string" ? e.className.trim() : "";
      const name = e.tagName.toLowerCase() + (e.id ? "#" + e.id : "")
        + (classes ? "." + classes.replace(/ +/g, ".") : "");
      return `${name} to ${Math.round(e.getBoundingClientRect().right)}px`;
    });
}"""


# Chart labels (text in an SVG) the chart's own edges cut off.
CUT_CHART_LABELS = """() => [...document.querySelectorAll("svg.chart-svg")]
  .flatMap((svg) => {
    const box = svg.getBoundingClientRect();
    return [...svg.querySelectorAll("text")]
      .filter((text) => {
        const edges = text.getBoundingClientRect();
        return edges.left < box.left - 0.5 || edges.right > box.right + 0.5;
      })
      .map((text) => text.textContent);
  })"""


def test_no_page_state_scrolls_sideways(site):
    widths: list[str] = []
    too_wide: list[str] = []
    for state in PAGE_STATES:
        page = site.pages[state.who]
        page.set_viewport_size(VIEWPORTS["1280px"])
        state.visit(page, site)
        hold_still(page)
        measured = []
        for viewport, size in VIEWPORTS.items():
            page.set_viewport_size(size)
            scroll_width, window_width = page.evaluate(
                "[document.documentElement.scrollWidth, window.innerWidth]"
            )
            measured.append(f"{scroll_width} at {viewport}")
            if scroll_width > window_width:
                too_wide.append(
                    f"{state.name}: {scroll_width}px wide at {viewport}, "
                    f"past the edge: {', '.join(page.evaluate(TOO_WIDE))}"
                )
            if cut := page.evaluate(CUT_CHART_LABELS):
                too_wide.append(f"{state.name}: chart labels cut at {viewport}: {cut}")
        widths.append(f"{state.name}: {', '.join(measured)}")
    print("page widths (document.documentElement.scrollWidth):")
    print("\n".join(widths))
    assert not too_wide, "\n".join(too_wide)


# Where an element is on the page (not the window): top, bottom, left, right.
PLACE = """(element) => {
  const box = element.getBoundingClientRect();
  return {
    top: box.top + window.scrollY,
    bottom: box.bottom + window.scrollY,
    left: box.left,
    right: box.right,
  };
}"""


def test_the_chosen_events_state_is_beside_it_or_right_under_it(site):
    """Beside the event at 1280 px, under it at 390 px: never after the whole list.

    Version 2 is near the end of the list of 27, version 26 near its top.
    """
    page = site.pages["staff"]
    events = site.url("/staff/accounts/{everyday}/events/")
    for version in (2, 26):
        for viewport, size in VIEWPORTS.items():
            page.set_viewport_size(size)
            page.goto(f"{events}?version={version}")
            row = page.locator(f'#events .event[data-version="{version}"]')
            event = row.locator(".event-link").evaluate(PLACE)
            state = page.locator("#state").evaluate(PLACE)
            print(
                f"v{version} at {viewport}: event at {event['top']:.0f}px, "
                f"its state at {state['top']:.0f}px"
            )
            assert page.locator("#events .event").count() == 27
            assert abs(state["top"] - event["top"]) <= size["height"], viewport
            if viewport == "390px":
                assert state["top"] >= event["bottom"]  # under the event
            else:
                assert state["left"] >= event["right"]  # beside it

    # Without JavaScript a chosen event's page opens at it; with htmx,
    # stepping back keeps the chosen event, and its buttons, in view on a
    # phone (bank.js), though the event above it closes up each time.
    link = page.locator('#events .event[data-version="24"] .event-link')
    assert link.get_attribute("href").endswith("?version=24#chosen-event")
    page.set_viewport_size(VIEWPORTS["390px"])
    for version in (24, 2):
        page.goto(f"{events}?version={version}#chosen-event")
        for earlier in range(version - 1, max(version - 5, 0), -1):
            page.locator("#step-back").click()
            expect(page.locator("#chosen-event")).to_have_attribute(
                "data-version", str(earlier)
            )
            expect(page.locator("#chosen-event .stepper")).to_be_in_viewport()
