"""In headless Chromium, at a 360 px phone and at 1366 px: HQ picks a quarter from the select,
filters the store list and exports it; a large export goes through its job page."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from dashboard import views
from satisfaction.quarters import Quarter
from scoring.models import RollupStatus
from tests.dashboard.factories import make_rollup, make_store_score

pytestmark = [pytest.mark.browser,
              pytest.mark.django_db(transaction=True, serialized_rollback=True)]
NOW = Quarter.current()
SIZES = [pytest.param((360, 740), id="phone"), pytest.param((1366, 900), id="desktop")]


@pytest.fixture
def ranked(store, sibling_store, other_store, hq):
    current = make_rollup(NOW, RollupStatus.PROVISIONAL)
    last = make_rollup(NOW.previous(), RollupStatus.PUBLISHED)
    last.published_at = timezone.now()
    last.save()
    for rollup, shift in ((last, -5.0), (current, 0.0)):
        make_store_score(rollup, store, 80.0 + shift, rank_chain=1, rank_region=1)
        make_store_score(rollup, sibling_store, 60.0 - shift, rank_chain=3, rank_region=2)
        make_store_score(rollup, other_store, 70.0, rank_chain=2, rank_region=1)
    return last


def _no_overflow(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth > window.innerWidth + 1") is False


@pytest.mark.parametrize("size", SIZES)
def test_hq_picks_a_published_quarter_and_exports_the_filtered_ranking(
        ranked, browser_page, browser_login, size):
    page = browser_page
    page.set_viewport_size({"width": size[0], "height": size[1]})
    browser_login(page, "hq")
    page.goto(page.live_url("/stores/"))
    page.wait_for_load_state("networkidle")
    option = page.locator(f"select[name=quarter] option[value='{NOW.previous()}']")
    assert option.get_attribute("data-state") == "published"
    assert option.inner_text().startswith(f"{NOW.previous()} · 第 1 版已于")
    page.select_option("select[name=quarter]", str(NOW.previous()))
    page.select_option("select[name=region]", "EAST")
    page.click("form.filters button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert f"quarter={NOW.previous()}" in page.url
    _no_overflow(page)
    with page.expect_download() as download_info:
        page.click("[data-testid=export-xlsx]")
    download = download_info.value
    assert download.suggested_filename == f"store-ranking-{NOW.previous()}-r1.xlsx"
    content = io.BytesIO(Path(download.path()).read_bytes())
    sheet = load_workbook(content, read_only=True).worksheets[0]
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    assert [(row[2], row[6]) for row in rows] == [("S0001", 75.0), ("S0002", 65.0)]
    assert page.console_errors == []


def test_a_large_export_shows_its_progress_page_and_then_the_download(
        ranked, browser_page, browser_login, monkeypatch):
    monkeypatch.setattr(views, "EXPORT_IN_REQUEST_ROWS", 1)
    page = browser_page
    browser_login(page, "hq")
    page.goto(page.live_url("/stores/?sort=-value"))
    page.wait_for_load_state("networkidle")
    page.click("[data-testid=export-csv]")
    page.wait_for_load_state("networkidle")
    assert "/jobs/" in page.url
    page.wait_for_selector("[data-testid=job-download]")
    assert page.locator("[data-testid=job-percent]").inner_text() == "100%"
    _no_overflow(page)
    with page.expect_download() as download_info:
        page.click("[data-testid=job-download]")
    content = Path(download_info.value.path()).read_bytes().decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(content)))
    assert [row[2] for row in rows[1:]] == ["S0002", "S0011", "S0001"]
    assert page.console_errors == []
