"""The store list's export: the page's rows (scope, filters, order) as CSV or XLSX in the
user's language, written in the request when small and by a background job when large."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext
from openpyxl import load_workbook

from dashboard import views
from satisfaction.jobs import job_run
from satisfaction.models import Job, JobState
from satisfaction.quarters import Quarter
from scoring.models import RollupStatus
from tests.dashboard.factories import make_rollup, make_store_score
from tests.factories import RegionFactory, StoreFactory, UserFactory

pytestmark = pytest.mark.django_db
NOW = Quarter.current()
LIST = reverse("dashboard:store_list")
EXPORT = reverse("dashboard:store_list_export")


@pytest.fixture
def chain(store, sibling_store, other_store):
    current = make_rollup(NOW, RollupStatus.PROVISIONAL)
    for s, value, rank, region_rank in ((store, 95.0, 1, 1), (sibling_store, 55.0, 3, 2),
                                        (other_store, 72.5, 2, 1)):
        make_store_score(current, s, value, rank_chain=rank, rank_region=region_rank,
                         survey=40.0, scenario=30.0, deductions=2.0, survey_pct=80.125,
                         scenario_pct=75.0, n_responses=31, n_visits=2, n_complaints=1)
    return current


def _csv(response) -> list[list[str]]:
    content = b"".join(response.streaming_content) if response.streaming else response.content
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))


def _page_codes(client, query: str = "") -> list[str]:
    return [s.store.code for s in client.get(f"{LIST}?{query}").context["page"]]


def _export_codes(client, query: str = "", file_format: str = "csv") -> list[str]:
    response = client.get(f"{EXPORT}?{query}&format={file_format}")
    assert response.status_code == 200
    if file_format == "csv":
        return [row[2] for row in _csv(response)[1:]]
    sheet = load_workbook(io.BytesIO(response.content), read_only=True).worksheets[0]
    return [row[2] for row in sheet.iter_rows(min_row=2, values_only=True)]


@pytest.mark.parametrize(("persona", "expected"), [
    ("hq", ["S0001", "S0011", "S0002"]),
    ("hr", ["S0001", "S0011", "S0002"]),
    ("region_manager", ["S0001", "S0002"]),
    ("store_manager", ["S0001"]),
    ("clerk", ["S0001"]),
])
def test_each_persona_exports_exactly_the_rows_of_their_page(request, login, chain, persona,
                                                             expected):
    client = login(request.getfixturevalue(persona))
    assert _page_codes(client) == expected
    assert _export_codes(client) == expected
    assert _export_codes(client, file_format="xlsx") == expected


def test_a_regional_manager_never_exports_another_region_s_store_even_when_asking(
        login, region_manager, chain):
    client = login(region_manager)
    assert _export_codes(client, "region=SOUTH") == []
    assert _export_codes(client, "q=S0011") == []


@pytest.mark.parametrize("query", ["region=EAST", "city=杭州", "q=人民路", "sort=-value",
                                   "sort=region", "region=EAST&sort=value"])
def test_the_export_honours_the_page_s_filters_and_order(login, hq, chain, query):
    client = login(hq)
    assert _export_codes(client, query) == _page_codes(client, query)


def test_the_export_holds_the_figures_of_the_row_and_its_revision(login, hq, chain):
    client = login(hq)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    rows = _csv(client.get(f"{EXPORT}?format=csv&q=S0001"))
    assert rows[0] == ["Rank in chain", "Rank in region", "Store code", "Store name", "Region",
                       "City", "Satisfaction value", "Sample survey %", "Scenario survey %",
                       "Complaint deductions", "Survey responses", "Mystery-shopper visits",
                       "Complaints", "Quarter", "Revision", "State of the revision"]
    assert rows[1] == ["1", "1", "S0001", "上海人民路店", "华东区", "上海", "95.0", "80.13",
                       "75.0", "2.0", "31", "2", "1", str(NOW), "1", "Provisional"]


def test_the_headers_and_the_state_are_in_the_user_s_language(login, hq, chain):
    client = login(hq)
    chinese = client.get(f"{EXPORT}?format=xlsx", HTTP_ACCEPT_LANGUAGE="zh-hans")
    sheet = load_workbook(io.BytesIO(chinese.content), read_only=True).worksheets[0]
    header = next(sheet.iter_rows(max_row=1, values_only=True))
    with translation.override("zh-hans"):
        expected = tuple(gettext(h) for h in ("Rank in chain", "Rank in region", "Store code"))
    assert header[:3] == expected
    assert header[2] == "门店编码"
    assert sheet.title == f"排名 {NOW}"
    english = _csv(client.get(f"{EXPORT}?format=csv", HTTP_ACCEPT_LANGUAGE="en"))
    assert english[0][:3] == ["Rank in chain", "Rank in region", "Store code"]


def test_the_file_is_named_by_quarter_and_revision(login, hq, chain):
    response = login(hq).get(f"{EXPORT}?format=xlsx")
    assert response["Content-Disposition"] == (
        f'attachment; filename="store-ranking-{NOW}-r1.xlsx"')
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")


def test_the_export_links_on_the_page_carry_its_filters_and_revision(login, hq, chain):
    html = login(hq).get(f"{LIST}?region=EAST&sort=value&page=1").content.decode()
    assert (f'href="{EXPORT}?region=EAST&amp;sort=value&amp;quarter={NOW}&amp;revision=1'
            '&amp;format=csv"') in html
    assert "format=xlsx" in html


def test_an_older_revision_is_exported_as_named_not_the_current_one(login, hq, chain, store):
    old = make_rollup(NOW.previous(), RollupStatus.SUPERSEDED, revision=1)
    make_store_score(old, store, 10.0, rank_chain=1)
    make_rollup(NOW.previous(), RollupStatus.PUBLISHED, revision=2)
    rows = _csv(login(hq).get(f"{EXPORT}?format=csv&quarter={NOW.previous()}&revision=1",
                              HTTP_ACCEPT_LANGUAGE="en"))
    assert [(r[2], r[6], r[14], r[15]) for r in rows[1:]] == [("S0001", "10.0", "1",
                                                               "Superseded")]


def test_a_quarter_without_values_has_nothing_to_export(login, hq, store):
    response = login(hq).get(f"{EXPORT}?format=csv", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 302
    assert response["Location"].startswith(LIST)
    follow = login(hq).get(f"{EXPORT}?format=csv", HTTP_ACCEPT_LANGUAGE="en", follow=True)
    assert "nothing to export" in follow.content.decode()


@pytest.mark.parametrize("query", ["format=pdf", "format=", "format=csv&quarter=2026Q9",
                                   "format=csv&quarter=last", "format=csv&revision=two"])
def test_a_bad_export_query_is_a_400_naming_the_field(login, hq, chain, query):
    assert login(hq).get(f"{EXPORT}?{query}").status_code == 400


def test_a_shopper_may_not_export_and_anonymous_must_log_in(login, shopper, client, chain):
    assert login(shopper).get(f"{EXPORT}?format=csv").status_code == 403
    assert client.get(f"{EXPORT}?format=csv").status_code == 302


def test_the_export_reads_a_bounded_number_of_queries_whatever_the_stores(
        login, hq, chain, region, django_assert_max_num_queries):
    for index in range(150):
        make_store_score(chain, StoreFactory(region=region), float(index % 100))
    client = login(hq)
    with django_assert_max_num_queries(12):
        response = client.get(f"{EXPORT}?format=xlsx")
    rows = list(load_workbook(io.BytesIO(response.content), read_only=True).worksheets[0]
                .iter_rows(min_row=2, values_only=True))
    assert len(rows) == 153


# --- Large exports: a background job ----------------------------------------------------------


@pytest.fixture
def large(monkeypatch):
    """Every export counts as large."""
    monkeypatch.setattr(views, "EXPORT_IN_REQUEST_ROWS", 1)


def _start(client, django_capture_on_commit_callbacks, query: str = "format=csv",
           execute: bool = True):
    with django_capture_on_commit_callbacks(execute=execute):
        response = client.get(f"{EXPORT}?{query}")
    assert response.status_code == 302
    return response, Job.objects.order_by("-pk").first()


def test_a_large_export_runs_as_a_job_whose_file_holds_the_page_s_rows(
        login, region_manager, chain, large, django_capture_on_commit_callbacks):
    client = login(region_manager)
    response, job = _start(client, django_capture_on_commit_callbacks, "format=csv&sort=-value")
    assert response["Location"] == job.get_absolute_url()
    job.refresh_from_db()
    assert (job.kind, job.state, job.created_by) == ("dashboard.ranking_export", JobState.DONE,
                                                     region_manager)
    assert job.params["revision"] == 1
    assert (job.done, job.total) == (2, 2)
    assert job.output_name == f"store-ranking-{NOW}-r1.csv"
    assert job.result["summary"][-1][1] == 2
    page = client.get(job.get_absolute_url())
    assert page.status_code == 200
    download = client.get(reverse("job_download", args=[job.public_id]))
    assert download.status_code == 200
    codes = [row[2] for row in _csv(download)[1:]]
    assert codes == _page_codes(client, "sort=-value") == ["S0002", "S0001"]


def test_a_large_xlsx_export_is_written_in_the_starter_s_language(
        login, hq, chain, large, django_capture_on_commit_callbacks):
    client = login(hq)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    _response, job = _start(client, django_capture_on_commit_callbacks, "format=xlsx")
    job.refresh_from_db()
    assert job.state == JobState.DONE, job.error
    download = client.get(reverse("job_download", args=[job.public_id]))
    content = b"".join(download.streaming_content)
    sheet = load_workbook(io.BytesIO(content), read_only=True).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:3] == ("Rank in chain", "Rank in region", "Store code")
    assert [row[2] for row in rows[1:]] == ["S0001", "S0011", "S0002"]


def test_only_the_starter_and_hq_see_the_job_and_download_its_file(
        login, region_manager, hq, store_manager, chain, large, region,
        django_capture_on_commit_callbacks):
    _response, job = _start(login(region_manager), django_capture_on_commit_callbacks)
    other_manager = UserFactory(role="regional_manager", regions=[region])
    other_region_manager = UserFactory(role="regional_manager",
                                       regions=[RegionFactory(code="WEST")])
    download = reverse("job_download", args=[job.public_id])
    for user, status in ((region_manager, 200), (hq, 200), (other_manager, 404),
                         (other_region_manager, 404), (store_manager, 404)):
        client = login(user)
        assert client.get(job.get_absolute_url()).status_code == status, user
        assert client.get(download).status_code == status, user


def test_a_second_start_while_the_export_runs_shows_the_running_job(
        login, hq, chain, large, django_capture_on_commit_callbacks):
    client = login(hq)
    _response, first = _start(client, django_capture_on_commit_callbacks, execute=False)
    response, second = _start(client, django_capture_on_commit_callbacks, execute=False)
    assert second == first
    assert Job.objects.count() == 1
    assert response["Location"] == first.get_absolute_url()
    # Another user's identical export is their own job, never someone else's file.
    other, _job = _start(login(UserFactory(role="hq_admin")), django_capture_on_commit_callbacks,
                         execute=False)
    assert Job.objects.count() == 2
    assert other["Location"] != first.get_absolute_url()


def test_an_export_of_other_filters_is_another_job(login, hq, chain, large,
                                                   django_capture_on_commit_callbacks):
    client = login(hq)
    _start(client, django_capture_on_commit_callbacks, "format=csv", execute=False)
    _start(client, django_capture_on_commit_callbacks, "format=csv&region=EAST", execute=False)
    _start(client, django_capture_on_commit_callbacks, "format=xlsx", execute=False)
    assert Job.objects.count() == 3


def test_the_job_reads_its_starter_s_scope_as_it_runs(login, region_manager, other_region, chain,
                                                      large, django_capture_on_commit_callbacks):
    client = login(region_manager)
    _response, job = _start(client, django_capture_on_commit_callbacks, execute=False)
    region_manager.regions.set([other_region])  # moved before the worker picks the job up
    job_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.state == JobState.DONE
    download = client.get(reverse("job_download", args=[job.public_id]))
    assert [row[2] for row in _csv(download)[1:]] == ["S0011"]


def test_the_job_fails_with_a_message_when_the_starter_may_no_longer_see_stores(
        login, region_manager, chain, large, django_capture_on_commit_callbacks):
    _response, job = _start(login(region_manager), django_capture_on_commit_callbacks,
                            execute=False)
    region_manager.role = "mystery_shopper"
    region_manager.save()
    job_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.state == JobState.FAILED
    assert not job.output_file


def test_the_job_writes_rows_in_chunks_and_reports_progress(
        login, hq, chain, region, large, monkeypatch, django_capture_on_commit_callbacks):
    from dashboard import export
    from satisfaction.jobs import JobContext

    monkeypatch.setattr(export, "CHUNK_SIZE", 2)
    reported = []
    original = JobContext.progress

    def spy(self, done, total=None):
        reported.append((done, total))
        original(self, done, total)

    monkeypatch.setattr(JobContext, "progress", spy)
    for _index in range(3):
        make_store_score(chain, StoreFactory(region=region), 50.0)
    _response, job = _start(login(hq), django_capture_on_commit_callbacks)
    job.refresh_from_db()
    assert job.state == JobState.DONE
    assert reported == [(0, 6), (2, 6), (4, 6), (6, 6), (6, 6)]
