"""The survey results export (issue 14, part 5): small exports come in the response, large
ones are written by the job ``surveys.results_export`` a chunk of stores at a time."""

import csv
import io

import pytest
from openpyxl import load_workbook

from satisfaction.models import Job, JobState
from surveys import exports
from tests.factories import StoreFactory
from tests.surveys.factories import CampaignFactory, all_rated, rate

pytestmark = pytest.mark.django_db


@pytest.fixture
def many_stores(store, sibling_store, other_store):
    campaign = CampaignFactory()
    extra = [StoreFactory(code=f"S1{n:03d}", region=store.region) for n in range(5)]
    for index, each in enumerate([store, sibling_store, other_store, *extra]):
        rate(campaign=campaign, store=each, ratings=all_rated(1 + index % 5))
    return campaign


def test_a_large_export_runs_as_a_job_chunk_by_chunk(
        many_stores, region_manager, login, monkeypatch, django_capture_on_commit_callbacks):
    monkeypatch.setattr(exports, "STREAM_LIMIT", 3)
    monkeypatch.setattr(exports, "CHUNK", 2)
    client = login(region_manager)
    with django_capture_on_commit_callbacks(execute=True):
        page = client.get(f"/surveys/campaigns/{many_stores.pk}/export.csv",
                          HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 302
    assert page["Location"].startswith("/jobs/")
    job = Job.objects.get()
    assert job.state == JobState.DONE, job.error
    assert (job.done, job.total) == (7, 7)
    download = client.get(f"/jobs/{job.public_id}/download")
    text = b"".join(download.streaming_content).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    # The region manager's stores only (EAST: S0001, S0002 and the five others), in order.
    assert [r["Store code"] for r in rows] == ["S0001", "S0002", *[f"S1{n:03d}" for n in
                                                                   range(5)]]
    assert [r["Answers"] for r in rows] == ["1"] * 7
    assert float(rows[0]["Survey score"]) == 0.0


def test_the_same_large_export_twice_shows_the_running_job(
        many_stores, hq, login, monkeypatch, django_capture_on_commit_callbacks):
    monkeypatch.setattr(exports, "STREAM_LIMIT", 3)
    client = login(hq)
    with django_capture_on_commit_callbacks(execute=False):
        first = client.get(f"/surveys/campaigns/{many_stores.pk}/export.xlsx")
        second = client.get(f"/surveys/campaigns/{many_stores.pk}/export.xlsx")
    assert first["Location"] == second["Location"]
    assert Job.objects.count() == 1


def test_a_small_export_comes_in_the_response_as_xlsx(many_stores, hq, login):
    page = login(hq).get(f"/surveys/campaigns/{many_stores.pk}/export.xlsx")
    assert page.status_code == 200
    sheet = load_workbook(io.BytesIO(page.content)).active
    assert sheet.cell(1, 1).value == "门店编码"
    assert sheet.max_row == 9  # the header and the eight stores
