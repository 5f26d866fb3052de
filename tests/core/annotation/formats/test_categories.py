"""Category lists: JSON, CSV and XLSX round trips, literal names, bad files."""

from __future__ import annotations

import io
from collections.abc import Callable

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


BAD_FILES = {
    "json": [
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
    ],
    "csv": [
        (b"", ""),
        (b"category\n", ""),
        (b"mask,no_mask\n", "row 1"),
        (b"category\nmask\n,no_mask\n", "row 3"),
        (b"mask\nmask\n", "row 2"),
        (b"mask\n\x07\n", "row 2"),
        (b"mask\n\xff\xfe\n", ""),
        (b'mask\n"unterminated\x00\n', "row 2"),
        (b"mask\n" + b"x" * 200_000, ""),
    ],
    "xlsx": [
        (b"", ""),
        (b"PK\x03\x04 not really a zip", ""),
        (zip_files({"hello.txt": b"not a workbook"}), ""),
        (_xlsx([["mask", "extra"]]), "row 1"),
        (_xlsx([["mask"], ["=1+1"]]), "row 2"),
        (_xlsx([["mask"], [True]]), "row 2"),
        (_xlsx([["mask"], ["mask"]]), "row 2"),
        (_xlsx([]), ""),
    ],
}


@pytest.mark.parametrize(
    ("kind", "data", "field"),
    [(kind, data, field) for kind, cases in BAD_FILES.items() for data, field in cases],
)
def test_bad_files_are_located(kind: str, data: bytes, field: str) -> None:
    load = getattr(cat, f"loads_categories_{kind}")
    with pytest.raises(FormatError) as info:
        load(data, file=f"c.{kind}")
    assert (info.value.file, info.value.field) == (f"c.{kind}", field)


def test_xlsx_with_a_doctype_is_refused() -> None:
    evil = zip_files({"[Content_Types].xml": b'<!DOCTYPE x [<!ENTITY a "b">]><Types/>'})
    with pytest.raises(FormatError) as info:
        cat.loads_categories_xlsx(evil, file="c.xlsx")
    assert "DOCTYPE" in info.value.detail


def test_unknown_extension() -> None:
    with pytest.raises(FormatError):
        cat.loads_categories(b"mask", "list.txt")
