"""Lists become cards on a phone: complaint, staff, action and visit lists are
``<table class="data stack">`` whose every body cell carries its column header as
``data-label`` (static/css/app.css shows them as "label: value" lines below 600 px)."""

from __future__ import annotations

from datetime import date, timedelta
from html.parser import HTMLParser

import pytest
from django.urls import reverse
from django.utils import timezone

from dashboard.services import improvement_action_create
from mystery_shopper.models import Appeal, VisitStatus
from satisfaction.quarters import Quarter
from scoring.models import ExportLog, RollupStatus
from tests.complaints.factories import make_complaint
from tests.dashboard.factories import make_rollup, make_store_score
from tests.mystery_shopper.factories import VisitFactory


class _StackTables(HTMLParser):
    """The ``table.stack`` tables of a page: their header texts and, per body row, the
    ``data-label`` of every cell (``None`` where there is none) and the cell's colspan."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: list[dict] = []
        self._table: dict | None = None
        self._in_th = False
        self._section = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "table" and "stack" in (attributes.get("class") or "").split():
            self._table = {"headers": [], "rows": [], "wrap": None}
            self.tables.append(self._table)
        if self._table is None:
            return
        if tag in ("thead", "tbody"):
            self._section = tag
        elif tag == "th" and self._section == "thead":
            self._in_th = True
            self._table["headers"].append("")
        elif tag == "tr" and self._section == "tbody":
            self._table["rows"].append([])
        elif tag == "td" and self._section == "tbody":
            self._table["rows"][-1].append((attributes.get("data-label"),
                                            attributes.get("colspan")))

    def handle_endtag(self, tag: str) -> None:
        if tag == "th":
            self._in_th = False
        elif tag == "table":
            self._table = None
            self._section = ""

    def handle_data(self, data: str) -> None:
        if self._in_th and self._table is not None:
            self._table["headers"][-1] += data


def _stack_tables(html: str) -> list[dict]:
    parser = _StackTables()
    parser.feed(html)
    for table in parser.tables:
        table["headers"] = [" ".join(h.split()) for h in table["headers"]]
    return parser.tables


def _assert_cards(response, rows: int = 1) -> None:
    assert response.status_code == 200
    html = response.content.decode()
    assert 'class="data stack"' in html
    tables = _stack_tables(html)
    assert len(tables) == 1
    table = tables[0]
    assert all(table["headers"]), f"an empty column header: {table['headers']}"
    data_rows = [row for row in table["rows"] if not any(span for _, span in row)]
    assert len(data_rows) >= rows
    for row in data_rows:
        assert [label for label, _ in row] == table["headers"]


@pytest.fixture
def provisional(store):
    rollup = make_rollup(Quarter.current(), RollupStatus.PROVISIONAL)
    make_store_score(rollup, store, 70.0, indicators={"price": (10, 55.0)})
    return rollup


@pytest.mark.django_db
def test_the_complaint_list_is_a_stack_of_cards_labelled_by_its_headers(login, hq, store):
    complaint = make_complaint(store)
    response = login(hq).get(reverse("complaints:list"))
    _assert_cards(response)
    assert complaint.ticket_no in response.content.decode()


@pytest.mark.django_db
def test_the_improvement_actions_are_cards_with_the_action_first(
        login, hq, store, store_manager, store_manager_employee, provisional):
    improvement_action_create(user=store_manager, store=store, title="价格标签每日复核",
                              indicator_code="price", owner=store_manager_employee,
                              deadline=timezone.localdate() + timedelta(days=14))
    response = login(hq).get(reverse("dashboard:actions"))
    _assert_cards(response)
    assert _stack_tables(response.content.decode())[0]["headers"][0] == "改善措施"  # Action


@pytest.mark.django_db
def test_the_hr_export_log_is_a_stack_of_cards(login, hr):
    ExportLog.objects.create(user=hr, quarter=Quarter(2026, 3), file_format="xlsx",
                             language="zh-hans", row_count=12)
    _assert_cards(login(hr).get(reverse("scoring:hr")))


@pytest.mark.django_db
def test_the_store_sees_its_visit_reports_as_cards(login, store_manager, store):
    VisitFactory(store=store, status=VisitStatus.APPROVED, visited_on=date(2026, 11, 3),
                 score_pct=88.5)
    _assert_cards(login(store_manager).get(reverse("mystery_shopper:store_visits")))


@pytest.mark.django_db
def test_hq_reviews_plans_and_decides_visits_in_cards(login, hq, store, store_manager):
    VisitFactory(store=store, status=VisitStatus.SUBMITTED, visited_on=date(2026, 11, 3),
                 score_pct=75.0)
    approved = VisitFactory(store=store, status=VisitStatus.APPROVED,
                            visited_on=date(2026, 11, 4), score_pct=60.0)
    Appeal.objects.create(visit=approved, raised_by=store_manager, reason="录音证明已询问")
    client = login(hq)
    _assert_cards(client.get(reverse("mystery_shopper:review_list")))
    _assert_cards(client.get(reverse("mystery_shopper:plan") + "?quarter=2026Q4"), rows=2)
    _assert_cards(client.get(reverse("mystery_shopper:appeal_list")))


@pytest.mark.django_db
def test_an_empty_list_keeps_its_headers_and_a_focusable_named_region(login, hq):
    html = login(hq).get(reverse("complaints:list")).content.decode()
    table = _stack_tables(html)[0]
    assert table["rows"] == [[(None, "10")]]
    assert 'class="table-wrap stack-wrap" tabindex="0" role="region" aria-label="' in html


# --- In the browser ------------------------------------------------------------------------

CARD_FACTS = """(selector) => {
  const table = document.querySelector(selector);
  const row = table.querySelector('tbody tr');
  const cells = [...row.querySelectorAll('td')];
  const first = cells[0];
  const rowBox = row.getBoundingClientRect();
  const tops = cells.filter(c => c.offsetParent !== null).map(c => c.getBoundingClientRect().top);
  const style = getComputedStyle(row);
  return {
    scrollWidth: document.documentElement.scrollWidth,
    cellDisplay: getComputedStyle(first).display,
    firstText: first.innerText.trim(),
    firstWeight: getComputedStyle(first).fontWeight,
    firstIsTopmost: first.getBoundingClientRect().top <= Math.min(...tops),
    rowBorder: style.borderTopStyle,
    rowWidth: rowBox.width,
    theadHeight: table.querySelector('thead').getBoundingClientRect().height,
    secondLabel: getComputedStyle(cells[cells.length - 1], '::before').content,
  };
}"""


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_on_a_phone_complaints_and_actions_are_cards_and_on_a_desktop_tables(
        transactional_db, hq, store, store_manager, store_manager_employee, browser_page,
        browser_login):
    rollup = make_rollup(Quarter.current(), RollupStatus.PROVISIONAL)
    make_store_score(rollup, store, 70.0, indicators={"price": (10, 55.0)})
    improvement_action_create(user=store_manager, store=store,
                              title="价格标签每日复核，并由店长每周抽查一次",
                              indicator_code="price", owner=store_manager_employee,
                              deadline=timezone.localdate() + timedelta(days=14))
    complaint = make_complaint(store, description="药品价格标签与收银价格不一致。" * 5)
    page = browser_page
    browser_login(page, "hq")

    page.goto(page.live_url(reverse("complaints:list")))
    phone = page.evaluate(CARD_FACTS, "[data-testid=complaint-list]")
    assert phone["scrollWidth"] <= 360
    assert phone["cellDisplay"] == "block"
    assert phone["firstText"].startswith(complaint.ticket_no)
    assert int(phone["firstWeight"]) >= 700
    assert phone["firstIsTopmost"]
    assert phone["rowBorder"] == "solid"
    assert phone["rowWidth"] <= 360
    assert phone["theadHeight"] <= 1
    assert phone["secondLabel"].startswith('"')  # "负责人：" — the label from data-label

    page.goto(page.live_url(reverse("dashboard:actions")))
    phone = page.evaluate(CARD_FACTS, "[data-testid=action-list]")
    assert phone["scrollWidth"] <= 360
    assert phone["cellDisplay"] == "block"
    assert phone["firstText"] == "价格标签每日复核，并由店长每周抽查一次"
    assert phone["firstIsTopmost"]

    page.set_viewport_size({"width": 1366, "height": 768})
    for url, selector in ((reverse("complaints:list"), "[data-testid=complaint-list]"),
                          (reverse("dashboard:actions"), "[data-testid=action-list]")):
        page.goto(page.live_url(url))
        desktop = page.evaluate(CARD_FACTS, selector)
        assert desktop["cellDisplay"] == "table-cell"
        assert desktop["theadHeight"] > 20
        assert desktop["secondLabel"] == "none"
    assert page.console_errors == []
