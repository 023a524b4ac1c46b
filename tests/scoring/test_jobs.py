"""Rollup, publish and the HR export run as jobs: progress to the end, one job per quarter at a
time, a failure leaves its error and nothing half-written; publishing goes through a
confirmation page that says what it locks and why it is refused (the service's own checks)."""

from __future__ import annotations

import csv
import io
from datetime import datetime, time

import pytest
from django.utils import translation
from openpyxl import load_workbook

from complaints.models import Appeal as ComplaintAppeal
from complaints.models import AppealKind
from satisfaction.errors import ApplicationError
from satisfaction.models import Job, JobState
from satisfaction.quarters import Quarter, chain_zone
from scoring import loader, services
from scoring.models import (
    EmployeeScore,
    ExportLog,
    RevisionInput,
    RevisionResponses,
    Rollup,
    RollupStatus,
    StoreScore,
)
from scoring.services import (
    ROLLUP_STAGES,
    hr_export,
    publish_blockers,
    quarter_publish,
    rollup_quarter,
)
from tests.complaints.factories import make_complaint
from tests.scoring.conftest import PAST

# The input apps' real answer (the scoring fixtures replace it with "none open").
REAL_OPEN_APPEALS = loader.open_appeals_exist


def _job(response) -> Job:
    assert response.status_code == 302, response.content.decode()[:800]
    return Job.objects.get(public_id=response["Location"].strip("/").split("/")[-1])


@pytest.fixture
def run_jobs(django_capture_on_commit_callbacks):
    """``run_jobs(lambda: client.post(...))``: the request, then the job it started (run as
    eager mode runs it, once the request's transaction commits)."""

    def run(request):
        with django_capture_on_commit_callbacks(execute=True):
            response = request()
        return response

    return run


@pytest.fixture
def frames_from_apps(frames_from_apps):
    """The worked example's frames, and a survey campaign that makes 2026Q2 a quarter that
    exists (the pickers offer only those)."""
    from tests.dashboard.factories import make_campaign

    make_campaign(PAST)
    return frames_from_apps


# --- Rollup ----------------------------------------------------------------------------------


def test_the_rollup_reports_each_stage_up_to_done_equals_total(frames_from_apps, hq):
    seen = []
    rollup_quarter(quarter=PAST, user=hq, progress=lambda done, total: seen.append(
        (done, total)))
    total = len(ROLLUP_STAGES)
    assert seen == [(n, total) for n in range(total + 1)]


def test_hq_runs_a_rollup_as_a_job_to_the_end_with_its_summary(frames_from_apps, hq, login,
                                                               run_jobs):
    client = login(hq)
    response = run_jobs(lambda: client.post("/scoring/quarters/rollup/",
                                            {"rollup-quarter": str(PAST)}))
    job = _job(response)
    assert (job.kind, job.key, job.state) == ("scoring.rollup", "2026Q2", JobState.DONE)
    assert job.done == job.total == len(ROLLUP_STAGES)
    rollup = Rollup.objects.get(quarter=PAST)
    # Quarter, revision, stores, employees, counted inputs, seconds.
    assert [value for _label, value in job.result["summary"]][:5] == ["2026Q2", 1, 3, 3, 5]
    assert job.result["next_url"] == "/stores/?quarter=2026Q2&revision=1"
    assert rollup.store_count == 3
    page = client.get(response["Location"]).content.decode()
    assert 'data-testid="job-result"' in page
    assert job.result["message"] in page
    assert 'value="100"' in page


def test_a_second_start_while_one_is_queued_gets_the_same_job(frames_from_apps, hq, login):
    client = login(hq)
    # Without running the on-commit callbacks the first job stays queued.
    first = _job(client.post("/scoring/quarters/rollup/", {"rollup-quarter": str(PAST)}))
    second = _job(client.post("/scoring/quarters/rollup/", {"rollup-quarter": str(PAST)}))
    assert first.pk == second.pk
    assert Job.objects.filter(kind="scoring.rollup").count() == 1
    assert first.state == JobState.QUEUED


def test_a_second_hq_user_gets_the_running_rollup(frames_from_apps, hq, login):
    from satisfaction.models import Role
    from tests.factories import UserFactory

    other_hq = UserFactory(username="hq2", role=Role.HQ_ADMIN)
    first = _job(login(hq).post("/scoring/quarters/rollup/", {"rollup-quarter": str(PAST)}))
    client = login(other_hq)
    response = client.post("/scoring/quarters/rollup/", {"rollup-quarter": str(PAST)})
    assert _job(response).pk == first.pk
    assert client.get(response["Location"]).status_code == 200  # HQ sees every job


def test_a_rollup_failing_midway_fails_the_job_and_writes_nothing(frames_from_apps, hq, login,
                                                                  run_jobs, monkeypatch):
    def broken(model, **kwargs):
        if model is EmployeeScore:  # stores and inputs are written by then
            raise RuntimeError("disk full")
        return real(model, **kwargs)

    real = services._write_rows
    monkeypatch.setattr(services, "_write_rows", broken)
    client = login(hq)
    response = run_jobs(lambda: client.post("/scoring/quarters/rollup/",
                                            {"rollup-quarter": str(PAST)}))
    job = _job(response)
    assert job.state == JobState.FAILED
    assert job.done < job.total
    assert (Rollup.objects.count(), StoreScore.objects.count(), EmployeeScore.objects.count(),
            RevisionInput.objects.count(), RevisionResponses.objects.count()) == (0, 0, 0, 0, 0)
    page = client.get(response["Location"]).content.decode()
    assert 'data-testid="job-error"' in page
    assert job.error in page


def test_a_published_quarter_without_a_reason_is_a_form_error_not_a_job(rolled_up, hq, login):
    quarter_publish(quarter=PAST, user=hq)
    response = login(hq).post("/scoring/quarters/rollup/", {"rollup-quarter": str(PAST)})
    assert response.status_code == 400
    assert response.context["rollup_form"].errors["reason"]
    assert not Job.objects.exists()


# --- Publish: the confirmation page ----------------------------------------------------------


@pytest.fixture
def open_complaint_appeal(rolled_up, store, hq, monkeypatch):
    monkeypatch.setattr(loader, "open_appeals_exist", REAL_OPEN_APPEALS)
    complaint = make_complaint(store, received_at=datetime.combine(
        PAST.first_day.replace(day=20), time(10), tzinfo=chain_zone()))
    return ComplaintAppeal.objects.create(complaint=complaint, kind=AppealKind.GRADE,
                                          requested_grade="C", reason="顾客已撤回", filed_by=hq)


def test_the_confirmation_lists_the_open_appeal_and_disables_the_button(
        open_complaint_appeal, hq, login):
    client = login(hq)
    response = client.get("/scoring/quarters/2026Q2/publish/")
    assert response.status_code == 200
    html = response.content.decode()
    preview = response.context["preview"]
    assert (preview.provisional.revision, preview.appeal_count) == (1, 1)
    assert f'href="/complaints/{open_complaint_appeal.complaint_id}/"' in html
    assert open_complaint_appeal.complaint.ticket_no in html
    assert 'data-testid="publish-appeal-count">1<' in html
    assert response.context["blockers"] == publish_blockers(PAST)
    assert "投诉" in response.context["blockers"][0]
    assert 'data-testid="publish-submit" disabled' in html
    # The service refuses with the same reason; a POST starts nothing.
    with pytest.raises(ApplicationError) as error:
        quarter_publish(quarter=PAST, user=hq)
    assert error.value.message == response.context["blockers"][0]
    assert client.post("/scoring/quarters/2026Q2/publish/").status_code == 409
    assert not Job.objects.exists()
    assert Rollup.objects.get().status == RollupStatus.PROVISIONAL


def test_the_confirmation_names_what_will_be_locked(rolled_up, hq, login):
    client = login(hq)
    response = client.get("/scoring/quarters/2026Q2/publish/")
    html = response.content.decode()
    assert response.context["blockers"] == []
    assert 'data-testid="publish-revision">1 ' in html
    assert 'data-testid="publish-stores">3<' in html
    assert 'data-testid="publish-employees">3<' in html
    assert 'data-testid="publish-appeal-count">0<' in html
    assert 'data-testid="publish-submit" disabled' not in html
    assert "将被锁定的内容" in html
    client.post("/i18n/setlang/", {"language": "en"})
    html = client.get("/scoring/quarters/2026Q2/publish/").content.decode()
    assert "What will be locked" in html
    assert "Publish and lock 2026Q2" in html


def test_the_confirmation_lists_many_appeals_in_a_bounded_number_of_queries(
        open_complaint_appeal, store, hq, login, django_assert_max_num_queries):
    for day in range(2, 12):
        complaint = make_complaint(store, received_at=datetime.combine(
            PAST.first_day.replace(day=day), time(10), tzinfo=chain_zone()))
        ComplaintAppeal.objects.create(complaint=complaint, kind=AppealKind.GRADE,
                                       requested_grade="C", reason="复核", filed_by=hq)
    client = login(hq)
    with django_assert_max_num_queries(40):
        response = client.get("/scoring/quarters/2026Q2/publish/")
    assert response.context["preview"].appeal_count == 11
    assert len(response.context["preview"].appeals) == 11


def test_hq_publishes_through_the_confirmation_and_the_quarter_is_locked(rolled_up, hq, hr,
                                                                         login, run_jobs):
    client = login(hq)
    assert "/scoring/quarters/2026Q2/publish/" in client.get(
        "/scoring/quarters/").content.decode()
    job = _job(run_jobs(lambda: client.post("/scoring/quarters/2026Q2/publish/")))
    assert (job.kind, job.state) == ("scoring.publish", JobState.DONE)
    assert job.done == job.total
    rollup = Rollup.objects.get(quarter=PAST)
    assert rollup.status == RollupStatus.PUBLISHED
    assert rollup.published_by == hq
    # Now refused, and said so.
    response = client.get("/scoring/quarters/2026Q2/publish/")
    assert response.context["blockers"] == ["2026Q2 已经发布。"]
    assert 'data-testid="publish-submit" disabled' in response.content.decode()


@pytest.mark.parametrize(("quarter", "code"), [(Quarter.current(), "quarter_running"),
                                               (Quarter(2025, 1), "not_rolled_up")])
def test_the_page_and_the_service_refuse_for_the_same_reason(frames_from_apps, hq, quarter,
                                                             code, login, store):
    from tests.dashboard.factories import make_campaign

    make_campaign(quarter)  # the quarter exists
    with translation.override("en"), pytest.raises(ApplicationError) as error:
        quarter_publish(quarter=quarter, user=hq)
    assert error.value.code == code
    blockers = login(hq).get(f"/scoring/quarters/{quarter}/publish/",
                             HTTP_ACCEPT_LANGUAGE="en").context["blockers"]
    assert blockers[0] == error.value.message


def test_a_quarter_that_does_not_exist_has_no_confirmation_page(frames_from_apps, hq, login):
    client = login(hq)
    assert client.get("/scoring/quarters/2031Q1/publish/").status_code == 404
    assert client.get("/scoring/quarters/nonsense/publish/").status_code == 404


@pytest.mark.parametrize("persona", ["hr", "store_manager"])
def test_only_hq_publishes(rolled_up, persona, request, login):
    client = login(request.getfixturevalue(persona))
    assert client.get("/scoring/quarters/2026Q2/publish/").status_code == 403
    assert client.post("/scoring/quarters/2026Q2/publish/").status_code == 403


# --- The HR export through a job -------------------------------------------------------------


@pytest.fixture
def published(rolled_up, hq):
    return quarter_publish(quarter=PAST, user=hq)


def _export_job(client, run_jobs, **data) -> tuple[Job, bytes]:
    response = run_jobs(lambda: client.post("/scoring/hr/export/", {
        "quarter": "2026Q2", "format": "csv", "language": "en", **data}))
    job = _job(response)
    assert job.state == JobState.DONE, job.error
    download = client.get(f"/jobs/{job.public_id}/download")
    return job, b"".join(download.streaming_content)


def test_the_csv_through_a_job_is_the_same_file_as_the_direct_export(published, hr, login,
                                                                     run_jobs):
    job, content = _export_job(login(hr), run_jobs)
    _name, direct, _type = hr_export(user=hr, quarter=PAST, file_format="csv", language="en")
    assert content == direct
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    assert rows[0][:2] == ["Employee number", "Name"]
    assert len(rows) == 4
    assert ExportLog.objects.filter(user=hr, file_format="csv").count() == 2  # both logged
    assert job.output_name.startswith("satisfaction-bonus-2026Q2-r1-")
    assert job.result["summary"][2][1] == 3  # rows


def test_the_xlsx_through_a_job_has_the_same_rows_in_the_chosen_language(published, hr, login,
                                                                        run_jobs):
    _job_row, content = _export_job(login(hr), run_jobs, format="xlsx", language="zh-hans")
    _name, direct, _type = hr_export(user=hr, quarter=PAST, file_format="xlsx",
                                     language="zh-hans")
    via_job, straight = (load_workbook(io.BytesIO(c)) for c in (content, direct))
    assert via_job.sheetnames == straight.sheetnames == ["导出说明", "奖金 2026Q2", "门店 2026Q2"]
    for position in (1, 2):  # the employees and the stores; the first sheet has the time
        assert (list(via_job.worksheets[position].iter_rows(values_only=True))
                == list(straight.worksheets[position].iter_rows(values_only=True)))


def test_another_user_cannot_see_or_download_an_hr_export_job(published, hr, login, run_jobs,
                                                              store_manager):
    job, _content = _export_job(login(hr), run_jobs)
    other = login(store_manager)
    assert other.get(f"/jobs/{job.public_id}/").status_code == 404
    assert other.get(f"/jobs/{job.public_id}/download").status_code == 404
