"""HR's appraisal-points import people can fix: a template in their language, a dry run that
says what would be created, updated and left unchanged, every bad cell by row and by the
header they used, all or nothing; run as a job from the HR page."""

from __future__ import annotations

import csv
import io

import pytest
from django.utils import translation
from openpyxl import load_workbook

from satisfaction.errors import ApplicationError
from satisfaction.models import Job, JobState
from scoring.models import AppraisalPoints
from scoring.services import appraisal_import
from tests.scoring.conftest import PAST


def csv_bytes(rows) -> bytes:
    text = io.StringIO()
    csv.writer(text).writerows(rows)
    return text.getvalue().encode("utf-8")


CHINESE = ["工号", "季度", "财务得分", "其他得分"]


@pytest.fixture
def imported(hr, staff):
    """E10001 already has points for 2026Q2."""
    appraisal_import(user=hr, file_name="a.csv", content=csv_bytes([
        CHINESE, ["E10001", "2026Q2", "45", "18"]]))


def test_a_dry_run_says_what_would_be_created_updated_and_left_alone_and_writes_nothing(
        imported, hr, staff):
    content = csv_bytes([CHINESE, ["E10001", "2026Q2", "45", "18"],
                         ["E10002", "2026Q2", "40", "20"], ["E00001", "2026Q2", "30", "10"],
                         ["E10001", "2026Q1", "44", "17"]])
    AppraisalPoints.objects.filter(employee=staff["clerk"]).update(other_points=18.0)
    outcome = appraisal_import(user=hr, file_name="b.csv", content=content, dry_run=True)
    assert (outcome.created, outcome.updated, outcome.unchanged) == (3, 0, 1)
    assert [(r.row, r.action) for r in outcome.rows] == [
        (2, "unchanged"), (3, "create"), (4, "create"), (5, "create")]
    assert AppraisalPoints.objects.count() == 1
    changed = csv_bytes([CHINESE, ["E10001", "2026Q2", "46", "18"]])
    assert appraisal_import(user=hr, file_name="c.csv", content=changed,
                            dry_run=True).updated == 1
    assert AppraisalPoints.objects.get().financial_points == 45.0


def test_the_commit_writes_every_row_and_leaves_unchanged_ones_as_they_were(imported, hr,
                                                                            staff):
    before = AppraisalPoints.objects.get()
    content = csv_bytes([CHINESE, ["E10001", "2026Q2", "45", "18"],
                         ["E10002", "2026Q2", "40", "20"]])
    outcome = appraisal_import(user=hr, file_name="b.csv", content=content)
    assert (outcome.created, outcome.unchanged) == (1, 1)
    assert AppraisalPoints.objects.count() == 2
    assert AppraisalPoints.objects.get(employee=staff["clerk"]).imported_at == before.imported_at


def test_every_bad_cell_of_a_row_is_named_by_the_user_s_header_and_nothing_is_imported(
        hr, staff):
    content = csv_bytes([["工号", "考核季度", "财务指标得分", "其他得分"],
                         ["E10001", "2026Q2", "45", "18"],
                         ["E99999", "2026Q9", "70", "x"],
                         ["E10002", "2026Q2", "40", "-1"]])
    with translation.override("en"), pytest.raises(ApplicationError) as error:
        appraisal_import(user=hr, file_name="points.csv", content=content)
    rows = error.value.fields["rows"]
    assert rows == [
        "points.csv row 3, column 工号: unknown employee E99999",
        "points.csv row 3, column 考核季度: not a quarter like 2026Q4",
        "points.csv row 3, column 财务指标得分: a number from 0 to 50",
        "points.csv row 3, column 其他得分: a number from 0 to 20",
        "points.csv row 4, column 其他得分: a number from 0 to 20",
    ]
    assert AppraisalPoints.objects.count() == 0  # the good row 2 is not imported either


def test_a_missing_column_is_named_in_the_user_s_language(hr, staff):
    content = csv_bytes([["工号", "季度", "财务得分"], ["E10001", "2026Q2", "45"]])
    with translation.override("zh-hans"), pytest.raises(ApplicationError) as error:
        appraisal_import(user=hr, file_name="points.csv", content=content)
    assert error.value.fields["rows"] == ["points.csv 第 1 行，其他指标得分 列：缺少必需的列"]


@pytest.mark.parametrize(("language", "header"), [("zh-hans", "工号"),
                                                  ("en", "Employee number")])
def test_the_template_is_in_the_user_s_language_and_imports_as_it_is_filled_in(
        hr, staff, login, language, header):
    client = login(hr)
    client.post("/i18n/setlang/", {"language": language})
    response = client.get("/scoring/hr/template/?format=xlsx")
    assert response.status_code == 200
    assert response["Content-Disposition"].endswith('template.xlsx"')
    sheet = load_workbook(io.BytesIO(response.content)).worksheets[0]
    headers = [cell.value for cell in sheet[1]]
    assert headers[0] == header
    csv_template = client.get("/scoring/hr/template/?format=csv").content
    rows = list(csv.reader(io.StringIO(csv_template.decode("utf-8-sig"))))
    assert rows[0][0] == header
    filled = csv_bytes([rows[0], ["E10002", str(PAST), "40", "20"]])
    assert appraisal_import(user=hr, file_name="filled.csv", content=filled).created == 1
    assert client.get("/scoring/hr/template/?format=pdf").status_code == 400


def _upload(name: str, content: bytes) -> io.BytesIO:
    upload = io.BytesIO(content)
    upload.name = name
    return upload


def test_hr_checks_then_imports_on_the_page_through_jobs(hr, staff, login,
                                                         django_capture_on_commit_callbacks):
    client = login(hr)
    content = csv_bytes([CHINESE, ["E10001", "2026Q2", "45", "18"],
                         ["E10002", "2026Q2", "40", "20"]])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/scoring/hr/", {"file": _upload("points.csv", content)})
    assert response.status_code == 302
    dry_run = Job.objects.get()
    assert (dry_run.kind, dry_run.state) == ("scoring.appraisal_import", JobState.DONE)
    assert dry_run.result["dry_run"] is True
    assert dry_run.result["counts"] == {"created": 2, "updated": 0, "unchanged": 0}
    assert AppraisalPoints.objects.count() == 0
    page = client.get(response["Location"]).content.decode()
    assert 'data-testid="job-import"' in page
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/jobs/{dry_run.public_id}/import")
    real = Job.objects.exclude(pk=dry_run.pk).get()
    assert (real.state, real.result["dry_run"]) == (JobState.DONE, False)
    assert AppraisalPoints.objects.count() == 2


def test_a_dry_run_with_bad_cells_lists_them_and_offers_no_import(
        hr, staff, login, django_capture_on_commit_callbacks):
    client = login(hr)
    content = csv_bytes([CHINESE, ["E10001", "2026Q2", "45", "18"],
                         ["E99999", "2026Q2", "x", "18"]])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/scoring/hr/", {"file": _upload("points.csv", content)})
    job = Job.objects.get()
    assert job.result["errors"] == ["points.csv 第 3 行，工号 列：未知员工 E99999",
                                    "points.csv 第 3 行，财务得分 列：应为 0 到 50 之间的数字"]
    page = client.get(response["Location"]).content.decode()
    assert "E99999" in page
    assert 'data-testid="job-import"' not in page
    assert client.post(f"/jobs/{job.public_id}/import").status_code == 302
    assert Job.objects.count() == 1  # refused: nothing started
    assert AppraisalPoints.objects.count() == 0
