"""In headless Chromium, at a 360 px phone and at 1366 px: the store manager and HQ see the
values and the charts, switch a chart to its table, and the manager plans an action."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from satisfaction.quarters import Quarter
from scoring.models import RollupStatus
from tests.complaints.factories import make_complaint
from tests.dashboard.factories import (
    make_campaign,
    make_employee_score,
    make_response,
    make_rollup,
    make_store_score,
    make_visit,
)

pytestmark = [pytest.mark.browser,
              pytest.mark.django_db(transaction=True, serialized_rollback=True)]
NOW = Quarter.current()
SIZES = [pytest.param((360, 740), id="phone"), pytest.param((1366, 900), id="desktop")]
INDICATORS = {"assortment": 72.0, "environment": 80.0, "recommendation": 55.0,
              "efficacy": 68.0, "warm_service": 84.0, "product_quality": 77.0, "price": 49.0}


@pytest.fixture
def seeded(store, sibling_store, other_store, store_manager, hq, store_manager_employee):
    previous = make_rollup(NOW.previous(), RollupStatus.PUBLISHED)
    current = make_rollup(NOW, RollupStatus.PROVISIONAL)
    for rollup, shift in ((previous, -4.0), (current, 0.0)):
        make_store_score(rollup, store, 71.5 + shift, survey=36.0 + shift, scenario=38.2,
                         deductions=2, rank_chain=1, rank_region=1,
                         indicators={c: (30, v + shift) for c, v in INDICATORS.items()})
        make_store_score(rollup, sibling_store, 64.0 - shift, rank_chain=2, rank_region=2,
                         indicators={c: (30, v - 5) for c, v in INDICATORS.items()})
        make_store_score(rollup, other_store, 58.0, rank_chain=3, rank_region=1,
                         indicators={c: (30, v - 10) for c, v in INDICATORS.items()})
    make_employee_score(current, store_manager_employee, 70.0, warm_service_points=21.0,
                        efficacy_points=15.5, price_points=12.25, purchase_points=21.25)
    now = timezone.now()
    make_complaint(store, received_at=now - timedelta(hours=25), category="price")  # overdue
    campaign = make_campaign(NOW)
    make_response(campaign, store, {"price": (2, 4), "warm_service": (5, 4)})
    make_response(campaign, store, {"price": 1})
    make_visit(store, quarter=NOW, visited_on=timezone.localdate() - timedelta(days=3),
               score_pct=86.0)
    return current


def _charts_rendered(page) -> None:
    page.wait_for_selector(".chart[data-rendered='1']")
    blocks = page.locator("[data-chart]").count()
    assert blocks > 0
    assert page.locator(".chart[data-rendered='1']").count() == blocks
    assert page.locator(".chart[data-rendered='1'] svg").count() >= blocks


def _no_overflow(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth > window.innerWidth + 1") is False


# Every text of every rendered chart (axis and value labels: "38.2") lies inside its chart.
LABELS_OUTSIDE = """() => {
  const outside = [];
  document.querySelectorAll(".chart[data-rendered='1']").forEach((chart) => {
    const box = chart.getBoundingClientRect();
    chart.querySelectorAll("svg text").forEach((text) => {
      const r = text.getBoundingClientRect();
      if (r.width && (r.left < box.left - 0.5 || r.right > box.right + 0.5
                      || r.top < box.top - 0.5 || r.bottom > box.bottom + 0.5)) {
        outside.push(chart.id + ": " + text.textContent);
      }
    });
  });
  return outside;
}"""


def _labels_inside_charts(page) -> None:
    assert page.evaluate(LABELS_OUTSIDE) == []


@pytest.mark.parametrize("size", SIZES)
def test_the_store_manager_reads_the_page_and_plans_an_action(seeded, browser_page,
                                                              browser_login, size,
                                                              store_manager_employee):
    page = browser_page
    page.set_viewport_size({"width": size[0], "height": size[1]})
    browser_login(page, "store1")
    page.goto(page.live_url("/"))
    page.wait_for_load_state("networkidle")
    assert "/stores/S0001/" in page.url
    assert page.locator("[data-testid=hero-value]").inner_text() == "71.5"
    assert "67.5" in page.locator("[data-testid=hero-change]").inner_text()
    assert "4.0" in page.locator("[data-testid=hero-change]").inner_text()
    assert page.locator("[data-testid=ranks]").inner_text().startswith(str(NOW))
    _charts_rendered(page)
    _labels_inside_charts(page)
    trend = page.locator("[data-chart=trend]")
    assert trend.locator(".chart-table").is_hidden()
    trend.locator("button[data-view=table]").click()
    assert trend.locator(".chart-table").is_visible()
    assert trend.locator(".chart").is_hidden()
    assert str(NOW) in trend.locator(".chart-table").inner_text()
    first = page.locator("[data-testid=complaint-card]").first
    assert first.locator("[data-testid=time-left]").get_attribute("class") == "badge bad"
    assert first.locator("[data-testid=time-left]").inner_text().startswith("已超时 1 小时")
    assert first.is_visible()
    _no_overflow(page)

    page.locator("[data-testid=weakest] a").first.click()
    page.wait_for_load_state("networkidle")
    assert page.locator("#id_indicator_code").input_value() == "price"
    page.fill("#id_title", "价格标签每日复核")
    page.select_option("#id_owner", str(store_manager_employee.pk))
    page.fill("#id_deadline", (timezone.localdate() + timedelta(days=14)).isoformat())
    _no_overflow(page)
    page.click("button[type=submit].primary")
    page.wait_for_load_state("networkidle")
    actions = page.locator("[data-testid=actions]").inner_text()
    assert "价格标签每日复核" in actions
    assert "王店长" in actions
    assert page.console_errors == []


@pytest.mark.parametrize("size", SIZES)
def test_hq_reads_the_ranking_and_the_figures(seeded, browser_page, browser_login, size):
    page = browser_page
    page.set_viewport_size({"width": size[0], "height": size[1]})
    browser_login(page, "hq")
    page.goto(page.live_url("/"))
    page.wait_for_load_state("networkidle")
    assert "/stores/" in page.url
    ranking = page.locator("[data-testid=ranking]").inner_text()
    assert "S0001" in ranking
    assert "S0011" in ranking
    assert "+4.0" in page.locator("[data-testid=movers]").inner_text()
    _charts_rendered(page)
    histogram = page.locator("[data-chart=histogram]")
    histogram.locator("button[data-view=table]").click()
    assert "70–80" in histogram.locator(".chart-table").inner_text()
    _no_overflow(page)

    page.click("[data-testid=ranking] >> text=S0001")
    page.wait_for_load_state("networkidle")
    assert "/stores/S0001/" in page.url
    _charts_rendered(page)
    _labels_inside_charts(page)
    _no_overflow(page)

    for path in ("/dashboard/complaints/", "/dashboard/mystery-shopper/"):
        page.goto(page.live_url(path))
        page.wait_for_load_state("networkidle")
        _charts_rendered(page)
        _no_overflow(page)
    assert page.console_errors == []
