"""HR: appraisal points import (all or nothing, re-import replaces) and the bonus export."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import Workbook, load_workbook

from satisfaction.errors import ApplicationError
from scoring.models import AppraisalPoints, ExportLog
from scoring.services import appraisal_import, hr_export, quarter_publish, scheme_create_version
from tests.scoring.conftest import PAST


def csv_bytes(rows):
    text = io.StringIO()
    csv.writer(text).writerows(rows)
    return text.getvalue().encode("utf-8")


def test_hr_imports_points_from_csv_with_chinese_headers(hr, staff):
    content = csv_bytes([["工号", "季度", "财务得分", "其他得分"],
                         ["E10001", "2026Q2", "45", "18"],
                         ["E10002", "2026Q2", "40.5", "20"]])
    assert appraisal_import(user=hr, file_name="points.csv", content=content) == 2
    points = AppraisalPoints.objects.get(employee=staff["pharmacist"], quarter=PAST)
    assert (points.financial_points, points.other_points) == (40.5, 20.0)
    assert points.imported_by == hr


def test_a_bad_row_imports_nothing_and_names_the_row(hr, staff):
    content = csv_bytes([["employee_number", "quarter", "financial_points", "other_points"],
                         ["E10001", "2026Q2", "45", "18"],
                         ["E99999", "2026Q2", "45", "18"],
                         ["E10002", "2026Q9", "70", "x"]])
    with pytest.raises(ApplicationError) as error:
        appraisal_import(user=hr, file_name="points.csv", content=content)
    rows = error.value.fields["rows"]
    assert any("3" in r and "E99999" in r for r in rows)
    assert any("4" in r and "quarter" in r for r in rows)
    assert AppraisalPoints.objects.count() == 0


def test_points_above_the_appraisal_weight_are_refused(hr, staff):
    content = csv_bytes([["employee_number", "quarter", "financial_points", "other_points"],
                         ["E10001", "2026Q2", "51", "18"]])
    with pytest.raises(ApplicationError) as error:
        appraisal_import(user=hr, file_name="points.csv", content=content)
    assert "financial_points" in error.value.fields["rows"][0]


def test_a_reimport_replaces_the_points_from_xlsx(hr, staff):
    appraisal_import(user=hr, file_name="a.csv", content=csv_bytes([
        ["employee_number", "quarter", "financial_points", "other_points"],
        ["E10001", "2026Q2", "45", "18"]]))
    workbook = Workbook()
    workbook.active.append(["employee_number", "quarter", "financial_points", "other_points"])
    workbook.active.append(["E10001", "2026Q2", 30, 10])
    buffer = io.BytesIO()
    workbook.save(buffer)
    appraisal_import(user=hr, file_name="b.xlsx", content=buffer.getvalue())
    points = AppraisalPoints.objects.get()
    assert (points.financial_points, points.other_points) == (30.0, 10.0)


def test_store_managers_may_not_import(store_manager, staff):
    with pytest.raises(ApplicationError) as error:
        appraisal_import(user=store_manager, file_name="a.csv", content=b"x")
    assert error.value.status == 403


@pytest.fixture
def published(rolled_up, hq, hr, staff):
    scheme_create_version(user=hq, bonus_k=5, bonus_target=70)
    from scoring.services import rollup_quarter

    rollup_quarter(quarter=PAST, user=hq)
    appraisal_import(user=hr, file_name="a.csv", content=csv_bytes([
        ["employee_number", "quarter", "financial_points", "other_points"],
        ["E10001", "2026Q2", "45", "18"]]))
    return quarter_publish(quarter=PAST, user=hq)


def test_the_xlsx_export_is_made_for_excel_and_logged(published, hr):
    name, content, content_type = hr_export(user=hr, quarter=PAST, file_format="xlsx",
                                            language="zh-hans")
    assert name == "satisfaction-bonus-2026Q2-r1.xlsx"
    assert content_type.endswith("spreadsheetml.sheet")
    sheet = load_workbook(io.BytesIO(content)).active
    assert sheet.freeze_panes == "C2"
    headers = [c.value for c in sheet[1]]
    assert headers[0] == "工号"
    rows = {r[0]: r for r in sheet.iter_rows(min_row=2, values_only=True)}
    clerk = rows["E10001"]
    # value 68 -> 68 x 30 / 100 = 20.4 points; total 20.4 + 45 + 18 = 83.4;
    # bonus 1 + 5 x (68 - 70) / 100 = 0.9
    assert clerk[6] == pytest.approx(68.0)
    assert clerk[7] == pytest.approx(20.4)
    assert clerk[10] == pytest.approx(83.4)
    assert clerk[11] == pytest.approx(0.9)
    assert clerk[12] == 1
    assert sheet.cell(row=2, column=7).number_format == "0.00"
    assert sheet.column_dimensions["C"].width == pytest.approx(24, abs=1)
    assert rows["E10002"][10] is None  # no financial points imported: no total
    log = ExportLog.objects.get()
    assert (log.user, log.file_format, log.row_count, log.rollup) == (hr, "xlsx", 3, published)


def test_the_csv_export_has_english_headers_when_asked(published, hq):
    _name, content, _type = hr_export(user=hq, quarter=PAST, file_format="csv", language="en")
    assert content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["Employee number", "Name", "Store"]
    assert len(rows) == 4
    assert ExportLog.objects.get().user == hq


def test_only_a_published_quarter_is_exported(rolled_up, hr):
    with pytest.raises(ApplicationError) as error:
        hr_export(user=hr, quarter=PAST, file_format="xlsx", language="en")
    assert error.value.code == "not_published"
    assert ExportLog.objects.count() == 0


def test_a_store_manager_may_not_export(published, store_manager, login):
    with pytest.raises(ApplicationError):
        hr_export(user=store_manager, quarter=PAST, file_format="csv", language="en")
    response = login(store_manager).get("/scoring/hr/export/?quarter=2026Q2&format=csv"
                                        "&language=en")
    assert response.status_code == 403
    assert ExportLog.objects.count() == 0


def test_hr_downloads_the_sheet_from_the_page(published, hr, login):
    client = login(hr)
    assert client.get("/scoring/hr/").status_code == 200
    response = client.get("/scoring/hr/export/?quarter=2026Q2&format=xlsx&language=en")
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    assert ExportLog.objects.count() == 1


def test_hr_uploads_points_on_the_page_and_sees_row_errors(hr, staff, login):
    client = login(hr)
    upload = io.BytesIO(csv_bytes([["employee_number", "quarter", "financial_points",
                                    "other_points"], ["E99999", "2026Q2", "1", "1"]]))
    upload.name = "points.csv"
    response = client.post("/scoring/hr/", {"file": upload})
    assert response.status_code == 400
    assert "E99999" in response.content.decode()


def test_a_name_that_looks_like_a_formula_stays_text(published, hr, staff):
    staff["pharmacist"].name = "=HYPERLINK(1)"
    staff["pharmacist"].save()
    _name, content, _type = hr_export(user=hr, quarter=PAST, file_format="xlsx", language="en")
    sheet = load_workbook(io.BytesIO(content)).active
    names = {r[0]: r[1] for r in sheet.iter_rows(min_row=2, values_only=True)}
    cell = next(c for c in sheet["B"] if c.value == "=HYPERLINK(1)")
    assert cell.data_type == "s"
    assert names["E10002"] == "=HYPERLINK(1)"
    _name, content, _type = hr_export(user=hr, quarter=PAST, file_format="csv", language="en")
    assert "'=HYPERLINK(1)" in content.decode("utf-8-sig")
