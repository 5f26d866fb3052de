"""Category lists as JSON, CSV and XLSX (export all three; import all three).

    JSON: {"categories": ["None", "mask", ...]}   (a bare list is accepted on import)
    CSV / XLSX: one name per row in the first column, under an optional `category` header

Names are kept literally (`../x` and `<b>x</b>` included): the UI shows them as text and
core.fsutil.safe_name makes folder names later. Spreadsheet formula injection is defused: the XLSX
cells are typed as text, and a CSV name starting with = + - @ or ' gets a leading ' that import
removes again, so a round trip is exact. Exports always write the header, so a category named
`category` survives; a headerless file whose first name is `category` loses that row.

Limits: a list file over MAX_LIST_BYTES is refused unread; a spreadsheet is read only in its
first MAX_XLSX_ROWS rows and MAX_XLSX_COLUMNS columns (a name further down refuses the file).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any

from core.annotation.category_names import check_new_name, look_alike_key, validate_category_name
from core.annotation.formats.archive import read_zip
from core.annotation.formats.common import json_bytes
from core.annotation.formats.seed_json import parse_json_text
from core.annotation.formats.voc import check_no_dtd
from core.errors import CategoryError, FormatError

HEADER = "category"
_GUARDED = ("=", "+", "-", "@", "'")
#: A category list file larger than this is refused before it is read.
MAX_LIST_BYTES = 10 * 1024 * 1024
#: A spreadsheet is read up to this many rows (a header plus the names) and columns, whatever
#: size its sheet declares: a stray cell at XFD4000 would otherwise make openpyxl fill in 65
#: million empty cells. A name below the last row read refuses the file; cells right of the
#: last column read are not looked at.
MAX_XLSX_ROWS = 10_001
MAX_XLSX_COLUMNS = 26


def check_names(values: Iterable[tuple[str, Any]], *, file: str) -> list[str]:
    """Validated new names from (field, value) pairs (no invisible character, no two that look
    the same: see core.annotation.category_names); FormatError names the offending field."""
    out: list[str] = []
    seen: set[str] = set()
    keys: dict[str, str] = {}
    for fld, value in values:
        if not isinstance(value, str):
            raise FormatError(f"a category name must be text, got {value!r}", file=file, field=fld)
        try:
            name = validate_category_name(value)
            if name not in seen:
                check_new_name(name, keys)  # invisible characters, look-alikes of an earlier name
        except CategoryError as exc:
            raise FormatError(str(exc), file=file, field=fld) from exc
        if name in seen:
            raise FormatError(f"duplicate category {name!r}", file=file, field=fld)
        seen.add(name)
        keys.setdefault(look_alike_key(name), name)
        out.append(name)
    if not out:
        raise FormatError("no categories in the file", file=file)
    return out


def _nonempty(data: str | bytes, file: str) -> None:
    if len(data) > MAX_LIST_BYTES:
        raise FormatError(f"a category list is at most {MAX_LIST_BYTES // 2**20} MB", file=file)
    if not data.strip():
        raise FormatError("the file is empty", file=file)


# ----- JSON ---------------------------------------------------------------------------------
def dumps_categories_json(categories: Iterable[str]) -> bytes:
    """{"categories": [...]} as UTF-8 bytes."""
    return json_bytes({"categories": list(categories)})


def loads_categories_json(data: str | bytes, *, file: str = "categories.json") -> list[str]:
    """Names from a JSON list or {"categories": [...]}."""
    _nonempty(data, file)
    obj = parse_json_text(data, file=file)
    fld = ""
    if isinstance(obj, dict):
        fld = "categories"
        if fld not in obj:
            raise FormatError("missing", file=file, field=fld)
        obj = obj[fld]
    if not isinstance(obj, list):
        raise FormatError("expected a list of names or {'categories': [...]}", file=file, field=fld)
    return check_names(((f"{fld}[{i}]", v) for i, v in enumerate(obj)), file=file)


# ----- CSV / XLSX rows ----------------------------------------------------------------------
def _guard(name: str) -> str:
    return f"'{name}" if name.startswith(_GUARDED) else name


def _unguard(name: str) -> str:
    return name[1:] if len(name) > 1 and name[0] == "'" and name[1] in "=+-@'" else name


def _blank(cell: Any) -> bool:
    return cell is None or (isinstance(cell, str) and not cell.strip())


def _from_rows(rows: Iterable[tuple[int, list[Any]]], *, file: str, unguard: bool) -> list[str]:
    """Names from (row number, cells): blank rows skipped, an optional header on the first row."""
    pairs: list[tuple[str, Any]] = []
    first = True
    for n, cells in rows:
        filled = [(j, c) for j, c in enumerate(cells) if not _blank(c)]
        if not filled:
            continue
        if len(filled) > 1 or filled[0][0] != 0:
            raise FormatError("expected one category in the first column", file=file, field=f"row {n}")
        value = filled[0][1]
        if first and isinstance(value, str) and value.strip().lower() == HEADER:
            first = False
            continue
        first = False
        if isinstance(value, str) and unguard:
            value = _unguard(value.strip())
        pairs.append((f"row {n}", value))
    return check_names(pairs, file=file)


def dumps_categories_csv(categories: Iterable[str]) -> bytes:
    """A one-column CSV with a `category` header, UTF-8."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow([HEADER])
    writer.writerows([_guard(c)] for c in categories)
    return buf.getvalue().encode("utf-8")


def loads_categories_csv(data: str | bytes, *, file: str = "categories.csv") -> list[str]:
    """Names from the first column of a CSV (header `category` optional)."""
    _nonempty(data, file)
    try:
        text = data.decode("utf-8-sig") if isinstance(data, bytes) else data
        rows = [(n, list(r)) for n, r in enumerate(csv.reader(io.StringIO(text, newline="")), start=1)]
    except (UnicodeDecodeError, csv.Error) as exc:
        raise FormatError(f"not a readable UTF-8 CSV file ({exc})", file=file) from exc
    return _from_rows(rows, file=file, unguard=True)


def dumps_categories_xlsx(categories: Iterable[str]) -> bytes:
    """An XLSX workbook: sheet `categories`, header `category`, one name per row, all cells text."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    ws.title = "categories"
    ws.append([HEADER])
    ws["A1"].font = Font(bold=True)
    for row, name in enumerate(categories, start=2):
        cell = ws.cell(row=row, column=1, value=name)
        cell.data_type = "s"  # never a formula, even for "=..."
    ws.column_dimensions["A"].width = 30
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def loads_categories_xlsx(data: bytes, *, file: str = "categories.xlsx") -> list[str]:
    """Names from the first column of the first sheet (header `category` optional)."""
    from openpyxl import load_workbook

    _nonempty(data, file)
    for name, part in read_zip(data, file=file).items():
        if name.endswith((".xml", ".rels")):
            check_no_dtd(part, file=f"{file}:{name}")
    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except Exception as exc:
        raise FormatError(f"not a readable XLSX workbook ({exc})", file=file) from exc
    try:
        sheet = wb.worksheets[0]
        sheet.reset_dimensions()  # never trust the size the sheet declares
        rows = []
        below = sheet.iter_rows(min_row=MAX_XLSX_ROWS + 1, max_col=MAX_XLSX_COLUMNS, values_only=True)
        for n, values in enumerate(below, start=MAX_XLSX_ROWS + 1):  # empty rows are cheap tuples of None
            if values.count(None) != len(values) and not all(_blank(v) for v in values):
                raise FormatError(
                    f"a category list has at most {MAX_XLSX_ROWS:,} rows", file=file, field=f"row {n}"
                )
        for n, row in enumerate(sheet.iter_rows(max_row=MAX_XLSX_ROWS, max_col=MAX_XLSX_COLUMNS), start=1):
            cells: list[Any] = []
            for cell in row:
                if getattr(cell, "data_type", None) == "f":
                    raise FormatError("formulas are not allowed", file=file, field=f"row {n}")
                value = cell.value
                cells.append(str(value) if isinstance(value, int) and not isinstance(value, bool) else value)
            rows.append((n, cells))
    finally:
        wb.close()
    return _from_rows(rows, file=file, unguard=False)


def loads_categories(data: bytes, filename: str) -> list[str]:
    """Names from an upload, by extension: .json, .csv or .xlsx."""
    ext = filename.lower().rsplit(".", 1)[-1] if "." in filename else ""
    readers = {"json": loads_categories_json, "csv": loads_categories_csv, "xlsx": loads_categories_xlsx}
    if ext not in readers:
        raise FormatError("expected a .json, .csv or .xlsx file", file=filename)
    return readers[ext](data, file=filename)
