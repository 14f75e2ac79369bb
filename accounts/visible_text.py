"""Text people read back: account names and payment references show as written.

Skip on a first read. A name is shown on every page and a reference on
every statement, to the customer and to staff, so the bank refuses text
that would not read as it was typed:

- **Blank.** Text with nothing to see once whitespace, controls, format
  characters (zero-width spaces and joiners, the soft hyphen, tags),
  combining marks (which need a letter to sit on), the Hangul fillers and
  the blank Braille pattern are taken out. Such a name looks empty on the
  page, and two of them look the same.
- **Reversed.** Text holding a bidirectional control: the embeddings and
  overrides (U+202A-202E), the isolates (U+2066-2069), the left-to-right
  and right-to-left marks (U+200E, U+200F) and the Arabic letter mark
  (U+061C). U+202E turns "Rent for flat 1" into what reads as something
  else, and spills into the text around it.
- **Controls.** C0 and C1 control characters and DEL anywhere: a name is
  one line of text. NUL above all, which PostgreSQL's text columns cannot
  hold: the accounts list could never record the account.

``unreadable`` says which, as a message for the person who typed it. The
domain's ``clean_name`` and ``clean_description`` call it, so the aggregate
guards it whoever gives the command; new text only, since the guards do
not run again when an account is rebuilt from its history.
"""

from __future__ import annotations

import unicodedata

# The bidirectional formatting characters.
DIRECTION_CONTROLS = frozenset(
    "\u202a\u202b\u202c\u202d\u202e"  # embeddings, pop, overrides
    "\u2066\u2067\u2068\u2069"  # isolates
    "\u200e\u200f\u061c"  # marks
)

# Letters that are drawn as nothing: the Hangul choseong and jungseong
# fillers, the Hangul filler and its halfwidth form, the blank Braille cell.
BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800")

# Categories with nothing to see on their own: controls (C0, DEL, C1),
# format characters, combining marks, and separators (spaces, line and
# paragraph separators).
INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Mn", "Mc", "Me", "Zs", "Zl", "Zp"})

# The tags and variation selectors' plane-14 block, assigned or not.
TAGS = range(0xE0000, 0xE1000)


def unreadable(text: str, what: str) -> str | None:
    """Why ``text`` would not read as typed, as a sentence about ``what``; or None.

    ``what`` names the text for the reader: "The account name".
    """
    if text and all(is_invisible(char) for char in text):
        return f"{what} would show as blank: it has no character that can be seen."
    for char in text:
        if char in DIRECTION_CONTROLS:
            return (
                f"{what} contains a character that reverses text direction "
                f"({code_point(char)}); please remove it."
            )
    for char in text:
        if unicodedata.category(char) == "Cc":
            return (
                f"{what} contains a control character ({code_point(char)}); "
                "please remove it."
            )
    return None


def is_invisible(char: str) -> bool:
    """Whether ``char`` shows nothing on its own."""
    return (
        char.isspace()
        or char in BLANK_LETTERS
        or unicodedata.category(char) in INVISIBLE_CATEGORIES
        or ord(char) in TAGS
    )


def code_point(char: str) -> str:
    """``char`` as people look it up: U+202E."""
    return f"U+{ord(char):04X}"
