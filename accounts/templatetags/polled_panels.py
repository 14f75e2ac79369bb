"""Polled panels in templates: where a fragment's ETag goes, and its stamp.

A fragment that refreshes itself puts ``{% etag_slot %}`` in its root
element's start tag. A page that includes one wraps the include in
``{% polled_panel %}...{% endpolled_panel %}``, which fills the slot with
the same ETag the fragment's own view would give it (``accounts/polling.py``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django import template
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from accounts.polling import ETAG_ATTRIBUTE, PLACEHOLDER, stamped

if TYPE_CHECKING:
    from django.template.base import NodeList, Parser, Token
    from django.template.context import Context
    from django.utils.safestring import SafeString

register = template.Library()


@register.simple_tag
def etag_slot() -> SafeString:
    """``data-etag="..."``: filled in once the whole fragment is rendered."""
    return format_html('{}="{}"', ETAG_ATTRIBUTE, PLACEHOLDER)


class PolledPanelNode(template.Node):
    def __init__(self, nodelist: NodeList) -> None:
        self.nodelist = nodelist

    def render(self, context: Context) -> SafeString:
        return mark_safe(stamped(self.nodelist.render(context)))  # noqa: S308


@register.tag
def polled_panel(parser: Parser, token: Token) -> PolledPanelNode:
    """``{% polled_panel %}{% include "..." %}{% endpolled_panel %}``."""
    nodelist = parser.parse(("endpolled_panel",))
    parser.delete_first_token()
    return PolledPanelNode(nodelist)
