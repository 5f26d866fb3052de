"""What makes a category name usable, and what makes a new one refused as a look-alike.

validate_category_name is the rule every stored name meets (text, not empty, at most
MAX_CATEGORY_LEN characters, no C0 control character, no lone surrogate); projects saved under it
keep loading. A name being *created* (added, renamed to, imported from a category list or an
annotation file) must also be seen as what it is: it may not hold an invisible character
(zero-width space, joiner, word joiner, BOM, bidi marks, other format or control characters), and
it may not look the same as another category, that is have the same NFKC form once invisible
characters and variation selectors are dropped (`café` typed as NFC and as NFD, `ﬁ` and `fi`,
a no-break space and a space). Cross-script look-alikes (Cyrillic `а` for Latin `a`) are not
caught: that needs the Unicode confusables table.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from typing import Any

from core.errors import CategoryError

MAX_CATEGORY_LEN = 100
#: Invisible characters whose Unicode category does not say so (Hangul fillers, the combining
#: grapheme joiner, the braille blank); all of Cc, Cf, Zl and Zp count as invisible too.
_INVISIBLE_EXTRA = frozenset("\u034f\u115f\u1160\u2800\u3164\uffa0")
#: Dropped (not refused) when comparing names: variation selectors pick an emoji's look.
_SELECTORS = frozenset(chr(c) for c in [*range(0xFE00, 0xFE10), *range(0xE0100, 0xE01F0)])


def has_surrogates(text: str) -> bool:
    """True when `text` holds a lone UTF-16 surrogate (`\\ud800`), which no file can store."""
    return any("\ud800" <= c <= "\udfff" for c in text)


def validate_category_name(name: Any) -> str:
    """The stripped category name, or CategoryError when it is unusable."""
    if not isinstance(name, str):
        raise CategoryError(f"a category name must be text, got {type(name).__name__}")
    text = name.strip()
    if not text:
        raise CategoryError("a category name cannot be empty")
    if len(text) > MAX_CATEGORY_LEN:
        raise CategoryError(f"a category name is at most {MAX_CATEGORY_LEN} characters")
    if any(ord(c) < 32 for c in text):
        raise CategoryError("a category name cannot contain control characters")
    if has_surrogates(text):
        raise CategoryError("a category name cannot contain a lone surrogate (invalid Unicode)")
    return text


def is_invisible(char: str) -> bool:
    """True for a character that shows nothing (or moves text) where it stands."""
    return char in _INVISIBLE_EXTRA or unicodedata.category(char) in {"Cc", "Cf", "Zl", "Zp"}


def look_alike_key(name: str) -> str:
    """What `name` looks like: its NFKC form without invisible characters or variation selectors."""
    text = unicodedata.normalize("NFKC", name)
    return "".join(c for c in text if c not in _SELECTORS and not is_invisible(c))


def look_alike_keys(names: Iterable[str]) -> dict[str, str]:
    """{look-alike key: the first name with it} of existing names (for check_new_name)."""
    out: dict[str, str] = {}
    for name in names:
        out.setdefault(look_alike_key(name), name)
    return out


def check_new_name(name: str, existing: dict[str, str]) -> None:
    """CategoryError when the (validated) new `name` holds an invisible character or looks the same
    as another name in `existing` (from look_alike_keys); the very same name passes."""
    hidden = next((c for c in name if is_invisible(c)), None)
    if hidden is not None:
        what = unicodedata.name(hidden, "a control character")
        raise CategoryError(f"{name!r} contains an invisible character (U+{ord(hidden):04X} {what})")
    twin = existing.get(look_alike_key(name))
    if twin is not None and twin != name:
        raise CategoryError(f"{name!r} looks the same as {twin!r} (the same letters, encoded differently)")
