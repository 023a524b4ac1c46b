"""Tables in and out: reading uploaded CSV or XLSX into rows with their spreadsheet row
numbers, and writing every CSV / XLSX export.

Shared by every bulk import (the chain, HR appraisal points, paper questionnaires) so that all
of them accept the same files, report errors by the row number a user sees in Excel, and read
headers in English or Chinese; and by every export, so that all of them write the same way
(a frozen header, number formats, UTF-8 CSV that Excel reads, no cell run as a formula).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import IO

import filetype
import xlsxwriter
from django.utils import translation
from django.utils.translation import gettext as _

from satisfaction.errors import ApplicationError


@dataclass
class Table:
    name: str
    headers: list[str]
    rows: list[tuple[int, dict[str, object]]]  # (row number as the user sees it, values)
    # Each column's header as the user wrote it in the file (``headers`` are the normalised
    # keys): error messages name the column the user sees, not the key the code reads.
    source_headers: dict[str, str] = field(default_factory=dict)

    def header_label(self, column: str) -> str:
        """The header the user used for ``column``; the column itself when the file has none."""
        return self.source_headers.get(column) or column


@dataclass
class RowError:
    table: str
    row: int
    column: str
    message: str

    def __str__(self) -> str:
        return _("%(table)s row %(row)s, column %(column)s: %(message)s") % {
            "table": self.table, "row": self.row, "column": self.column or "-",
            "message": self.message,
        }


@dataclass
class RowErrors:
    errors: list[RowError] = field(default_factory=list)

    def add(self, table: str | Table, row: int, column: str, message: str) -> None:
        """One bad cell. Given the ``Table``, the message names the column by the header the
        user wrote (``Table.header_label``)."""
        if isinstance(table, Table):
            table, column = table.name, table.header_label(column) if column else column
        self.errors.append(RowError(table, row, column, str(message)))

    def __bool__(self) -> bool:
        return bool(self.errors)

    def raise_if_any(self, message: str) -> None:
        if self.errors:
            raise ApplicationError(
                message,
                fields={"rows": [str(error) for error in self.errors]},
                code="invalid_rows",
            )


def _normalise_header(header: object, aliases: dict[str, str]) -> str:
    text = str(header or "").strip().lower().replace(" ", "_")
    return aliases.get(text, text)


def read_tables(file_name: str, content: bytes, aliases: dict[str, str]) -> list[Table]:
    """Every sheet of an XLSX file, or the one table of a CSV file (UTF-8, BOM tolerated)."""
    lowered = file_name.lower()
    if lowered.endswith(".xlsx"):
        return _read_xlsx(content, aliases)
    if lowered.endswith((".csv", ".txt")):
        return [_read_csv(file_name, content, aliases)]
    raise ApplicationError(_("Upload a .csv or .xlsx file."), fields={"file": [
        _("Unsupported file type: %(name)s") % {"name": file_name}]}, code="unsupported_file")


def _decode_text(content: bytes) -> str:
    """A CSV file's text (UTF-8, BOM tolerated, or GB18030 as Chinese Excel saves it).

    A file that is not text (a photo or a workbook renamed .csv, a NUL byte, bytes neither
    encoding reads) is a clear error naming what it looks like: PostgreSQL refuses NUL in text,
    and nobody means to import a picture.
    """
    if content.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ApplicationError(_("The file is UTF-16 text. Save the sheet as CSV (UTF-8) or "
                                 "upload the .xlsx workbook."), code="bad_encoding")
    if b"\x00" not in content:
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                return content.decode(encoding)
            except UnicodeDecodeError:
                continue
    guess = filetype.guess(content[:8192])
    if guess is not None:
        raise ApplicationError(
            _("The file is not CSV text: it is a %(kind)s file. Save the sheet as CSV (UTF-8) "
              "or upload the .xlsx workbook.") % {"kind": guess.extension.upper()},
            code="not_text")
    if b"\x00" in content:
        raise ApplicationError(
            _("The file is not CSV text: it contains binary data (NUL bytes). Save the sheet "
              "as CSV (UTF-8) or upload the .xlsx workbook."), code="not_text")
    raise ApplicationError(_("The file is not UTF-8 or GB18030 text."), code="bad_encoding")


def _read_csv(file_name: str, content: bytes, aliases: dict[str, str]) -> Table:
    text = _decode_text(content)
    reader = csv.reader(io.StringIO(text))
    try:
        raw_headers = next(reader)
    except StopIteration:
        raise ApplicationError(_("The file is empty."), code="empty_file") from None
    except csv.Error as exc:  # a header cell over the csv module's field size limit
        raise _unreadable_csv() from exc
    headers = [_normalise_header(h, aliases) for h in raw_headers]
    source = _source_headers(headers, raw_headers)
    rows = []
    try:
        for number, values in enumerate(reader, start=2):
            if not any(v.strip() for v in values):
                continue
            rows.append((number, {h: (values[i].strip() if i < len(values) else "")
                                  for i, h in enumerate(headers) if h}))
    except csv.Error as exc:  # a cell over the csv module's field size limit, a stray quote
        raise _unreadable_csv() from exc
    return Table(name=file_name.rsplit("/", 1)[-1], headers=headers, rows=rows,
                 source_headers=source)


def _source_headers(headers: list[str], raw_headers) -> dict[str, str]:
    return {key: str(raw).strip() for key, raw in zip(headers, raw_headers, strict=False)
            if key and raw is not None}


def _unreadable_csv() -> ApplicationError:
    return ApplicationError(_("The file is not a readable CSV table (a cell is too long or a "
                              "quote is not closed)."), code="bad_csv")


def _read_xlsx(content: bytes, aliases: dict[str, str]) -> list[Table]:
    # Deferred: openpyxl takes about 0.1 s to import, and every process imports this module
    # (the services do) while only an upload of a workbook needs it.
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a damaged file
        raise ApplicationError(_("The file is not a readable XLSX workbook."),
                               code="bad_xlsx") from exc
    try:
        tables = [table for sheet in workbook.worksheets
                  if (table := _read_sheet(sheet, aliases)) is not None]
    except ApplicationError:
        raise
    except Exception as exc:  # read-only mode parses a sheet lazily, as it is read
        raise ApplicationError(_("The file is not a readable XLSX workbook."),
                               code="bad_xlsx") from exc
    finally:
        workbook.close()
    return tables


def _read_sheet(sheet, aliases: dict[str, str]) -> Table | None:
    iterator = sheet.iter_rows(values_only=True)
    try:
        raw_headers = next(iterator)
    except StopIteration:
        return None
    headers = [_normalise_header(h, aliases) for h in raw_headers]
    source = _source_headers(headers, raw_headers)
    rows = []
    errors = RowErrors()
    for number, values in enumerate(iterator, start=2):
        if not any(v not in (None, "") for v in values):
            continue
        row = {h: _cell(values[i] if i < len(values) else None)
               for i, h in enumerate(headers) if h}
        for column, value in row.items():
            if isinstance(value, str) and "\x00" in value:  # written as _x0000_ in the XML
                errors.add(sheet.title, number, source.get(column, column),
                           _("contains a NUL character"))
        rows.append((number, row))
    errors.raise_if_any(_("Nothing was imported: fix these rows and upload the file again."))
    return Table(name=sheet.title, headers=headers, rows=rows, source_headers=source)


def _cell(value: object) -> object:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, str):
        return value.strip()
    if value is None:
        return ""
    return value


def parse_date(value: object) -> date | None:
    """Accept a date cell, ``2024-03-01`` or ``2024/3/1``; empty is None; else ValueError."""
    if value in ("", None):
        return None
    if isinstance(value, date):
        return value
    text = str(value).strip().replace("/", "-").replace(".", "-")
    return date.fromisoformat("-".join(part.zfill(2) for part in text.split("-")))


TRUE_WORDS = {"1", "true", "yes", "y", "是", "在营", "在职", "active"}
FALSE_WORDS = {"0", "false", "no", "n", "否", "关闭", "离职", "inactive"}


def parse_bool(value: object, *, default: bool) -> bool:
    if value in ("", None):
        return default
    text = str(value).strip().lower()
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    raise ValueError(value)


# --- Writing tables (every CSV / XLSX export) ---------------------------------------------------

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_CONTENT_TYPE = "text/csv; charset=utf-8"
# A cell a spreadsheet would run as a formula (OWASP "CSV injection").
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Column:
    """A column of an export: its header, Excel number format and width (in characters)."""

    header: str
    number_format: str = ""
    width: float = 12


def csv_cell(value: object) -> object:
    """Empty for None; text that a spreadsheet would run as a formula gets a leading '."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return f"'{value}"
    return value


def write_csv(buffer: IO[bytes], columns: list[Column], rows) -> int:
    """UTF-8 with a BOM, so that Excel opens Chinese text correctly. Rows are written as they
    come (an iterator of 100,000 rows is never held in memory). Returns the rows written."""
    text = io.TextIOWrapper(buffer, encoding="utf-8-sig", newline="", write_through=True)
    writer = csv.writer(text)
    writer.writerow([column.header for column in columns])
    count = 0
    for row in rows:
        writer.writerow([csv_cell(value) for value in row])
        count += 1
    text.flush()
    text.detach()  # the caller's buffer stays open
    return count


@dataclass
class Sheet:
    """One sheet of a workbook: its name (Excel keeps 31 characters), columns and rows (an
    iterable of cells in column order, consumed once)."""

    name: str
    columns: list[Column]
    rows: Iterable[Sequence[object]]
    frozen_columns: int = 0


def write_xlsx(buffer: io.BytesIO, columns: list[Column], rows, *, sheet: str,
               frozen_columns: int = 0) -> int:
    """One sheet: a bold frozen header, number formats and widths, a filter; returns the
    number of rows written. Text is always written as text, never as a formula."""
    return write_workbook(buffer, [Sheet(sheet, columns, rows, frozen_columns)])[0]


def write_workbook(buffer: io.BytesIO, sheets: list[Sheet], *, active: int = 0) -> list[int]:
    """Several sheets, each written as ``write_xlsx`` writes one; ``active`` is the sheet
    Excel opens on. Returns the number of rows written to each sheet.

    XlsxWriter in constant-memory mode streams rows to disk: 100,000 rows in a few seconds
    without holding the sheet in memory (each sheet is written in full before the next).
    """
    workbook = xlsxwriter.Workbook(buffer, {"constant_memory": True, "in_memory": False})
    header = workbook.add_format({"bold": True, "bg_color": "#DDEBF7", "text_wrap": True,
                                  "valign": "vcenter", "border": 1})
    counts = []
    for position, sheet in enumerate(sheets):
        worksheet = workbook.add_worksheet(sheet.name[:31])
        counts.append(_write_sheet(workbook, worksheet, sheet, header))
        if position == active:
            worksheet.activate()
    workbook.close()
    return counts


def _write_sheet(workbook, worksheet, sheet: Sheet, header) -> int:
    columns = sheet.columns
    for index, column in enumerate(columns):
        number_format = workbook.add_format({"num_format": column.number_format}) if (
            column.number_format) else None
        worksheet.set_column(index, index, column.width, number_format)
    worksheet.write_row(0, 0, [column.header for column in columns], header)
    worksheet.freeze_panes(1, sheet.frozen_columns)
    count = 0
    for count, row in enumerate(sheet.rows, start=1):
        for index, value in enumerate(row):
            if isinstance(value, bool):
                worksheet.write_boolean(count, index, value)
            elif isinstance(value, int | float):
                worksheet.write_number(count, index, value)
            elif value is not None and value != "":
                worksheet.write_string(count, index, str(value))
    worksheet.autofilter(0, 0, count, len(columns) - 1)
    return count


# --- Import templates ---------------------------------------------------------------------------

@dataclass(frozen=True)
class TemplateColumn:
    """A column of an import's template: the key the import reads, the header written in the
    user's language (the import accepts it through its aliases), an example value and a note."""

    key: str
    header: str
    example: object = ""
    note: str = ""
    required: bool = False


def template_file(columns: list[TemplateColumn], fmt: str, *, sheet: str = "data",
                  more: dict[str, list[TemplateColumn]] | None = None) -> tuple[bytes, str]:
    """The empty template of an import, as CSV or XLSX: the headers in the user's language,
    one example row. The XLSX has a sheet per table (``more``: further sheets by name, e.g. the
    chain's employees beside its stores) and a last sheet explaining each column. Returns the
    bytes and the content type."""
    buffer = io.BytesIO()
    if fmt == "csv":
        write_csv(buffer, [Column(str(column.header)) for column in columns],
                  [[column.example for column in columns]])
        return buffer.getvalue(), CSV_CONTENT_TYPE
    if fmt != "xlsx":
        raise ApplicationError(_("Choose CSV or XLSX."), fields={"format": [
            _("Choose CSV or XLSX.")]}, code="bad_format")
    tables = {sheet: columns, **(more or {})}
    sheets = [Sheet(str(name), [Column(str(column.header),
                                       width=max(12, len(str(column.header)) * 1.6))
                           for column in table], [[column.example for column in table]])
              for name, table in tables.items()]
    notes = [[str(name), str(column.header), _("required") if column.required else _("optional"),
              str(column.note)] for name, table in tables.items() for column in table]
    sheets.append(Sheet(_("How to fill in"), [
        Column(_("Sheet"), width=14), Column(_("Column"), width=24),
        Column(_("Required"), width=10), Column(_("What to enter"), width=80)], notes))
    write_workbook(buffer, sheets)
    return buffer.getvalue(), XLSX_CONTENT_TYPE


def template_aliases(columns: Iterable[TemplateColumn], languages: Iterable[str]) -> dict[str, str]:
    """The header of each template column in each of ``languages``, normalised as a file's
    headers are, to its key: an import reads back the template it hands out, in any language."""
    aliases = {}
    for language in languages:
        with translation.override(language):
            aliases.update({_normalise_header(str(column.header), {}): column.key
                            for column in columns})
    return aliases
