"""Elements of an HTML page, found by tag and attributes in whatever order.

``elements(html, "tr", data_version=True)`` are the ``<tr>`` elements with
a ``data-version`` attribute, in document order. Attributes are named by
keyword, underscores for hyphens and a trailing underscore dropped
(``class_`` is ``class``, ``data_amount`` is ``data-amount``), or as
``**{"data-amount": ...}``. Each must have the value given (``class`` is
compared as a set of class names); ``True`` asks only that it be there,
``False`` that it not be, and a compiled pattern that its whole value
match.

Each ``Element`` has its attributes (entities decoded), its text (all the
text inside it, decoded) and the elements inside it, searched the same way.
The page is parsed by the standard library's ``html.parser``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

# Elements that have no end tag.
VOID = frozenset({
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
    "param", "source", "track", "wbr",
})  # fmt: skip

Wanted = str | bool | re.Pattern[str]


@dataclass(eq=False, repr=False)
class Element:
    """One element: its tag, attributes, and what is inside it."""

    tag: str
    attrs: dict[str, str]
    children: list[Element | str] = field(default_factory=list)

    def __repr__(self) -> str:
        """The start tag, as an assertion's message shows it."""
        attrs = "".join(f' {name}="{value}"' for name, value in self.attrs.items())
        return f"<{self.tag}{attrs}>"

    def __getitem__(self, name: str) -> str:
        return self.attrs[name]

    def get(self, name: str, default: str | None = None) -> str | None:
        return self.attrs.get(name, default)

    @property
    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())

    @property
    def text(self) -> str:
        """All the text inside, as written (entities decoded)."""
        return "".join(
            child if isinstance(child, str) else child.text for child in self.children
        )

    @property
    def words(self) -> str:
        """The text inside, each run of whitespace made one space."""
        return " ".join(self.text.split())

    def matches(self, tag: str | None = None, **attrs: Wanted) -> bool:
        """Whether this is a ``tag`` element with ``attrs`` (see the module)."""
        if tag is not None and self.tag != tag:
            return False
        return all(
            _attribute_matches(name, self.attrs.get(name), wanted)
            for name, wanted in _attribute_names(attrs).items()
        )

    def elements(self, tag: str | None = None, **attrs: Wanted) -> list[Element]:
        """The elements inside this one that match, in document order."""
        found = []
        for child in self.children:
            if isinstance(child, Element):
                if child.matches(tag, **attrs):
                    found.append(child)
                found.extend(child.elements(tag, **attrs))
        return found

    def element(self, tag: str | None = None, **attrs: Wanted) -> Element:
        """The one element inside this one that matches."""
        found = self.elements(tag, **attrs)
        if len(found) != 1:
            names = _attribute_names(attrs).items()
            wanted = " ".join([tag or "*", *(f"{k}={v!r}" for k, v in names)])
            msg = f"{len(found)} elements match {wanted}, not 1"
            raise AssertionError(msg)
        return found[0]


def parse(html: str) -> Element:
    """The document: an element with no tag, holding the page's elements."""
    builder = _TreeBuilder()
    builder.feed(html)
    builder.close()
    return builder.root


def elements(html: str, tag: str | None = None, **attrs: Wanted) -> list[Element]:
    """The elements of ``html`` that match, in document order."""
    return parse(html).elements(tag, **attrs)


def element(html: str, tag: str | None = None, **attrs: Wanted) -> Element:
    """The one element of ``html`` that matches; an AssertionError otherwise."""
    return parse(html).element(tag, **attrs)


def _attribute_names(attrs: dict[str, Wanted]) -> dict[str, Wanted]:
    return {name.rstrip("_").replace("_", "-"): value for name, value in attrs.items()}


def _attribute_matches(name: str, value: str | None, wanted: Wanted) -> bool:
    if wanted is True or wanted is False:
        return (value is not None) is wanted
    if value is None:
        return False
    if isinstance(wanted, re.Pattern):
        return wanted.fullmatch(value) is not None
    if name == "class":
        return set(value.split()) == set(wanted.split())
    return value == wanted


class _TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Element("", {})
        self.open = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {name: value or "" for name, value in attrs})
        self.open[-1].children.append(element)
        if tag not in VOID:
            self.open.append(element)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {name: value or "" for name, value in attrs})
        self.open[-1].children.append(element)

    def handle_endtag(self, tag: str) -> None:
        # Close the innermost open element of this tag, and any left open
        # inside it; an end tag with nothing open to close is ignored.
        for depth in range(len(self.open) - 1, 0, -1):
            if self.open[depth].tag == tag:
                del self.open[depth:]
                return

    def handle_data(self, data: str) -> None:
        self.open[-1].children.append(data)
