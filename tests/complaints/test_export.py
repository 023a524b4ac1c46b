"""The complaint export: the list page's complaints (same scope, same filters) as CSV or XLSX,
contacts masked unless the role sees them in a list; large exports run as a job."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook

from complaints import exports
from complaints.models import Category, Responsibility
from complaints.services import complaint_triage
from satisfaction.models import Job, JobState
from tests.complaints.factories import make_complaint

EXPORT = "/complaints/export/"


def csv_rows(response) -> list[dict[str, str]]:
    content = b"".join(response.streaming_content) if response.streaming else response.content
    return list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))


def graded(complaint, hq, grade: str):
    return complaint_triage(complaint=complaint, user=hq, version=complaint.version,
                            grade=grade, substantiated=True,
                            responsibility=Responsibility.OWN_STORE, owner=None)


@pytest.fixture
def chain(hq, store, sibling_store, other_store):
    """Complaints at three stores: grade B and C, two categories."""
    return {
        "b_price": graded(make_complaint(store, category=Category.PRICE), hq, "B"),
        "c_price": graded(make_complaint(store, category=Category.PRICE), hq, "C"),
        "b_service": graded(make_complaint(store), hq, "B"),
        "sibling": make_complaint(sibling_store, category=Category.PRICE),
        "other": graded(make_complaint(other_store, category=Category.PRICE,
                                       customer_phone="13900001111"), hq, "B"),
    }


def test_the_export_has_exactly_the_rows_the_list_shows_with_the_same_filters(login, hq, chain):
    client = login(hq)
    filters = {"grade": "B", "category": Category.PRICE}
    listed = [c.ticket_no for c in client.get("/complaints/", filters).context["page"]]
    response = client.get(EXPORT, {**filters, "format": "csv"}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment;" in response["Content-Disposition"]
    rows = csv_rows(response)
    assert [row["Ticket"] for row in rows] == listed
    assert sorted(listed) == sorted([chain["b_price"].ticket_no, chain["other"].ticket_no])
    assert {row["Grade"] for row in rows} == {"B"}


def test_the_list_page_links_the_export_with_its_filters(login, hq, chain):
    html = login(hq).get("/complaints/", {"grade": "B", "page": "1"}).content.decode()
    assert 'href="/complaints/export/?grade=B&amp;format=xlsx"' in html


def test_a_store_managers_export_never_has_another_stores_complaints(login, store_manager,
                                                                     chain):
    response = login(store_manager).get(EXPORT, {"format": "csv", "store": "S0011"},
                                        HTTP_ACCEPT_LANGUAGE="en")
    assert csv_rows(response) == []
    rows = csv_rows(login(store_manager).get(EXPORT, {"format": "csv"},
                                             HTTP_ACCEPT_LANGUAGE="en"))
    assert {row["Store code"] for row in rows} == {"S0001"}
    assert len(rows) == 3


def test_the_phone_is_masked_for_a_store_manager_and_whole_for_hq(login, store_manager, hq,
                                                                  region_manager, chain):
    for user in (store_manager, region_manager):
        rows = csv_rows(login(user).get(EXPORT, {"format": "csv"}, HTTP_ACCEPT_LANGUAGE="en"))
        assert {row["Customer phone"] for row in rows} == {"138****1234"}
        assert {row["Customer name"] for row in rows} == {"张*"}
    rows = csv_rows(login(hq).get(EXPORT, {"format": "csv"}, HTTP_ACCEPT_LANGUAGE="en"))
    assert {row["Customer phone"] for row in rows} == {"13812341234", "13900001111"}


def test_the_xlsx_export_is_in_the_users_language(login, hq, chain):
    response = login(hq).get(EXPORT, {"format": "xlsx"})
    assert response["Content-Type"] == exports.CONTENT_TYPES["xlsx"]
    sheet = load_workbook(io.BytesIO(response.content)).active
    header = [cell.value for cell in sheet[1]]
    assert header[:5] == ["单号", "门店编码", "门店", "区域", "受理时间"]
    assert header[7:9] == ["顾客姓名", "顾客电话"]
    assert sheet.max_row == 1 + len(chain)
    statuses = {row[11] for row in sheet.iter_rows(min_row=2, values_only=True)}
    assert statuses <= {"新建", "已分配"}


def test_a_bad_file_type_or_filter_is_a_400_with_the_fields_named(login, hq, chain):
    response = login(hq).get(EXPORT, {"format": "pdf"}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert "format" in response.context["form"].errors
    response = login(hq).get(EXPORT, {"format": "csv", "status": "nonsense"})
    assert response.status_code == 400


def test_a_shopper_may_not_export(login, shopper):
    assert login(shopper).get(EXPORT, {"format": "csv"}).status_code == 403


def test_a_large_export_runs_as_a_job_and_its_file_has_the_rows(
        login, store_manager, chain, monkeypatch, django_capture_on_commit_callbacks):
    monkeypatch.setattr(exports, "STREAM_LIMIT", 1)
    client = login(store_manager)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.get(EXPORT, {"format": "csv", "category": Category.PRICE},
                              HTTP_ACCEPT_LANGUAGE="en")
    job = Job.objects.get()
    assert response.status_code == 302
    assert response["Location"] == job.get_absolute_url()
    job.refresh_from_db()
    assert (job.kind, job.state, job.created_by) == ("complaints.export", JobState.DONE,
                                                     store_manager)
    assert job.params["filters"]["category"] == Category.PRICE
    assert job.result["summary"][0][1] == 2
    download = client.get(f"{job.get_absolute_url()}download")
    rows = csv_rows(download)
    assert sorted(row["Ticket"] for row in rows) == sorted(
        [chain["b_price"].ticket_no, chain["c_price"].ticket_no])
    assert {row["Customer phone"] for row in rows} == {"138****1234"}


def test_the_same_export_started_again_while_it_runs_shows_the_running_one(
        login, hq, chain, monkeypatch):
    monkeypatch.setattr(exports, "STREAM_LIMIT", 1)
    client = login(hq)
    first = client.get(EXPORT, {"format": "xlsx"})  # on_commit never runs: it stays queued
    second = client.get(EXPORT, {"format": "xlsx"})
    assert Job.objects.count() == 1
    assert first["Location"] == second["Location"]


def test_the_export_reads_the_rows_in_chunks_through_the_iterator(hq, chain, monkeypatch):
    from django.db.models.query import QuerySet

    calls = []
    real = QuerySet.iterator

    def iterator(self, chunk_size=None):
        calls.append(chunk_size)
        return real(self, chunk_size=chunk_size)

    monkeypatch.setattr(QuerySet, "iterator", iterator)
    buffer = io.BytesIO()
    count = exports.write_export(buffer, user=hq, filters={
        "status": "", "grade": "", "category": "", "store_code": "", "query": "",
        "overdue": False, "mine": False}, fmt="xlsx")
    assert count == len(chain)
    assert calls == [2000]
