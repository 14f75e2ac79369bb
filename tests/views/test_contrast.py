"""The stylesheet's colours meet WCAG 2 AA contrast, pair by pair.

``PAIRS`` is the table of every text colour (a custom property of
``static/css/bank.css``) and each background it is shown on; the colours
are read from the stylesheet, so a change of palette is checked here. A
translucent background is laid over the one under it, as the browser does.
Text needs 4.5:1 (WCAG 1.4.3); focus rings need 3:1 against the background
around them (WCAG 1.4.11). Other tests keep the table complete: every text
colour and focus ring the stylesheet sets is one of its custom properties,
and one the table checks.
"""

from __future__ import annotations

import re
from pathlib import Path

from django.conf import settings

STYLESHEET = Path(settings.BASE_DIR) / "static" / "css" / "bank.css"

TEXT = 4.5
NON_TEXT = 3.0

# The light backgrounds text sits on: the page, cards, tinted panels and
# table rows, the selected event and the events after it.
LIGHT = ("--bg", "--surface", "--surface-2", "--primary-soft", "--later")
ON_TOPBAR = ("--topbar", ("--on-dark-hover", "--topbar"))

# (foreground, backgrounds, minimum ratio); a background given as a tuple
# is its layers, the top one first.
PAIRS: list[tuple[str, tuple[str | tuple[str, ...], ...], float]] = [
    ("--text", LIGHT, TEXT),
    ("--muted", LIGHT, TEXT),
    ("--primary", LIGHT, TEXT),  # links
    ("--primary-dark", ("--surface", "--primary-soft"), TEXT),
    ("--code-text", ("--surface-2",), TEXT),  # account numbers
    ("--ok", ("--surface", "--surface-2", "--ok-soft", "--later"), TEXT),
    ("--warn", ("--warn-soft",), TEXT),
    (
        "--danger",
        ("--surface", "--surface-2", "--danger-soft", "--primary-soft", "--later"),
        TEXT,
    ),
    ("--snapshot", ("--snapshot-soft",), TEXT),
    # Buttons, toasts and the top bar.
    (
        "--on-strong",
        (
            "--primary",
            "--primary-dark",
            "--danger",
            "--danger-dark",
            "--text",
            "--toast-error",
            *ON_TOPBAR,
        ),
        TEXT,
    ),
    ("--on-dark", ON_TOPBAR, TEXT),
    ("--on-dark-muted", ("--topbar",), TEXT),
    ("--staff-accent", (("--staff-accent-soft", "--topbar"),), TEXT),
    ("--customer-accent", (("--customer-accent-soft", "--topbar"),), TEXT),
    # Focus rings, against the background around the focused control.
    ("--focus", LIGHT, NON_TEXT),
    ("--focus-on-dark", ("--topbar",), NON_TEXT),
]

FOREGROUNDS = {foreground for foreground, _, _ in PAIRS}
FOCUS_RINGS = {"--focus", "--focus-on-dark"}

Colour = tuple[float, float, float, float]


def stylesheet() -> str:
    """The stylesheet without its comments."""
    return re.sub(r"/\*.*?\*/", "", STYLESHEET.read_text(), flags=re.DOTALL)


def rules() -> list[tuple[str, dict[str, str]]]:
    """Each innermost rule: its selector and its declarations."""
    found = []
    for match in re.finditer(r"([^{}]+)\{([^{}]*)\}", stylesheet()):
        declarations = {}
        for declaration in match[2].split(";"):
            name, colon, value = declaration.partition(":")
            if colon:
                declarations[name.strip()] = value.strip()
        found.append((" ".join(match[1].split()), declarations))
    return found


def custom_properties() -> dict[str, str]:
    """The custom properties of ``:root``."""
    root = [declarations for selector, declarations in rules() if selector == ":root"]
    assert len(root) == 1
    return {name: value for name, value in root[0].items() if name.startswith("--")}


def parse_colour(value: str) -> Colour:
    """``#rgb``, ``#rrggbb``, ``rgb(r g b)`` or ``rgb(r g b / a%)``: 0-255, alpha."""
    if match := re.fullmatch(r"#([0-9a-f]{3}|[0-9a-f]{6})", value, re.IGNORECASE):
        digits = match[1]
        if len(digits) == 3:
            digits = "".join(digit * 2 for digit in digits)
        red, green, blue = (int(digits[i : i + 2], 16) for i in (0, 2, 4))
        return red, green, blue, 1.0
    pattern = r"rgb\(\s*(\d+)\s+(\d+)\s+(\d+)\s*(?:/\s*(\d+(?:\.\d+)?)%)?\s*\)"
    match = re.fullmatch(pattern, value)
    assert match, f"not a colour this test reads: {value!r}"
    alpha = float(match[4]) / 100 if match[4] else 1.0
    return float(match[1]), float(match[2]), float(match[3]), alpha


def colour(
    layers: str | tuple[str, ...], palette: dict[str, str], under: Colour | None = None
) -> Colour:
    """The opaque colour of ``layers`` (top first), laid one over the next.

    A translucent bottom layer is laid over ``under`` (for text, its background).
    """
    names = (layers,) if isinstance(layers, str) else layers
    *tops, bottom = [parse_colour(palette[name]) for name in names]
    if bottom[3] < 1.0:
        assert under is not None, f"{names[-1]} is translucent: say what is under it"
        tops.append(bottom)
        bottom = under
    red, green, blue, _ = bottom
    for top in reversed(tops):
        alpha = top[3]
        red = top[0] * alpha + red * (1 - alpha)
        green = top[1] * alpha + green * (1 - alpha)
        blue = top[2] * alpha + blue * (1 - alpha)
    return red, green, blue, 1.0


def luminance(rgb: Colour) -> float:
    """WCAG 2 relative luminance of an opaque sRGB colour."""

    def linear(channel: float) -> float:
        c = channel / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    return 0.2126 * linear(rgb[0]) + 0.7152 * linear(rgb[1]) + 0.0722 * linear(rgb[2])


def contrast(first: Colour, second: Colour) -> float:
    """WCAG 2 contrast ratio, from 1 to 21."""
    lighter, darker = sorted((luminance(first), luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def used_properties(value: str) -> set[str]:
    return set(re.findall(r"var\((--[\w-]+)\)", value))


# The formula itself, on pairs whose ratios are published.


def test_contrast_formula_gives_the_known_ratios():
    white, black = parse_colour("#fff"), parse_colour("#000000")
    assert round(contrast(white, black), 2) == 21.0
    assert round(contrast(black, white), 2) == 21.0
    assert round(contrast(parse_colour("#767676"), white), 2) == 4.54
    # The pair axe-core reported: the old grey on the page background.
    assert round(contrast(parse_colour("#64748b"), parse_colour("#f3f5f9")), 2) == 4.36
    half_white = {"--half": "rgb(255 255 255 / 50%)", "--black": "#000"}
    assert colour(("--half", "--black"), half_white)[:3] == (127.5, 127.5, 127.5)


# The palette.


def test_every_text_colour_and_focus_ring_meets_its_contrast_ratio():
    palette = custom_properties()
    failing = []
    print(f"{'foreground':<18} {'background':<36} {'ratio':>6}  needs")
    for foreground, backgrounds, minimum in PAIRS:
        for background in backgrounds:
            behind = colour(background, palette)
            ratio = contrast(colour(foreground, palette, behind), behind)
            name = " over ".join(
                (background,) if isinstance(background, str) else background
            )
            print(f"{foreground:<18} {name:<36} {ratio:6.2f}  {minimum}")
            if ratio < minimum:
                failing.append(f"{foreground} on {name}: {ratio:.2f} < {minimum}")
    assert not failing


def test_every_text_colour_the_stylesheet_sets_is_checked():
    """``color:`` is a custom property in ``PAIRS`` (or inherits one)."""
    unchecked = []
    for selector, declarations in rules():
        value = declarations.get("color")
        if selector == ":root" or value is None:
            continue
        if value in {"inherit", "currentcolor"}:
            continue
        properties = used_properties(value)
        if not properties or not properties <= FOREGROUNDS:
            unchecked.append(f"{selector} {{ color: {value} }}")
    assert not unchecked


def test_every_focus_ring_is_a_checked_colour():
    rings = []
    for selector, declarations in rules():
        for name in ("outline", "outline-color"):
            value = declarations.get(name)
            if value is None:
                continue
            rings.append(selector)
            if value == "none":
                # Only for what is not a control: the skip link's target.
                assert selector == "main:focus", selector
            else:
                assert used_properties(value) <= FOCUS_RINGS, (selector, value)
                assert used_properties(value), (selector, value)
    outlined = next(
        declarations
        for selector, declarations in rules()
        if "a:focus-visible" in selector.split(", ")
    )
    assert re.fullmatch(r"3px solid var\(--focus\)", outlined["outline"])
    selector = next(s for s, _ in rules() if "a:focus-visible" in s.split(", "))
    for control in ("a", "button", "input", "summary"):
        assert f"{control}:focus-visible" in selector.split(", ")
    print(f"{len(rings)} rules set a focus ring or its colour")


def test_later_events_fade_without_losing_text_contrast():
    """The events after the chosen one are paler cards, not translucent text."""
    later = dict(rules())[".event.is-later"]
    assert "opacity" not in later
    assert later["background"] == "var(--later)"
    assert "--later" in LIGHT
    for selector, declarations in rules():
        if "is-later" in selector:
            assert "opacity" not in declarations, selector
            assert "filter" not in declarations, selector
