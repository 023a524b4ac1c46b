"""Done when (issue 14), as HQ in a browser: create a campaign, edit an indicator label,
upload paper questionnaires with one bad row, see the error, upload the fixed file, import it,
and see the answers counted."""

from __future__ import annotations

import csv
import io

import pytest
from django.utils import timezone

from surveys.models import Campaign, Indicator, Response


def paper_csv(path, rows: list[list[object]]) -> str:
    names = list(Indicator.objects.filter(is_active=True).order_by("order", "code")
                 .values_list("name_zh", flat=True))
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(["门店编码", "日期", "服务人员", *names])
    writer.writerows(rows)
    path.write_bytes(text.getvalue().encode("utf-8-sig"))
    return str(path)


@pytest.mark.browser
def test_hq_sets_up_a_campaign_renames_an_indicator_and_imports_paper_forms(
        browser_page, browser_login, hq, store, sibling_store, other_store, tmp_path,
        transactional_db):
    page = browser_page
    page.set_viewport_size({"width": 1200, "height": 900})
    browser_login(page, "hq")

    # A campaign for the EAST region.
    page.goto(page.live_url("/setup/campaigns/new/"))
    page.fill("#id_name", "华东区纸质问卷")
    page.check("input[name=store_choice][value=region]")
    assert page.is_visible("[data-field=regions]")
    assert not page.is_visible("[data-field=store_codes]")
    page.check("input[name=regions][value=EAST]")
    page.fill("#id_target_per_store", "20")
    page.click("[data-testid=save-campaign]")
    page.wait_for_load_state("networkidle")
    campaign = Campaign.objects.get(name="华东区纸质问卷")
    assert page.url.endswith(f"/setup/campaigns/{campaign.pk}/")
    assert sorted(campaign.stores.values_list("code", flat=True)) == ["S0001", "S0002"]

    page.set_viewport_size({"width": 360, "height": 740})
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.set_viewport_size({"width": 1200, "height": 900})

    # The price indicator gets a new label; its history shows the change.
    price = Indicator.objects.get(code="price")
    page.goto(page.live_url("/setup/indicators/"))
    page.click(f"a[href='/setup/indicators/{price.pk}/']")
    page.fill("#id_name_zh", "价格实惠")
    page.click("[data-testid=save-indicator]")
    page.wait_for_load_state("networkidle")
    history = page.inner_text(".policy-history")
    assert "价格实惠" in history
    assert "商品价格感知" in history
    assert "hq" in history

    # Paper forms with one bad row (a rating of 7 on a 1–5 scale and an unknown store).
    today = timezone.localdate().isoformat()
    good = ["S0001", today, "", 5, 4, 5, 4, 5, 4, 5]
    bad = ["S0009", today, "", 5, 7, 5, 4, 5, 4, 5]
    page.goto(page.live_url("/surveys/paper/"))
    page.set_input_files("#id_file", paper_csv(tmp_path / "问卷.csv", [good, bad, good]))
    page.click("[data-testid=upload]")
    page.wait_for_selector("[data-testid=job-row-errors]")
    errors = page.inner_text("[data-testid=job-row-errors]")
    assert "第 3 行" in errors
    assert "门店编码" in errors
    assert "S0009" in errors
    assert page.locator("[data-testid=job-import]").count() == 0
    assert Response.objects.count() == 0

    # The fixed file: checked, then imported.
    fixed = ["S0002", today, "", 5, 5, 5, 4, 5, 4, 5]
    page.goto(page.live_url("/surveys/paper/"))
    page.set_input_files("#id_file", paper_csv(tmp_path / "问卷2.csv", [good, fixed, good]))
    page.click("[data-testid=upload]")
    page.wait_for_selector("[data-testid=job-import]")
    page.click("[data-testid=job-import]")
    page.wait_for_selector("[data-testid=job-result]")
    assert page.inner_text("[data-testid=job-percent]") == "100%"
    assert Response.objects.filter(campaign=campaign).count() == 3
    page.goto(page.live_url("/setup/campaigns/"))
    row = page.locator("[data-testid=campaigns] tr", has_text="华东区纸质问卷")
    assert row.locator("td.num").first.inner_text() == "3"
    page.set_viewport_size({"width": 360, "height": 740})
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    assert page.console_errors == []
