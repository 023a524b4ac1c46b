"""Paper questionnaires uploaded as a file (issue 14, part 4): a template in the user's
language, a dry run listing every bad cell by the header the user wrote, then an all-or-nothing
import through the job page; the rules of paper entry hold for every row."""

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from openpyxl import Workbook, load_workbook

from satisfaction.jobs import job_start
from satisfaction.models import Job, JobState
from surveys.jobs import PAPER_IMPORT_KIND
from surveys.models import Channel, Indicator, PaperBatch, Response, ResponseStatus
from tests.factories import EmployeeFactory
from tests.surveys.factories import CampaignFactory

pytestmark = pytest.mark.django_db


def english_headers() -> list[str]:
    names = list(Indicator.objects.filter(is_active=True).order_by("order", "code")
                 .values_list("name_en", flat=True))
    return ["Store code", "Date", "Served by", *names]


def csv_file(rows: list[list[object]], headers: list[str] | None = None,
             name: str = "forms.csv") -> SimpleUploadedFile:
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(headers or english_headers())
    writer.writerows(rows)
    return SimpleUploadedFile(name, text.getvalue().encode("utf-8-sig"), "text/csv")


def row(store="S0001", day=None, served_by="", ratings=(5, 4, 5, 4, 5, 4, 5)) -> list[object]:
    return [store, (day or timezone.localdate()).isoformat(), served_by, *ratings]


def upload(client, file, capture) -> Job:
    with capture(execute=True):
        page = client.post("/surveys/paper/", {"action": "upload", "file": file})
    assert page.status_code == 302, page.content.decode()[:500]
    job = Job.objects.get(public_id=page["Location"].rstrip("/").split("/")[-1])
    return job


def import_rows(client, job, capture) -> Job:
    with capture(execute=True):
        page = client.post(f"/jobs/{job.public_id}/import")
    assert page.status_code == 302
    return Job.objects.exclude(pk=job.pk).filter(kind=PAPER_IMPORT_KIND).latest("created_at")


@pytest.fixture
def campaign(store):
    return CampaignFactory()


def test_the_template_is_headed_in_the_users_language(login, hq, campaign):
    client = login(hq)
    english = client.get("/surveys/paper/template/?format=csv", HTTP_ACCEPT_LANGUAGE="en")
    assert english.status_code == 200
    header = next(csv.reader(io.StringIO(english.content.decode("utf-8-sig"))))
    assert header[:3] == ["Store code", "Date", "Served by"]
    assert "Price" in header or "Prices" in header or any("rice" in h for h in header)
    chinese = client.get("/surveys/paper/template/?format=xlsx")
    sheet = load_workbook(io.BytesIO(chinese.content)).worksheets[0]
    first = [cell.value for cell in sheet[1]]
    assert first[0].startswith("门店编码")
    assert Indicator.objects.get(code="price").name_zh in " ".join(first)
    assert client.get("/surveys/paper/template/?format=pdf").status_code == 400


def test_the_dry_run_lists_every_bad_cell_of_a_row_by_the_users_header_and_writes_nothing(
        login, hq, campaign, django_capture_on_commit_callbacks):
    client = login(hq)
    headers = english_headers()
    headers[3] = "assortment"  # a code as header is read too, and named as written
    file = csv_file([row(), row(store="S0001", ratings=(5, 9, "x", 4, 5, 4, 5)), row()],
                    headers=headers)
    job = upload(client, file, django_capture_on_commit_callbacks)
    assert job.state == JobState.DONE
    result = job.result
    assert result["dry_run"] is True
    assert result["counts"]["created"] == 2
    errors = result["errors"]
    assert len(errors) == 2  # both bad cells of row 3, not only the first
    second, third = headers[4], headers[5]
    assert any("第 3 行" in e and second in e for e in errors)
    assert any("第 3 行" in e and third in e for e in errors)
    assert Response.objects.count() == 0
    assert PaperBatch.objects.count() == 0
    page = client.get(f"/jobs/{job.public_id}/")
    assert 'data-testid="job-import"' not in page.content.decode()  # nothing to import yet


def test_the_fixed_file_imports_every_row_exactly_once(
        login, hq, store, campaign, django_capture_on_commit_callbacks):
    clerk_employee = EmployeeFactory(number="E00009", store=store)
    client = login(hq)
    rows = [row(store="s0001", served_by="e00009"), row(ratings=(1, 2, 3, 4, 5, 4, 3)),
            row(), row()]
    job = upload(client, csv_file(rows), django_capture_on_commit_callbacks)
    assert job.result["errors"] == []
    assert job.result["counts"] == {"created": 4, "updated": 0, "unchanged": 0}
    assert Response.objects.count() == 0
    done = import_rows(client, job, django_capture_on_commit_callbacks)
    assert done.state == JobState.DONE, done.error
    assert done.result["dry_run"] is False
    responses = Response.objects.order_by("pk")
    assert responses.count() == 4
    assert {r.channel for r in responses} == {Channel.PAPER}
    assert {r.status for r in responses} == {ResponseStatus.COUNTED}  # HQ enters directly
    assert responses[0].employee == clerk_employee
    assert responses[0].entered_by == hq
    assert responses[0].submitted_at.date() <= timezone.localdate()
    assert sorted(responses[1].answers.values_list("rating", flat=True)) == [1, 2, 3, 3, 4, 4, 5]
    # The same file again: every form was imported before; two identical rows stay two.
    again = upload(client, csv_file(rows), django_capture_on_commit_callbacks)
    assert again.result["counts"] == {"created": 0, "updated": 0, "unchanged": 4}
    import_rows(client, again, django_capture_on_commit_callbacks)
    assert Response.objects.count() == 4
    # One more identical form appended: only it is new.
    more = upload(client, csv_file([*rows, row()]), django_capture_on_commit_callbacks)
    assert more.result["counts"] == {"created": 1, "updated": 0, "unchanged": 4}


def test_xlsx_with_chinese_headers_imports(login, hq, campaign,
                                           django_capture_on_commit_callbacks):
    names = list(Indicator.objects.filter(is_active=True).order_by("order", "code")
                 .values_list("name_zh", flat=True))
    book = Workbook()
    sheet = book.active
    sheet.append(["门店编码 *", "日期 *", *[f"{n} *" for n in names]])
    sheet.append(["S0001", timezone.localdate(), *[4] * len(names)])
    buffer = io.BytesIO()
    book.save(buffer)
    file = SimpleUploadedFile("问卷.xlsx", buffer.getvalue())
    job = upload(login(hq), file, django_capture_on_commit_callbacks)
    assert job.result["errors"] == [], job.result
    assert job.result["counts"]["created"] == 1


def test_a_second_identical_upload_while_one_runs_shows_the_running_job(
        login, hq, campaign, django_capture_on_commit_callbacks):
    content = csv_file([row()]).read()
    running, started = job_start(kind=PAPER_IMPORT_KIND, user=hq, params={"dry_run": True},
                                 key="", upload=SimpleUploadedFile("forms.csv", content))
    client = login(hq)
    with django_capture_on_commit_callbacks(execute=False):
        first = client.post("/surveys/paper/", {
            "action": "upload", "file": SimpleUploadedFile("forms.csv", content)})
    # Not run yet (the callbacks were not executed): it is queued. The same file again:
    second = client.post("/surveys/paper/", {
        "action": "upload", "file": SimpleUploadedFile("again.csv", content)}, follow=True)
    assert second.redirect_chain[-1][0] == first["Location"]
    assert "already" in second.content.decode() or "正在" in second.content.decode()
    assert Job.objects.filter(kind=PAPER_IMPORT_KIND).count() == 2  # and the unrelated one
    assert started
    assert running.key == ""


def test_a_store_manager_cannot_import_for_a_store_not_theirs(
        login, other_store_manager, store, other_store, campaign,
        django_capture_on_commit_callbacks):
    client = login(other_store_manager)
    job = upload(client, csv_file([row(store="S0011"), row(store="S0001"), row(store="S9999")]),
                 django_capture_on_commit_callbacks)
    errors = job.result["errors"]
    assert len(errors) == 2
    assert any("第 3 行" in e and "Store code" in e and "S0001" in e for e in errors)
    assert any("第 4 行" in e and "S9999" in e for e in errors)
    assert job.result["counts"]["created"] == 1
    assert Response.objects.count() == 0


def test_forms_of_the_store_s_own_staff_wait_for_hq(
        login, store_manager, campaign, django_capture_on_commit_callbacks):
    client = login(store_manager)
    job = upload(client, csv_file([row(), row()]), django_capture_on_commit_callbacks)
    assert job.result["summary"][1][1] == 2  # waiting for HQ review
    import_rows(client, job, django_capture_on_commit_callbacks)
    assert set(Response.objects.values_list("status", flat=True)) == {ResponseStatus.FLAGGED}


def test_dates_outside_any_campaign_and_missing_columns_are_refused(
        login, hq, campaign, django_capture_on_commit_callbacks):
    client = login(hq)
    old = campaign.opens_on.replace(year=campaign.opens_on.year - 3)
    future = timezone.localdate().replace(year=timezone.localdate().year + 1)
    job = upload(client, csv_file([row(day=old), row(day=future), [*row()[:2], "", "x"]]),
                 django_capture_on_commit_callbacks)
    errors = job.result["errors"]
    assert any("第 2 行" in e and "Date" in e for e in errors)
    assert any("第 3 行" in e and "Date" in e for e in errors)
    assert sum("第 4 行" in e for e in errors) == 7  # one bad and six missing ratings
    no_ratings = upload(client, csv_file([["S0001", "2026-01-01"]],
                                         headers=["Store code", "Date"]),
                        django_capture_on_commit_callbacks)
    assert no_ratings.state == JobState.FAILED
    assert "columns" in no_ratings.error or "列" in no_ratings.error


def test_the_paper_page_still_keys_in_and_offers_the_upload(login, hq, campaign):
    client = login(hq)
    page = client.get("/surveys/paper/")
    assert 'name="file"' in page.content.decode()
    data = {"store": "S0001", "campaign": campaign.pk}
    for indicator in Indicator.objects.filter(is_active=True):
        data[f"r0_{indicator.code}"] = "4"
    assert client.post("/surveys/paper/", data).status_code == 302
    assert Response.objects.count() == 1
    bad = client.post("/surveys/paper/", {"action": "upload"})
    assert bad.status_code == 400
