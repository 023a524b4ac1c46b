"""In a browser at 360 px: HQ runs a rollup from the quarters page and its progress reaches
100 % with the summary, then publishes through the confirmation page; HR downloads the
published quarter's bonus sheet through a job."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from satisfaction.models import Job, JobState
from scoring.models import Rollup, RollupStatus
from tests.dashboard.factories import make_campaign
from tests.scoring.conftest import PAST

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _fits(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def test_hq_rolls_up_and_publishes_and_hr_downloads_the_sheet_through_jobs(
        frames_from_apps, hq, hr, browser_page, browser_login):
    make_campaign(PAST)  # the quarter exists: the pickers offer it
    page = browser_page
    browser_login(page, "hq")

    # The rollup, from the quarters page.
    page.goto(page.live_url("/scoring/quarters/"))
    page.select_option("select[name=rollup-quarter]", str(PAST))
    page.click("[data-testid=rollup-submit]")
    page.wait_for_url("**/jobs/*/")
    page.wait_for_selector("[data-testid=job-result]")
    assert page.locator("[data-testid=job-percent]").inner_text() == "100%"
    assert page.locator("[data-testid=job-progress]").get_attribute("value") == "100"
    result = page.locator("[data-testid=job-result]").inner_text()
    assert "2026Q2" in result
    assert "3" in result  # stores and employees
    job = Job.objects.get(kind="scoring.rollup")
    assert (job.state, job.done, job.total) == (JobState.DONE, 7, 7)
    assert _fits(page)

    # Publishing, through its confirmation page.
    page.goto(page.live_url("/scoring/quarters/"))
    page.click("[data-testid=publish-link-2026Q2]")
    page.wait_for_url("**/scoring/quarters/2026Q2/publish/")
    assert page.locator("[data-testid=publish-revision]").inner_text().startswith("1")
    assert page.locator("[data-testid=publish-stores]").inner_text() == "3"
    assert page.locator("[data-testid=publish-appeal-count]").inner_text() == "0"
    assert page.locator("[data-testid=publish-submit]").is_enabled()
    assert _fits(page)
    page.click("[data-testid=publish-submit]")
    page.wait_for_url("**/jobs/*/")
    page.wait_for_selector("[data-testid=job-result]")
    assert page.locator("[data-testid=job-percent]").inner_text() == "100%"
    assert Rollup.objects.get(quarter=PAST).status == RollupStatus.PUBLISHED
    page.goto(page.live_url("/scoring/quarters/2026Q2/publish/"))
    assert page.locator("[data-testid=publish-submit]").is_disabled()
    assert page.locator("[data-testid=publish-blockers]").is_visible()

    # HR downloads the bonus sheet of the published quarter through a job.
    page.context.clear_cookies()
    browser_login(page, "hr")
    page.goto(page.live_url("/scoring/hr/"))
    page.select_option("[data-testid=export-form] select[name=quarter]", str(PAST))
    page.select_option("[data-testid=export-form] select[name=format]", "csv")
    page.select_option("[data-testid=export-form] select[name=language]", "en")
    page.click("[data-testid=export-submit]")
    page.wait_for_url("**/jobs/*/")
    page.wait_for_selector("[data-testid=job-download]")
    assert page.locator("[data-testid=job-percent]").inner_text() == "100%"
    with page.expect_download() as download_info:
        page.click("[data-testid=job-download]")
    download = download_info.value
    assert download.suggested_filename.startswith("satisfaction-bonus-2026Q2-r1-")
    assert download.suggested_filename.endswith(".csv"), download.suggested_filename
    content = Path(download.path()).read_bytes()
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    assert rows[0][:2] == ["Employee number", "Name"]
    assert {row[0] for row in rows[1:]} == {"E10001", "E10002", "E00001"}
    assert _fits(page)
    assert page.console_errors == []
