"""HQ adds a scorecard item in the editor, on a phone, and the new version is shown."""

import pytest

from mystery_shopper.models import ScorecardItem, ScorecardTemplate
from tests.mystery_shopper.factories import default_template

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_hq_adds_a_scorecard_item_and_saves_a_new_version(browser_page, browser_login, hq):
    page = browser_page
    old = default_template()
    browser_login(page, "hq")
    page.goto(page.live_url("/setup/scorecards/"))
    page.click(f"a[href='/setup/scorecards/{old.code}/edit/']")
    page.wait_for_load_state("networkidle")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360

    section = page.locator("[data-sections] > [data-section]").nth(1)
    section.locator("[data-testid=add-item]").click()
    name = (section.locator("[data-items] > [data-row]").last
            .locator("input[name$='-code']").get_attribute("name"))
    item = section.locator(f"[data-items] > [data-row]:has(input[name='{name}'])")
    item.locator("input[name$='-code']").fill("greets_customer")
    item.locator("input[name$='-text_zh']").fill("顾客进店时主动问候")
    item.locator("select[name$='-part']").select_option("process")
    item.locator("input[name$='-max_points']").fill("2")
    # moved to the top of its section
    for _step in range(section.locator("[data-items] > [data-row]").count()):
        item.locator("[data-move=up]").click()
    page.fill("#id_note", "加入进店问候")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.click("[data-testid=save-scorecard]")
    page.wait_for_load_state("networkidle")

    assert page.url.endswith(f"/setup/scorecards/{old.code}/"), page.content()[:3000]
    new = ScorecardTemplate.objects.get(code=old.code, is_current=True)
    assert new.version == old.version + 1
    added = ScorecardItem.objects.get(section__template=new, code="greets_customer")
    assert (added.part, float(added.max_points), added.position) == ("process", 2.0, 0)
    assert not ScorecardItem.objects.filter(section__template=old,
                                            code="greets_customer").exists()
    versions = page.locator("[data-testid=versions] tbody tr")
    assert versions.count() == 2
    assert f"v{new.version}" in versions.first.inner_text()
    assert "加入进店问候" in versions.first.inner_text()
    assert "greets_customer" in page.locator(".policy-history").inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    assert page.console_errors == []
