"""Background jobs (satisfaction/jobs.py): one running job per kind and key, progress, results,
failures that change nothing, files for their starter and HQ only, dry runs that import."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone, translation

from satisfaction.errors import ApplicationError
from satisfaction.jobs import (
    JobContext,
    job_kind,
    job_progress,
    job_run,
    job_start,
    jobs_delete_old_files,
)
from satisfaction.models import Job, JobState, Region

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():
    """Jobs started here run in English (a job runs in its starter's language)."""
    with translation.override("en"):
        yield

seen: list[dict] = []


@job_kind("tests.count", label="Count")
def count_job(ctx: JobContext) -> dict:
    total = int(ctx.params.get("total", 3))
    for done in range(total + 1):
        ctx.progress(done, total)
        seen.append({"done": done, "reported": job_progress(Job.objects.get(pk=ctx.job.pk))})
    return {"message": "counted", "summary": [["Rows", total]], "next_url": "/stores/"}


@job_kind("tests.fail", label="Fail")
def failing_job(ctx: JobContext) -> dict:
    Region.objects.create(code="HALF", name="half written")
    if ctx.params.get("unexpected"):
        raise RuntimeError("boom")
    raise ApplicationError("Nothing imported", fields={"rows": ["row 2: bad", "row 3: bad"]})


@job_kind("tests.import", label="Import")
def import_job(ctx: JobContext) -> dict:
    lines = ctx.input_bytes().decode().split()
    if not ctx.params["dry_run"]:
        for line in lines:
            Region.objects.create(code=line, name=line)
    return {"dry_run": ctx.params["dry_run"], "counts": {"created": len(lines)}, "errors": []}


@job_kind("tests.export", label="Export")
def export_job(ctx: JobContext) -> dict:
    with ctx.output("regions.csv") as handle:
        handle.write(b"code\nEAST\n")
    return {"message": "exported"}


def test_a_job_runs_on_commit_and_reports_its_progress_and_result(
        hq, django_capture_on_commit_callbacks):
    seen.clear()
    with django_capture_on_commit_callbacks(execute=True):
        job, started = job_start(kind="tests.count", user=hq, params={"total": 4}, key="k")
    job.refresh_from_db()
    assert started
    assert job.state == JobState.DONE
    assert (job.done, job.total, job.percent) == (4, 4, 100)
    assert job.result == {"message": "counted", "summary": [["Rows", 4]], "next_url": "/stores/"}
    # While it ran, a poller saw each step as it was reported.
    assert [s["reported"] for s in seen] == [(d, 4) for d in range(5)]


def test_a_second_start_of_the_same_kind_and_key_returns_the_running_job(hq, hr):
    first, started = job_start(kind="tests.count", user=hq, key="2026Q4")
    again, started_again = job_start(kind="tests.count", user=hr, key="2026Q4")
    other, started_other = job_start(kind="tests.count", user=hr, key="2026Q3")
    assert started
    assert not started_again
    assert started_other
    assert again.pk == first.pk
    assert other.pk != first.pk
    assert Job.objects.filter(kind="tests.count").count() == 2


def test_a_finished_job_does_not_block_a_new_one(hq, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        first, _ = job_start(kind="tests.count", user=hq, key="k")
    second, started = job_start(kind="tests.count", user=hq, key="k")
    assert started
    assert second.pk != first.pk


def test_a_job_whose_worker_was_lost_long_ago_no_longer_blocks(hq):
    stale, _ = job_start(kind="tests.count", user=hq, key="k")
    Job.objects.filter(pk=stale.pk).update(state=JobState.RUNNING,
                                           created_at=timezone.now() - timedelta(hours=4))
    fresh, started = job_start(kind="tests.count", user=hq, key="k")
    assert started
    assert fresh.pk != stale.pk
    stale.refresh_from_db()
    assert stale.state == JobState.FAILED
    assert stale.error


def test_a_redelivered_task_does_not_run_a_job_twice(hq, django_capture_on_commit_callbacks):
    seen.clear()
    with django_capture_on_commit_callbacks(execute=True):
        job, _ = job_start(kind="tests.count", user=hq, params={"total": 1})
    assert job_run(job_id=job.pk) is None
    assert len(seen) == 2


def test_a_failing_job_shows_its_errors_and_leaves_nothing_half_written(
        hq, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        job, _ = job_start(kind="tests.fail", user=hq)
    job.refresh_from_db()
    assert job.state == JobState.FAILED
    assert job.error == "Nothing imported"
    assert job.result == {"errors": ["row 2: bad", "row 3: bad"]}
    assert not Region.objects.filter(code="HALF").exists()


def test_an_unexpected_error_fails_the_job_with_a_plain_message(
        hq, django_capture_on_commit_callbacks, caplog):
    with django_capture_on_commit_callbacks(execute=True):
        job, _ = job_start(kind="tests.fail", user=hq, params={"unexpected": True})
    job.refresh_from_db()
    assert job.state == JobState.FAILED
    assert "boom" not in job.error
    assert "logged" in job.error
    assert not Region.objects.filter(code="HALF").exists()
    assert "boom" in caplog.text


def test_the_job_page_shows_the_result_and_the_errors(
        login, hq, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        job, _ = job_start(kind="tests.fail", user=hq)
    page = login(hq).get(job.get_absolute_url(), HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200
    text = page.content.decode()
    assert "Nothing imported" in text
    assert "row 3: bad" in text
    status = login(hq).get(f"/jobs/{job.public_id}/status").json()
    assert status["state"] == "failed"
    assert status["finished"] is True


def test_only_the_starter_and_hq_see_a_job(login, store_manager, other_store_manager, hq, hr,
                                            django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        job, _ = job_start(kind="tests.export", user=store_manager)
    for user, status in ((store_manager, 200), (hq, 200), (other_store_manager, 404), (hr, 404)):
        client = login(user)
        assert client.get(job.get_absolute_url()).status_code == status
        assert client.get(f"/jobs/{job.public_id}/status").status_code == status
        assert client.get(f"/jobs/{job.public_id}/download").status_code == status
    download = login(store_manager).get(f"/jobs/{job.public_id}/download")
    assert b"".join(download.streaming_content) == b"code\nEAST\n"
    assert "attachment" in download["Content-Disposition"]
    listed = login(other_store_manager).get("/jobs/").content.decode()
    assert str(job.public_id) not in listed
    assert str(job.public_id) in login(hq).get("/jobs/").content.decode()


def test_a_clean_dry_run_imports_the_same_file(login, hq, django_capture_on_commit_callbacks):
    upload = SimpleUploadedFile("regions.txt", b"NORTH\nWEST\n")
    with django_capture_on_commit_callbacks(execute=True):
        dry, _ = job_start(kind="tests.import", user=hq, params={"dry_run": True}, upload=upload)
    assert not Region.objects.filter(code="NORTH").exists()
    client = login(hq)
    assert "Import these rows" in client.get(dry.get_absolute_url(),
                                             HTTP_ACCEPT_LANGUAGE="en").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/jobs/{dry.public_id}/import")
    real = Job.objects.exclude(pk=dry.pk).get(kind="tests.import")
    assert response.url == real.get_absolute_url()
    real.refresh_from_db()
    assert real.state == JobState.DONE
    assert real.params == {"dry_run": False}
    assert set(Region.objects.filter(code__in=["NORTH", "WEST"]).values_list("code", flat=True)) \
        == {"NORTH", "WEST"}
    # The real import's page offers no second import.
    assert "Import these rows" not in client.get(real.get_absolute_url(),
                                                 HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert client.post(f"/jobs/{real.public_id}/import").status_code == 302
    assert Job.objects.filter(kind="tests.import").count() == 2


def test_files_older_than_a_day_are_deleted_and_the_download_says_so(
        login, hq, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        job, _ = job_start(kind="tests.export", user=hq)
    Job.objects.filter(pk=job.pk).update(created_at=timezone.now() - timedelta(hours=25))
    assert jobs_delete_old_files() == 1
    job.refresh_from_db()
    assert not job.output_file
    assert job.files_deleted_at
    assert login(hq).get(f"/jobs/{job.public_id}/download").status_code == 410


def test_the_jobs_list_pages_stay_within_a_few_queries(login, hq, django_assert_max_num_queries):
    for n in range(30):
        job_start(kind="tests.count", user=hq, key=str(n))
    client = login(hq)
    with django_assert_max_num_queries(12):
        assert client.get("/jobs/").status_code == 200


def test_tracked_rows_pass_through_and_report_progress_as_they_go(hq):
    job, _ = job_start(kind="tests.count", user=hq)
    context = JobContext(job)
    reported = []
    context.progress = lambda done, total=None: reported.append((done, total))
    assert list(context.tracked(range(5), 5, every=2)) == [0, 1, 2, 3, 4]
    assert reported == [(0, 5), (2, 5), (4, 5), (5, 5)]
