"""HR: appraisal points import (all or nothing, re-import replaces) and the bonus export
(published quarters only, rounded as shown, says what it is, in one language, store sheet)."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone, translation
from openpyxl import Workbook, load_workbook

from satisfaction.errors import ApplicationError
from satisfaction.models import Employee, Job, JobState, Region, Store
from satisfaction.quarters import Quarter
from scoring.export import rounded
from scoring.labels import flag_label
from scoring.models import AppraisalPoints, EmployeeScore, ExportLog, StoreScore
from scoring.services import (
    appraisal_import,
    hr_export,
    quarter_publish,
    rollup_quarter,
    scheme_create_version,
)
from tests.scoring.conftest import PAST


def csv_bytes(rows):
    text = io.StringIO()
    csv.writer(text).writerows(rows)
    return text.getvalue().encode("utf-8")


def test_hr_imports_points_from_csv_with_chinese_headers(hr, staff):
    content = csv_bytes([["工号", "季度", "财务得分", "其他得分"],
                         ["E10001", "2026Q2", "45", "18"],
                         ["E10002", "2026Q2", "40.5", "20"]])
    assert appraisal_import(user=hr, file_name="points.csv", content=content).created == 2
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
    rollup_quarter(quarter=PAST, user=hq)
    appraisal_import(user=hr, file_name="a.csv", content=csv_bytes([
        ["employee_number", "quarter", "financial_points", "other_points"],
        ["E10001", "2026Q2", "45", "18"]]))
    return quarter_publish(quarter=PAST, user=hq)


def sheets(content: bytes) -> dict[str, list[tuple]]:
    """Every sheet of a workbook by its position: info, employees, stores."""
    workbook = load_workbook(io.BytesIO(content))
    return {position: list(sheet.iter_rows(values_only=True))
            for position, sheet in enumerate(workbook.worksheets)}


def by_key(rows: list[tuple]) -> dict[str, dict[str, object]]:
    """Data rows keyed by their first cell, each as header → value."""
    headers = rows[0]
    return {row[0]: dict(zip(headers, row, strict=True)) for row in rows[1:]}


def info(rows: list[tuple]) -> dict[str, object]:
    return dict(rows[1:])


def post_export(client, **data):
    return client.post("/scoring/hr/export/",
                       {"quarter": "2026Q2", "format": "xlsx", "language": "en", **data})


@pytest.fixture
def export_via_job(django_capture_on_commit_callbacks):
    """POST the export form, run its job, and download the file from the job's page:
    (the job, the download response, the file's bytes)."""

    def run(client, **data):
        with django_capture_on_commit_callbacks(execute=True):
            response = post_export(client, **data)
        assert response.status_code == 302, response.content.decode()[:500]
        job = Job.objects.get(public_id=response["Location"].strip("/").split("/")[-1])
        assert job.state == JobState.DONE, job.error
        download = client.get(f"/jobs/{job.public_id}/download")
        assert download.status_code == 200
        return job, download, b"".join(download.streaming_content)

    return run


# --- The page offers published quarters only --------------------------------------------


def test_the_page_offers_only_published_quarters_and_defaults_to_the_latest(
        published, frames_from_apps, hq, hr, login):
    rollup_quarter(quarter=Quarter(2026, 1), user=hq)
    quarter_publish(quarter=Quarter(2026, 1), user=hq)
    rollup_quarter(quarter=Quarter(2026, 3), user=hq)  # ended, not published
    rollup_quarter(quarter=Quarter.current(), user=hq)  # the running quarter
    response = login(hr).get("/scoring/hr/")
    form = response.context["export_form"]
    assert [value for value, _label in form.fields["quarter"].choices] == ["2026Q2", "2026Q1"]
    assert form["quarter"].value() == "2026Q2"
    html = response.content.decode()
    assert 'value="2026Q2" selected' in html
    assert 'value="2026Q3"' not in html
    assert f'value="{Quarter.current()}"' not in html


def test_with_nothing_published_the_page_says_so_instead_of_offering_a_form(rolled_up, hr,
                                                                            login):
    response = login(hr).get("/scoring/hr/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="export-none"' in html
    assert 'data-testid="export-form"' not in html
    assert "scoring/hr/export/" not in html


def test_a_crafted_request_for_an_unpublished_quarter_is_a_form_error(published, frames_from_apps,
                                                                     hq, hr, login):
    rollup_quarter(quarter=Quarter(2026, 3), user=hq)
    client = login(hr)
    for quarter in ("2026Q3", "2031Q1", "garbage"):
        response = post_export(client, quarter=quarter)
        assert response.status_code == 400
        errors = response.context["export_form"].errors["quarter"]  # the page is Chinese
        assert errors == [f"{quarter} 不是已发布的季度：只能导出已发布的季度。"]
    response = post_export(client, language="fr", format="pdf")
    assert set(response.context["export_form"].errors) == {"language", "format"}
    assert ExportLog.objects.count() == 0


def test_a_get_of_the_export_address_goes_to_the_page_and_exports_nothing(published, hr, login):
    response = login(hr).get("/scoring/hr/export/?quarter=2026Q2&format=xlsx&language=en")
    assert response.status_code == 302
    assert response["Location"] == "/scoring/hr/"
    assert ExportLog.objects.count() == 0


def test_hr_downloads_the_sheet_from_the_page_through_a_job(published, hr, login,
                                                             export_via_job):
    client = login(hr)
    assert client.get("/scoring/hr/").status_code == 200
    job, download, _content = export_via_job(client)
    assert job.kind == "scoring.hr_export"
    disposition = download["Content-Disposition"]
    assert disposition.startswith('attachment; filename="satisfaction-bonus-2026Q2-r1-')
    assert disposition.endswith('.xlsx"')
    assert ExportLog.objects.get().language == "en"
    # The HR page links the job.
    assert str(job.public_id) in client.get("/scoring/hr/").content.decode()


@pytest.mark.parametrize("persona", ["store_manager", "region_manager", "clerk"])
def test_only_hr_and_hq_reach_the_page_and_the_export(published, persona, request, login):
    client = login(request.getfixturevalue(persona))
    assert client.get("/scoring/hr/").status_code == 403
    assert post_export(client).status_code == 403
    assert ExportLog.objects.count() == 0


def test_a_store_manager_may_not_export_through_the_service(published, store_manager):
    with pytest.raises(ApplicationError) as error:
        hr_export(user=store_manager, quarter=PAST, file_format="csv", language="en")
    assert error.value.status == 403
    assert ExportLog.objects.count() == 0


def test_only_a_published_quarter_is_exported(rolled_up, hr):
    with pytest.raises(ApplicationError) as error:
        hr_export(user=hr, quarter=PAST, file_format="xlsx", language="en")
    assert error.value.code == "not_published"
    assert ExportLog.objects.count() == 0


# --- The workbook ------------------------------------------------------------------------


def test_the_xlsx_export_is_made_for_excel_and_logged(published, hr):
    name, content, content_type = hr_export(user=hr, quarter=PAST, file_format="xlsx",
                                            language="zh-hans")
    log = ExportLog.objects.get()
    assert (log.user, log.file_format, log.row_count, log.rollup) == (hr, "xlsx", 3, published)
    stamp = timezone.localtime(log.at, ZoneInfo("Asia/Shanghai"))
    assert name == f"satisfaction-bonus-2026Q2-r1-{stamp:%Y%m%d-%H%M%S}.xlsx"
    assert content_type.endswith("spreadsheetml.sheet")
    workbook = load_workbook(io.BytesIO(content))
    assert workbook.sheetnames == ["导出说明", "奖金 2026Q2", "门店 2026Q2"]
    sheet = workbook.active  # Excel opens on the employee sheet
    assert sheet.title == "奖金 2026Q2"
    assert sheet.freeze_panes == "C2"
    headers = [c.value for c in sheet[1]]
    assert headers[:8] == ["工号", "姓名", "门店编码", "门店", "区域", "岗位", "季度", "版次"]
    rows = by_key(list(sheet.iter_rows(values_only=True)))
    clerk = rows["E10001"]
    # value 68 -> 68 x 30 / 100 = 20.4 points; total 20.4 + 45 + 18 = 83.4;
    # bonus 1 + 5 x (68 - 70) / 100 = 0.9
    assert (clerk["满意度评估值"], clerk["满意度得分"], clerk["考核总分"], clerk["奖金系数"]) == (
        68.0, 20.4, 83.4, 0.9)
    assert (clerk["岗位"], clerk["季度"], clerk["版次"], clerk["店内排名"]) == ("店员", "2026Q2",
                                                                            1, 1)
    assert rows["E10002"]["考核总分"] is None  # no financial points imported: no total
    assert rows["E00001"]["岗位"] == "店长"
    assert "店长：取门店员工平均值" in rows["E00001"]["标记"]
    assert sheet.cell(row=2, column=9).number_format == "0.00"
    assert sheet.cell(row=2, column=14).number_format == "0.000"
    assert sheet.column_dimensions["D"].width == pytest.approx(20, abs=1)


def test_values_are_stored_rounded_to_the_decimals_shown(published, hr, staff):
    # A value with full float precision, as the engine writes them.
    EmployeeScore.objects.filter(employee=staff["clerk"]).update(
        value=73.66666666666667, satisfaction_points=73.66666666666667 * 30 / 100,
        bonus_factor=1.1833333333333333)
    AppraisalPoints.objects.filter(employee=staff["clerk"]).update(financial_points=40.005)
    StoreScore.objects.filter(rollup=published, store__code="S0001").update(
        survey_pct=66.66666666666667, ci_low=61.234567)
    _name, content, _type = hr_export(user=hr, quarter=PAST, file_format="xlsx", language="en")
    book = sheets(content)
    clerk = by_key(book[1])["E10001"]
    # 73.666… x 30 / 100 = 22.1; 40.005 rounds half up (Python's round() gives 40.0);
    # the total adds the rounded points shown: 22.1 + 40.01 + 18 = 80.11.
    assert clerk["Satisfaction value"] == 73.67
    assert clerk["Satisfaction points"] == 22.1
    assert clerk["Financial points"] == 40.01
    assert clerk["Total"] == 80.11
    assert clerk["Bonus factor"] == 1.183
    # The manager: 67.75 x 30 / 100 = 20.325, half up to 20.33.
    assert by_key(book[1])["E00001"]["Satisfaction points"] == 20.33
    store = by_key(book[2])["S0001"]
    assert (store["Sample survey %"], store["95% CI low"]) == (66.67, 61.23)
    decimals = {"Bonus factor": 3}
    for rows in (book[1], book[2]):
        for row in by_key(rows).values():
            for header, value in row.items():
                if isinstance(value, float):
                    assert value == round(value, decimals.get(header, 2)), (header, value)
    assert "rounded half up" in info(book[0])["Rounding"]


def test_the_first_sheet_says_what_the_export_is(published, hr, hq):
    _name, content, _type = hr_export(user=hr, quarter=PAST, file_format="xlsx", language="en")
    about = info(sheets(content)[0])
    log = ExportLog.objects.get()
    assert about["Quarter"] == "2026Q2"
    assert about["Revision"] == 1
    assert about["Status"] == "Published (locked)"
    assert about["Scheme version"] == published.scheme.version
    assert about["Published by"] == "hq"
    assert about["Exported by"] == "hr"
    assert (about["Employees (rows)"], about["Stores (rows)"]) == (3, 3)
    assert about["Time zone of the times above"] == "Asia/Shanghai"
    for item, moment in (("Published at", published.published_at), ("Exported at", log.at),
                         ("Computed at", published.computed_at)):
        written = datetime.fromisoformat(about[item])
        assert written.utcoffset() == timedelta(hours=8)  # Shanghai time, with its offset
        assert written == moment.replace(microsecond=0)
    assert about["Satisfaction points"] == "satisfaction value × 30 / 100"
    assert about["Bonus factor"] == "max(0, 1 + 5 × (satisfaction value − 70) / 100)"


def test_the_store_sheet_carries_every_store_value_of_the_revision(published, hr):
    _name, content, _type = hr_export(user=hr, quarter=PAST, file_format="xlsx", language="en")
    rows = by_key(sheets(content)[2])
    with translation.override("en"):
        flags = {s.store_id: "; ".join(str(flag_label(f)) for f in s.flags) or None
                 for s in StoreScore.objects.filter(rollup=published)}
    scores = StoreScore.objects.filter(rollup=published).select_related("store", "region")
    assert set(rows) == {score.store.code for score in scores} == {"S0001", "S0002", "S0011"}
    for score in scores:
        row = rows[score.store.code]
        assert row == {
            "Store code": score.store.code, "Store": score.store.name,
            "Region": score.region.name, "Satisfaction value": rounded(score.value),
            "Sample survey %": rounded(score.survey_pct),
            "Scenario survey %": rounded(score.scenario_pct),
            "Sample survey points": rounded(score.survey_points),
            "Scenario survey points": rounded(score.scenario_points),
            "Complaint deductions": rounded(score.deductions),
            "Survey responses (n)": score.n_responses, "Approved visits (n)": score.n_visits,
            "Substantiated complaints (n)": score.n_complaints,
            "95% CI low": rounded(score.ci_low), "95% CI high": rounded(score.ci_high),
            "Flags": flags[score.store_id],
            "Rank in region": score.rank_region, "Rank in chain": score.rank_chain}
    store = rows["S0001"]
    # The worked example: 66.5 from 10 responses, 2 visits and 3 complaints.
    assert (store["Satisfaction value"], store["Survey responses (n)"],
            store["Approved visits (n)"], store["Substantiated complaints (n)"]) == (
        66.5, 10, 2, 3)
    assert store["95% CI low"] < 66.5 < store["95% CI high"]
    assert rows["S0002"]["Flags"] == "no data"


CJK = re.compile(r"[\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef]")


def test_an_english_export_is_english_throughout_even_from_a_chinese_page(published, hr,
                                                                         login, export_via_job):
    # The page is Chinese (the default language); the export is asked for in English.
    _job, _download, content = export_via_job(login(hr), language="en")
    book = load_workbook(io.BytesIO(content))
    assert book.sheetnames == ["About this export", "Bonus 2026Q2", "Stores 2026Q2"]
    # Names of people, stores and regions are data; everything else is English.
    data = {*Employee.objects.values_list("name", flat=True),
            *Store.objects.values_list("name", flat=True),
            *Region.objects.values_list("name", flat=True)}
    for sheet in book.worksheets:
        for row in sheet.iter_rows(values_only=True):
            for value in row:
                if isinstance(value, str) and CJK.search(value):
                    assert value in data, (sheet.title, value)
    employees = by_key(list(book.worksheets[1].iter_rows(values_only=True)))
    assert {row["Role"] for row in employees.values()} == {"Clerk", "Pharmacist",
                                                            "Store manager"}
    assert "store manager: mean of the staff" in employees["E00001"]["Flags"]
    assert list(employees["E10001"])[:3] == ["Employee number", "Name", "Store code"]


def test_a_chinese_export_is_chinese_even_from_an_english_page(published, hr):
    with translation.override("en"):
        _name, content, _type = hr_export(user=hr, quarter=PAST, file_format="xlsx",
                                          language="zh-hans")
    book = sheets(content)
    employees = by_key(book[1])
    assert {row["岗位"] for row in employees.values()} == {"店员", "药师", "店长"}
    assert by_key(book[2])["S0002"]["标记"] == "无数据"
    assert info(book[0])["状态"] == "已发布（锁定）"


def test_the_csv_export_is_the_employee_sheet_in_the_chosen_language(published, hq):
    with translation.override("zh-hans"):
        name, content, _type = hr_export(user=hq, quarter=PAST, file_format="csv",
                                         language="en")
    assert name.startswith("satisfaction-bonus-2026Q2-r1-")
    assert name.endswith(".csv")
    assert content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    assert rows[0][:8] == ["Employee number", "Name", "Store code", "Store", "Region", "Role",
                           "Quarter", "Revision"]
    assert len(rows) == 4  # a plain table: the header and one row per employee
    clerk = dict(zip(rows[0], next(r for r in rows if r[0] == "E10001"), strict=True))
    assert (clerk["Role"], clerk["Revision"], clerk["Total"]) == ("Clerk", "1", "83.4")
    assert ExportLog.objects.get().user == hq


def test_the_export_carries_staff_but_no_customer_columns(published, hr):
    _name, content, _type = hr_export(user=hr, quarter=PAST, file_format="xlsx", language="en")
    book = sheets(content)
    assert list(book[1][0]) == [
        "Employee number", "Name", "Store code", "Store", "Region", "Role", "Quarter",
        "Revision", "Satisfaction value", "Satisfaction points", "Financial points",
        "Other points", "Total", "Bonus factor", "Rank in store", "Rank in region", "Flags"]
    assert list(book[2][0]) == [
        "Store code", "Store", "Region", "Satisfaction value", "Sample survey %",
        "Scenario survey %", "Sample survey points", "Scenario survey points",
        "Complaint deductions", "Survey responses (n)", "Approved visits (n)",
        "Substantiated complaints (n)", "95% CI low", "95% CI high", "Flags",
        "Rank in region", "Rank in chain"]
    assert {"E10001", "E10002", "E00001"} <= set(by_key(book[1]))  # HR needs the numbers


def test_hr_uploads_points_on_the_page_and_sees_row_errors(hr, staff, login,
                                                          django_capture_on_commit_callbacks):
    client = login(hr)
    upload = io.BytesIO(csv_bytes([["employee_number", "quarter", "financial_points",
                                    "other_points"], ["E99999", "2026Q2", "1", "1"]]))
    upload.name = "points.csv"
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/scoring/hr/", {"file": upload})
    assert response.status_code == 302
    page = client.get(response["Location"])
    assert "E99999" in page.content.decode()
    assert 'data-testid="job-import"' not in page.content.decode()


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
