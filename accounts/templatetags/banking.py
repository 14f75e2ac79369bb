"""Template helpers for showing money, account numbers and balance charts.

Every money figure goes through ``{% money %}``, so each one is
right-aligned, carries its currency symbol and has its exact value in a
``data-amount`` attribute that tests and scripts can read without parsing
the formatted text.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django import template
from django.conf import settings
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.timezone import localtime

from accounts import services
from accounts.account_numbers import grouped
from accounts.how_it_works import EXPLANATIONS
from accounts.money import CENT, CURRENCY, format_money

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime
    from uuid import UUID

    from django.utils.safestring import SafeString

    from accounts.statements import StatementLine

register = template.Library()


# The chart's drawing area, in SVG user units (it scales to its container).
CHART_WIDTH = 640
CHART_HEIGHT = 220
CHART_LEFT = 72  # at least; more when the axis labels need it
# The axis labels' room: 11-unit type (bank.css) is at most about 6.5 units a
# character; a label ends GAP units left of the plot and starts at least
# EDGE units in from the chart's left edge.
CHART_LABEL_CHAR_WIDTH = 6.5
CHART_LABEL_GAP = 8
CHART_LABEL_EDGE = 4
CHART_RIGHT = 16
CHART_TOP = 16
CHART_BOTTOM = 32
CHART_MAX_POINTS = 120


@register.simple_tag
def money(
    amount: Decimal,
    currency: str = CURRENCY,
    *,
    signed: bool = False,
    id: str = "",
    css: str = "",
) -> SafeString:
    """A money figure: formatted text, its exact value in ``data-amount``."""
    value = Decimal(amount).quantize(CENT)
    classes = ["money"]
    if value < 0:
        classes.append("money-negative")
    elif signed and value > 0:
        classes.append("money-positive")
    if css:
        classes.append(css)
    if id:
        return format_html(
            '<span id="{}" class="{}" data-amount="{}">{}</span>',
            id,
            " ".join(classes),
            value,
            format_money(value, currency, signed=signed),
        )
    return format_html(
        '<span class="{}" data-amount="{}">{}</span>',
        " ".join(classes),
        value,
        format_money(value, currency, signed=signed),
    )


@register.inclusion_tag("accounts/_account_ref.html")
def account_ref(account_id: UUID) -> dict[str, Any]:
    """An account named in a list of events: its number, linking to its timeline."""
    return {"account_id": account_id, "number": services.account_number(account_id)}


@register.filter
def grouped_number(number: str) -> str:
    """An account number as people read it: ``12345678`` -> ``1234 5678``."""
    return grouped(str(number))


@register.filter
def short_id(account_id: UUID | str) -> str:
    """The first block of an account number, enough to tell accounts apart."""
    return str(account_id).split("-", 1)[0]


@register.filter
def event_label(event_type: str) -> str:
    """A stored event's class name in words: TransferSent -> Transfer sent."""
    words: list[str] = []
    for char in event_type:
        if char.isupper() and words:
            words.append(" ")
            words.append(char.lower())
        else:
            words.append(char)
    return "".join(words)


@register.inclusion_tag("_how_it_works.html")
def how_it_works(key: str) -> dict[str, Any]:
    """A panel's "How this works" disclosure (texts in accounts/how_it_works.py).

    Its link to docs/FEATURES.md points into ESBANK_SOURCE_URL, where the
    repository can be read; with none set, the path is shown as text.
    """
    explanation = EXPLANATIONS[key]
    source = getattr(settings, "ESBANK_SOURCE_URL", "")
    return {
        "key": key,
        "explanation": explanation,
        "doc_url": f"{source.rstrip('/')}/{explanation.doc}" if source else "",
    }


@dataclass(frozen=True)
class ChartPoint:
    x: float
    y: float
    label: str


@register.inclusion_tag("accounts/_chart.html")
def balance_chart(
    lines: Sequence[StatementLine],
    opened_at: datetime,
    currency: str = CURRENCY,
    opening_balance: Decimal = Decimal(0),
) -> dict[str, Any]:
    """A step chart of the balance after each movement, drawn as inline SVG.

    ``opening_balance`` is the balance before the first of ``lines``, when
    they are only the latest movements of a longer history.
    """
    shown = list(lines[-CHART_MAX_POINTS:])
    start = (
        lines[-len(shown) - 1].balance if len(lines) > len(shown) else opening_balance
    )
    start_at = lines[-len(shown) - 1].timestamp if len(lines) > len(shown) else None
    balances = [start] + [line.balance for line in shown]
    low = min(*balances, Decimal(0))
    high = max(*balances, Decimal(0))
    if high == low:
        high = low + 1
    middle = ((low + high) / 2).quantize(Decimal(1))
    tick_values = sorted({low, middle, high, Decimal(0)})
    tick_labels = [format_money(value, currency) for value in tick_values]
    left = chart_left(tick_labels)
    plot_width = CHART_WIDTH - left - CHART_RIGHT
    plot_height = CHART_HEIGHT - CHART_TOP - CHART_BOTTOM

    def y_of(balance: Decimal) -> float:
        share = float((balance - low) / (high - low))
        return round(CHART_TOP + plot_height * (1 - share), 1)

    # Half a step of room after the last movement, so it is not on the edge.
    step = plot_width / (len(shown) + 0.5)
    xs = [round(left + step * index, 1) for index in range(len(balances))]
    ys = [y_of(balance) for balance in balances]
    path = f"M{xs[0]},{ys[0]}"
    for x, y in zip(xs[1:], ys[1:], strict=True):
        path += f" H{x} V{y}"
    right = CHART_WIDTH - CHART_RIGHT
    path += f" H{right}"
    zero_y = y_of(Decimal(0))
    area = f"{path} V{zero_y} H{xs[0]} Z"
    points = [
        ChartPoint(
            x=x,
            y=y,
            label=(
                f"{_when(line.timestamp)} · {line.kind} "
                f"{format_money(line.amount, currency, signed=True)} → "
                f"{format_money(line.balance, currency)}"
            ),
        )
        for x, y, line in zip(xs[1:], ys[1:], shown, strict=True)
    ]
    ticks = [
        {"y": y_of(value), "label": label}
        for value, label in zip(tick_values, tick_labels, strict=True)
    ]
    return {
        "width": CHART_WIDTH,
        "height": CHART_HEIGHT,
        "left": left,
        "right": right,
        "bottom": CHART_HEIGHT - CHART_BOTTOM,
        "path": path,
        "area": area,
        "zero_y": zero_y,
        "points": points,
        "ticks": ticks,
        "first_label": _when(start_at or opened_at),
        "last_label": _when(shown[-1].timestamp) if shown else "",
        "has_movements": bool(shown),
        "currency": currency,
    }


def chart_left(labels: Sequence[str]) -> int:
    """Where the plot starts: room for the longest axis label at its left.

    £9,999,999.99 would not fit in the usual margin, and the SVG would cut
    its first digits off.
    """
    longest = max(map(len, labels), default=0)
    width = math.ceil(CHART_LABEL_CHAR_WIDTH * longest)
    needed = CHART_LABEL_EDGE + width + CHART_LABEL_GAP
    return max(CHART_LEFT, needed)


def _when(moment: datetime) -> str:
    return date_format(localtime(moment), "j M Y, H:i")
