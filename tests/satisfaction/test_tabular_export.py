"""The one table writer of every export: CSV Excel can read, XLSX with formats, no formulas."""

from __future__ import annotations

import io

from openpyxl import load_workbook

from satisfaction.tabular import Column, Sheet, csv_cell, write_csv, write_workbook, write_xlsx

COLUMNS = [Column("门店"), Column("评估值", "0.00"), Column("达标", "")]
ROWS = [['=HYPERLINK("http://x")', 71.256, True], ["+1", None, False], ["\t-2", 3, True]]


def test_a_cell_a_spreadsheet_would_run_is_quoted_and_none_is_empty():
    assert [csv_cell(v) for v in ("=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx")] == [
        "'=1+1", "'+1", "'-1", "'@SUM(A1)", "'\tx", "'\rx"]
    assert csv_cell(None) == ""
    assert csv_cell(-1.5) == -1.5  # numbers are numbers
    assert csv_cell("上海人民路店") == "上海人民路店"


def test_csv_has_a_bom_a_header_and_quoted_formulas():
    buffer = io.BytesIO()
    write_csv(buffer, COLUMNS, ROWS)
    data = buffer.getvalue()
    assert data.startswith("\ufeff".encode())
    lines = data.decode("utf-8-sig").splitlines()
    assert lines[0] == "门店,评估值,达标"
    assert lines[1].startswith("\"'=HYPERLINK(")
    assert lines[2] == "'+1,,False"


def test_xlsx_writes_text_as_text_numbers_with_their_format_and_freezes_the_header():
    buffer = io.BytesIO()
    assert write_xlsx(buffer, COLUMNS, ROWS, sheet="x" * 40, frozen_columns=1) == 3
    sheet = load_workbook(io.BytesIO(buffer.getvalue())).active
    assert sheet.title == "x" * 31  # Excel's limit
    assert [c.value for c in sheet[1]] == ["门店", "评估值", "达标"]
    formula = sheet["A2"]
    assert formula.value == '=HYPERLINK("http://x")'
    assert formula.data_type == "s"  # a string, never run
    assert sheet["B2"].value == 71.256
    assert sheet["B2"].number_format == "0.00"
    assert sheet["C2"].value is True
    assert sheet["B3"].value is None
    assert sheet.freeze_panes == "B2"


def test_a_workbook_has_several_sheets_and_opens_on_the_active_one():
    buffer = io.BytesIO()
    counts = write_workbook(buffer, [
        Sheet("about", [Column("item"), Column("value")], [["quarter", "2026Q2"]]),
        Sheet("rows", COLUMNS, ROWS, frozen_columns=1),
    ], active=1)
    assert counts == [1, 3]
    workbook = load_workbook(io.BytesIO(buffer.getvalue()))
    assert workbook.sheetnames == ["about", "rows"]
    assert workbook.active.title == "rows"
    assert workbook["about"]["B2"].value == "2026Q2"
    assert workbook["rows"]["A2"].data_type == "s"  # each sheet escapes formulas alike
    assert workbook["rows"].freeze_panes == "B2"
