"""Names and references show as typed: never blank-looking, never reversed.

The Account aggregate refuses them (``accounts/visible_text.py``), whoever
gives the command: no database, no Django here.
"""

from __future__ import annotations

import unicodedata
from uuid import uuid4

import pytest

from accounts.domain import Account, clean_description, clean_name
from accounts.errors import InvalidAccountNameError, InvalidDescriptionError
from accounts.visible_text import DIRECTION_CONTROLS, INVISIBLE_CATEGORIES, unreadable

# Text with nothing to see, by the kind of character it is made of.
BLANK = {
    "zero-width space": "\u200b",
    "zero-width joiners": "\u200c\u200d\u2060",
    "byte order mark": "\ufeff\ufeff",
    "soft hyphen": "\u00ad",
    "combining marks": "\u0301\u0308\u20dd",
    "combining grapheme joiner": "\u034f",
    "variation selectors": "\ufe0f\ufe0e",
    "Hangul choseong filler": "\u115f",
    "Hangul jungseong filler": "\u1160",
    "Hangul filler": "\u3164\u3164",
    "halfwidth Hangul filler": "\uffa0",
    "Braille blank": "\u2800",
    "DEL": "\x7f",
    "C0 controls": "\x01\x1b",
    "C1 controls": "\x80\x85\x9f",
    "tags": "\U000e0041\U000e007f",
    "ideographic space inside": "\u200b\u3000\u200b",
    "Mongolian vowel separator": "\u180e",
    "spaces and joiners": "\u200b \u200d \u2800",
}

# Each bidirectional control, inside otherwise ordinary text.
REVERSING = {
    f"U+{ord(char):04X}": f"Rent {char}1 flat" for char in sorted(DIRECTION_CONTROLS)
}

# Control characters inside text that has something to see.
CONTROLS = {
    "NUL": "Rent\x00",
    "newline": "Rent\nfor flat",
    "tab": "Rent\tdue",
    "escape": "\x1b[31mRent",
    "DEL": "Rent\x7f",
    "C1": "Rent\x9b",
}

# Names people really have: marks on letters, other scripts, joined emoji.
READABLE = [
    "Café",
    "Cafe\u0301",  # the same, with a combining accent
    "Zoë's savings",
    "한국 계좌",
    "حساب التوفير",
    "חיסכון",
    "Ελληνικά",
    "日本の口座",
    "हिन्दी",
    "👨\u200d👩\u200d👧 family",
    "🏳️\u200d🌈",
    "Flags 🇬🇧",
    "A",
    "x" * 100,
]


@pytest.mark.parametrize("text", BLANK.values(), ids=BLANK.keys())
def test_names_that_would_show_as_blank_are_refused(text):
    with pytest.raises(InvalidAccountNameError, match="would show as blank"):
        Account.open(owner="ada", name=text, number="12345674")
    with pytest.raises(InvalidAccountNameError, match="would show as blank"):
        clean_name(f"  {text}  ", "account name")


@pytest.mark.parametrize("text", BLANK.values(), ids=BLANK.keys())
def test_references_that_would_show_as_blank_are_refused(text):
    account = Account.open(owner="ada", name="Current", number="12345674")
    account.collect_events()
    with pytest.raises(InvalidDescriptionError, match="would show as blank"):
        account.deposit("10.00", uuid4(), text)
    assert account.collect_events() == []
    assert account.balance == 0


@pytest.mark.parametrize("text", REVERSING.values(), ids=REVERSING.keys())
def test_names_and_references_that_reverse_text_are_refused(text):
    with pytest.raises(InvalidAccountNameError, match="reverses text direction"):
        Account.open(owner="ada", name=text, number="12345674")
    account = Account.open(owner="ada", name="Current", number="12345674")
    account.collect_events()
    with pytest.raises(InvalidDescriptionError, match="reverses text direction"):
        account.deposit("10.00", uuid4(), text)
    assert account.collect_events() == []


@pytest.mark.parametrize("text", CONTROLS.values(), ids=CONTROLS.keys())
def test_control_characters_inside_text_are_refused(text):
    with pytest.raises(InvalidAccountNameError, match="control character"):
        Account.open(owner="ada", name=text, number="12345674")
    with pytest.raises(InvalidDescriptionError, match="control character"):
        clean_description(text)


def test_the_refusal_names_the_character_and_what_it_is_about():
    assert unreadable("Rent\u202e1", "The description") == (
        "The description contains a character that reverses text direction "
        "(U+202E); please remove it."
    )
    assert unreadable("\u3164", "The account name") == (
        "The account name would show as blank: it has no character that can be seen."
    )


@pytest.mark.parametrize("text", READABLE)
def test_readable_names_and_references_are_kept_as_typed(text):
    account = Account.open(owner="ada", name=text, number="12345674")
    assert account.name == text
    account.deposit("1.00", uuid4(), text[:140])
    assert account.balance == 1
    assert clean_description(f" {text} ") == text


def test_an_empty_reference_is_still_allowed():
    assert clean_description("") == ""
    assert clean_description("   ") == ""


def test_every_category_the_rule_calls_invisible_is_a_real_category():
    # A misspelt category would silently let its characters through.
    categories = {unicodedata.category(chr(c)) for c in range(0x110000)}
    assert categories >= INVISIBLE_CATEGORIES
