"""Category names: the stored-name rule, invisible characters and look-alikes of new names."""

from __future__ import annotations

import unicodedata

import pytest

from core.annotation.annotations import NONE, Annotations
from core.annotation.category_names import (
    check_new_name,
    is_invisible,
    look_alike_key,
    look_alike_keys,
    validate_category_name,
)
from core.errors import CategoryError

NFC = unicodedata.normalize("NFC", "café")
NFD = unicodedata.normalize("NFD", "café")

INVISIBLE = [
    "\u200b",
    "\u200c",
    "\u200d",
    "\u2060",
    "\ufeff",
    "\u00ad",
    "\u202e",
    "\u2066",
    "\x7f",
    "\x85",
    "\u3164",
]


@pytest.mark.parametrize("char", INVISIBLE)
def test_a_new_name_with_an_invisible_character_is_refused(char: str) -> None:
    assert is_invisible(char)
    name = f"no{char}mask"
    assert validate_category_name(name) == name  # a stored name keeps loading
    with pytest.raises(CategoryError, match="contains an invisible character") as info:
        check_new_name(name, {})
    assert f"U+{ord(char):04X}" in str(info.value)


@pytest.mark.parametrize(
    ("existing", "new"),
    [
        (NFC, NFD),
        (NFD, NFC),
        ("ﬁlter", "filter"),  # a ligature
        ("no mask", "no\u00a0mask"),  # a no-break space
        ("ｍａｓｋ", "mask"),  # fullwidth letters
        ("ab\u200bc", "abc"),  # an old name holding a zero-width space
        ("😷", "😷\ufe0f"),  # a variation selector
    ],
)
def test_a_new_name_that_looks_like_another_is_refused(existing: str, new: str) -> None:
    assert look_alike_key(existing) == look_alike_key(new)
    with pytest.raises(CategoryError, match="looks the same as") as info:
        check_new_name(new, look_alike_keys([NONE, existing]))
    assert repr(existing) in str(info.value)


@pytest.mark.parametrize("name", ["mask", "Mask", "no mask", "日本", "😷", "ffp2", "a-b", NFC])
def test_distinct_or_identical_names_pass(name: str) -> None:
    check_new_name(name, look_alike_keys([NONE, "mask", "no_mask", NFC]))


def test_annotations_refuse_look_alikes_on_add_rename_and_merge() -> None:
    ann = Annotations(["mask", NFC])
    with pytest.raises(CategoryError, match="looks the same as"):
        ann.add_category(NFD)
    with pytest.raises(CategoryError, match="invisible"):
        ann.add_category("ffp\u200b2")
    with pytest.raises(CategoryError, match="looks the same as"):
        ann.rename_category("mask", NFD)
    with pytest.raises(CategoryError, match="invisible"):
        ann.rename_category("mask", "m\u2060ask")
    with pytest.raises(CategoryError, match="looks the same as"):
        ann.merge_categories(["ffp2", NFD])
    with pytest.raises(CategoryError, match="looks the same as"):
        ann.merge_categories(["x", "ｘ"])  # two look-alikes in one merge
    assert ann.categories == [NONE, "mask", NFC]
    assert ann.rename_category(NFC, NFD) == NFD  # a name may be re-encoded in place
    ann.merge_categories(["mask", NFD, "ffp2"])
    assert ann.categories == [NONE, "mask", NFD, "ffp2"]


def test_a_project_with_an_old_invisible_name_still_loads() -> None:
    ann = Annotations(["ab\u200bc"])
    assert ann.categories == [NONE, "ab\u200bc"]
    ann.merge_categories(["ab\u200bc"])  # the same name again is not new
    assert ann.categories == [NONE, "ab\u200bc"]
