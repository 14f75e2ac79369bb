"""How many reversals wait for a second member of staff, for the staff's pages.

Read from the reversals themselves (``ReversalDesk.all_reversals``): the
cost grows with the number of reversals ever asked for, so it is shown on
the staff dashboard, not on every page.
"""

from __future__ import annotations

from django import template

from accounts import services

register = template.Library()


@register.simple_tag
def reversals_waiting() -> int:
    """The number of reversals waiting for approval."""
    desk = services.accounts().reversals
    return sum(1 for reversal in desk.all_reversals() if reversal.is_pending)
