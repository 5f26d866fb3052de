"""Category lists: JSON, CSV and XLSX round trips, literal names, bad files."""

from __future__ import annotations

import io
import unicodedata
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook

from core.annotation.formats import categories as cat
from core.annotation.formats.archive import zip_files
from core.errors import FormatError

NAMES = [
    "None",
    "mask",
    "no mask",
    "../x",
    "<b>x</b>",
    '=HYPERLINK("http://x")',
    "+1",
    "-",
    "@a",
    "'q",
    "category",
    "日本",
]

FORMATS: list[tuple[str, Callable[[list[str]], bytes], Callable[..., list[str]]]] = [
    ("json", cat.dumps_categories_json, cat.loads_categories_json),
    ("csv", cat.dumps_categories_csv, cat.loads_categories_csv),
    ("xlsx", cat.dumps_categories_xlsx, cat.loads_categories_xlsx),
]


@pytest.mark.parametrize(("ext", "dump", "load"), FORMATS, ids=[f[0] for f in FORMATS])
def test_round_trip_keeps_names_literally(ext: str, dump: Callable, load: Callable) -> None:
    data = dump(NAMES)
    assert load(data) == NAMES
    assert cat.loads_categories(data, f"list.{ext.upper()}") == NAMES


def test_csv_defuses_formulas() -> None:
    lines = cat.dumps_categories_csv(["=1+1", "mask", "'q"]).decode().splitlines()
    assert lines == ["category", "'=1+1", "mask", "''q"]


def test_xlsx_cells_are_text() -> None:
    wb = load_workbook(io.BytesIO(cat.dumps_categories_xlsx(["=1+1", "mask"])))
    ws = wb.active
    assert [c.value for c in ws["A"]] == ["category", "=1+1", "mask"]
    assert [c.data_type for c in ws["A"]] == ["s", "s", "s"]


@pytest.mark.parametrize(
    "text",
    [
        b'["mask", "no_mask"]',
        b'{"categories": ["mask", "no_mask"]}',
        b'{"categories": [" mask ", "no_mask"]}',
    ],
)
def test_json_list_or_object(text: bytes) -> None:
    assert cat.loads_categories_json(text) == ["mask", "no_mask"]


@pytest.mark.parametrize(
    "text",
    [
        b"mask\nno_mask\n",
        b"category\nmask\nno_mask\n",
        b"\xef\xbb\xbfCategory\r\nmask\r\n\r\nno_mask\r\n",
        b'"mask"\n"no_mask",\n',
        b"\n\n category \n mask\nno_mask",
    ],
)
def test_csv_header_is_optional(text: bytes) -> None:
    assert cat.loads_categories_csv(text) == ["mask", "no_mask"]


def _xlsx(rows: list[list[object]]) -> bytes:
    wb = Workbook()
    for row in rows:
        wb.active.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_xlsx_without_header_and_with_numbers() -> None:
    assert cat.loads_categories_xlsx(_xlsx([["mask"], [None], [2021]])) == ["mask", "2021"]


BAD_JSON: list[tuple[bytes, str]] = [
    (b"", ""),
    (b"  \n", ""),
    (b"[]", ""),
    (b'{"categories": []}', ""),
    (b"[1, 2]", "[0]"),
    (b'["mask", null]', "[1]"),
    (b'["mask", ["x"]]', "[1]"),
    (b'"mask"', ""),
    (b'{"categories": "mask"}', "categories"),
    (b'{"names": ["mask"]}', "categories"),
    (b'["mask", "mask"]', "[1]"),
    (b'["mask", " mask"]', "[1]"),
    (b'["mask", ""]', "[1]"),
    (b'["mask", "   "]', "[1]"),
    (b'["a\\u0007b"]', "[0]"),
    (b'["' + b"x" * 101 + b'"]', "[0]"),
    (b"[NaN]", "[0]"),
    (b"[", ""),
]

BAD_CSV: list[tuple[bytes, str]] = [
    (b"", ""),
    (b"category\n", ""),
    (b"mask,no_mask\n", "row 1"),
    (b"category\nmask\n,no_mask\n", "row 3"),
    (b"mask\nmask\n", "row 2"),
    (b"mask\n\x07\n", "row 2"),
    (b"mask\n\xff\xfe\n", ""),
    (b'mask\n"unterminated\x00\n', "row 2"),
    (b"mask\n" + b"x" * 200_000, ""),
]

BAD_XLSX: list[tuple[bytes, str]] = [
    (b"", ""),
    (b"PK\x03\x04 not really a zip", ""),
    (zip_files({"hello.txt": b"not a workbook"}), ""),
    (_xlsx([["mask", "extra"]]), "row 1"),
    (_xlsx([["mask"], ["=1+1"]]), "row 2"),
    (_xlsx([["mask"], [True]]), "row 2"),
    (_xlsx([["mask"], ["mask"]]), "row 2"),
    (_xlsx([]), ""),
]

LOADERS: dict[str, Callable[..., list[str]]] = {ext: load for ext, _, load in FORMATS}


@pytest.mark.parametrize(
    ("ext", "data", "field"),
    [("json", *case) for case in BAD_JSON]
    + [("csv", *case) for case in BAD_CSV]
    + [("xlsx", *case) for case in BAD_XLSX],
)
def test_bad_file(ext: str, data: bytes, field: str) -> None:
    with pytest.raises(FormatError) as info:
        LOADERS[ext](data, file=f"c.{ext}")
    assert (info.value.file, info.value.field) == (f"c.{ext}", field)


def test_xlsx_with_a_doctype_is_refused() -> None:
    evil = zip_files({"[Content_Types].xml": b'<!DOCTYPE x [<!ENTITY a "b">]><Types/>'})
    with pytest.raises(FormatError) as info:
        cat.loads_categories_xlsx(evil, file="c.xlsx")
    assert "DOCTYPE" in info.value.detail


def test_unknown_extension() -> None:
    with pytest.raises(FormatError):
        cat.loads_categories(b"mask", "list.txt")


def _sparse_xlsx(cells: dict[str, object]) -> bytes:
    wb = Workbook()
    for ref, value in cells.items():
        wb.active[ref] = value
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_xlsx_reads_a_bounded_part_of_the_sheet(monkeypatch: pytest.MonkeyPatch) -> None:
    """One cell at XFD4000 declares a 16384 x 4000 sheet: only the bounded corner is read."""
    from openpyxl.worksheet._read_only import ReadOnlyWorksheet

    data = _sparse_xlsx({"A1": "category", "A2": "mask", "XFD4000": "far away"})
    assert len(data) < 10_000
    cells_read = [0]
    real_iter_rows = ReadOnlyWorksheet.iter_rows
    bound = 2 * (cat.MAX_XLSX_ROWS + 1) * cat.MAX_XLSX_COLUMNS

    def counting_iter_rows(self: ReadOnlyWorksheet, *args: Any, **kwargs: Any) -> Iterator[tuple[Any, ...]]:
        for row in real_iter_rows(self, *args, **kwargs):
            cells_read[0] += len(row)
            if cells_read[0] > bound:
                raise AssertionError(f"read more than {bound} cells")
            yield row

    monkeypatch.setattr(ReadOnlyWorksheet, "iter_rows", counting_iter_rows)
    assert cat.loads_categories_xlsx(data) == ["mask"]
    assert cells_read[0] <= bound


def test_xlsx_name_below_the_rows_read_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cat, "MAX_XLSX_ROWS", 3)
    assert cat.loads_categories_xlsx(_sparse_xlsx({"A1": "a", "A2": "b", "A3": "c"})) == ["a", "b", "c"]
    with pytest.raises(FormatError) as info:
        cat.loads_categories_xlsx(_sparse_xlsx({"A1": "a", "A40": "late"}), file="c.xlsx")
    assert info.value.field == "row 40"
    assert "at most 3 rows" in info.value.detail


@pytest.mark.parametrize("ext", ["json", "csv", "xlsx"])
def test_a_list_over_the_size_limit_is_refused_unread(ext: str) -> None:
    with pytest.raises(FormatError) as info:
        cat.loads_categories(b"x" * (cat.MAX_LIST_BYTES + 1), f"c.{ext}")
    assert "at most 10 MB" in info.value.detail


@pytest.mark.parametrize(
    ("data", "field", "reason"),
    [
        (
            '["mask", "ma\u200bsk2"]'.encode(),
            "[1]",
            "contains an invisible character (U+200B ZERO WIDTH SPACE)",
        ),
        (
            f'["{unicodedata.normalize("NFC", "café")}", "{unicodedata.normalize("NFD", "café")}"]'.encode(),
            "[1]",
            "looks the same as",
        ),
        ('["no mask", "no\u00a0mask"]'.encode(), "[1]", "looks the same as 'no mask'"),
    ],
)
def test_a_list_with_invisible_or_look_alike_names_is_refused(data: bytes, field: str, reason: str) -> None:
    with pytest.raises(FormatError) as info:
        cat.loads_categories_json(data, file="c.json")
    assert info.value.field == field and reason in info.value.detail
