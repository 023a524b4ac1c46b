"""The export of a quarter's visit reports: CSV / XLSX in the user's language, scoped as the
lists are, the shopper named only for HQ; large exports run as a job."""

from __future__ import annotations

import csv
import io
from datetime import date

import openpyxl
import pytest

from mystery_shopper import export, jobs
from mystery_shopper.models import VisitStatus
from satisfaction.models import Job, JobState
from tests.factories import EmployeeFactory
from tests.mystery_shopper.factories import ShopperFactory, VisitFactory

pytestmark = pytest.mark.django_db

URL = "/mystery-shopper/export/"


@pytest.fixture
def visits(store, sibling_store, other_store):
    shopper = ShopperFactory(username="shopper_a")
    served = EmployeeFactory(store=store, number="E00042", name="王药师")
    scored = {"score_pct": 86.0, "purchase_points": 46, "purchase_max": 50,
              "process_points": 25, "process_max": 30, "image_points": 15, "image_max": 20}
    return {
        "approved": VisitFactory(store=store, shopper=shopper, status=VisitStatus.APPROVED,
                                 visited_on=date(2026, 11, 3), employee=served, **scored),
        "sibling": VisitFactory(store=sibling_store, shopper=shopper,
                                status=VisitStatus.APPROVED, visited_on=date(2026, 11, 4),
                                served_by_badge="小李", red_line=True, **scored),
        "other": VisitFactory(store=other_store, shopper=shopper, status=VisitStatus.APPROVED,
                              visited_on=date(2026, 11, 5), **scored),
        "open": VisitFactory(store=store, shopper=shopper, status=VisitStatus.ASSIGNED),
    }


def _csv(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


def test_hq_exports_every_visit_of_the_quarter_with_the_shopper_in_english(login, hq, visits):
    response = login(hq).post(URL, {"quarter": "2026Q4", "format": "csv"},
                              HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert 'filename="mystery-shopper-2026Q4-' in response["Content-Disposition"]
    rows = _csv(response)
    header = rows[0]
    assert header[:8] == ["Store code", "Store", "Region", "Quarter", "Due on", "Visit date",
                          "Shopper", "Status"]
    assert len(rows) == 5
    by_code = {row[0]: dict(zip(header, row, strict=True)) for row in rows[1:]
               if row[7] == "Approved"}
    approved = by_code[visits["approved"].store.code]
    assert approved["Shopper"] == "shopper_a"
    assert approved["Score (%)"] == "86.0"
    assert approved["Mystery-shopper score (%)"] == "88.75"  # (46 + 25) / 80
    assert (approved["Purchase evaluation points"], approved["Process maximum"]) == ("46.0",
                                                                                     "30.0")
    assert approved["Served by"] == "E00042 王药师"
    assert approved["Red-line failure"] == "No"
    assert by_code[visits["sibling"].store.code]["Red-line failure"] == "Yes"
    assert by_code[visits["sibling"].store.code]["Served by"] == "小李"
    unscored = next(row for row in rows[1:] if row[7] == "Assigned")
    assert unscored[8:] == [""] * (len(header) - 8)


def test_a_store_manager_exports_the_approved_reports_of_their_store_in_chinese(
        login, store_manager, visits):
    response = login(store_manager).post(URL, {"quarter": "2026Q4", "format": "xlsx"})
    assert response.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "门店编码"
    assert "神秘顾客" not in rows[0]  # no shopper column
    assert [row[0] for row in rows[1:]] == [visits["approved"].store.code]
    assert rows[1][6] == "已审核通过"


def test_a_regional_manager_exports_the_reports_of_their_region_only(
        login, region_manager, visits):
    rows = _csv(login(region_manager).post(URL, {"quarter": "2026Q4", "format": "csv"}))
    codes = sorted(row[0] for row in rows[1:])
    assert codes == sorted([visits["approved"].store.code, visits["sibling"].store.code])
    assert visits["other"].store.code not in codes
    assert "shopper_a" not in str(rows)


def test_clerks_and_shoppers_may_not_export_and_a_bad_choice_is_a_form_error(
        login, clerk, shopper, hq, visits):
    for user in (clerk, shopper):
        assert login(user).get(URL).status_code == 403
        assert login(user).post(URL, {"quarter": "2026Q4", "format": "csv"}).status_code == 403
    client = login(hq)
    assert client.get(URL).status_code == 200
    bad = client.post(URL, {"quarter": "2019Q1", "format": "pdf"}, HTTP_ACCEPT_LANGUAGE="en")
    assert bad.status_code == 400
    assert "2019Q1 is not one of the quarters offered." in bad.content.decode()


def test_a_large_export_runs_as_a_job_and_its_file_has_the_rows(
        login, region_manager, visits, monkeypatch, django_capture_on_commit_callbacks):
    monkeypatch.setattr(export, "SMALL_EXPORT_ROWS", 1)
    monkeypatch.setattr(export, "CHUNK", 1)
    client = login(region_manager)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(URL, {"quarter": "2026Q4", "format": "csv"},
                               HTTP_ACCEPT_LANGUAGE="en")
    job = Job.objects.get()
    assert response.status_code == 302
    assert response["Location"] == job.get_absolute_url()
    job.refresh_from_db()
    assert (job.kind, job.state, job.created_by) == (jobs.EXPORT_KIND, JobState.DONE,
                                                     region_manager)
    assert job.result["summary"][0][1] == 2
    download = client.get(f"{job.get_absolute_url()}download")
    assert download.status_code == 200
    content = b"".join(download.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(content)))
    assert rows[0][0] == "Store code"
    assert len(rows) == 3


def test_the_export_job_refuses_a_user_who_may_no_longer_export(clerk, visits):
    from satisfaction.errors import ApplicationError
    from satisfaction.jobs import JobContext

    job = Job(kind=jobs.EXPORT_KIND, created_by=clerk,
              params={"quarter": "2026Q4", "format": "csv"})
    with pytest.raises(ApplicationError):
        jobs.visit_export_job(JobContext(job))


def test_the_export_reads_rows_through_the_iterator_and_reports_progress(
        hq, visits, monkeypatch):
    from django.db.models.query import QuerySet

    chunks: list[int] = []
    original = QuerySet.iterator

    def recording(self, chunk_size=None):
        chunks.append(chunk_size)
        return original(self, chunk_size=chunk_size)

    monkeypatch.setattr(QuerySet, "iterator", recording)
    monkeypatch.setattr(export, "CHUNK", 2)
    progress: list[int] = []
    buffer = io.BytesIO()
    written = export.export_write(buffer, user=hq, quarter=visits["open"].quarter,
                                  file_format="xlsx", progress=progress.append)
    assert written == 4
    assert chunks == [2]
    assert progress == [2, 4]
