"""The scores on a phone: HQ and a store manager read them at 360 px without errors."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_store_manager_reads_the_store_value_on_a_phone(rolled_up, store_manager,
                                                          browser_page, browser_login):
    page = browser_page
    browser_login(page, "store1")
    page.goto(page.live_url("/stores/?quarter=2026Q2"))
    assert page.locator("[data-testid=ranking] tbody tr").count() == 1
    page.click("[data-testid=ranking] >> text=S0001")
    page.wait_for_load_state("networkidle")
    page.click("[data-testid=store-facts] a")
    page.wait_for_load_state("networkidle")
    assert page.locator("[data-testid=store-value]").inner_text() == "66.50"
    overflow = page.evaluate("document.documentElement.scrollWidth > window.innerWidth + 1")
    assert overflow is False
    assert page.console_errors == []


def test_hq_sees_the_quarters_page_on_a_phone(rolled_up, hq, browser_page, browser_login):
    page = browser_page
    browser_login(page, "hq")
    page.goto(page.live_url("/scoring/quarters/"))
    assert "2026Q2" in page.locator("table.data").inner_text()
    assert page.evaluate("document.documentElement.scrollWidth > window.innerWidth + 1") is False
    assert page.console_errors == []
