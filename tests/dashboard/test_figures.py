"""Complaint figures by region, the Pareto, the iceberg, and the weakest scorecard items."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from pos.models import PosTransaction
from satisfaction.quarters import Quarter
from tests.dashboard.factories import (
    make_campaign,
    make_complaint,
    make_response,
    make_visit,
)
from tests.factories import StoreFactory

pytestmark = pytest.mark.django_db
NOW = Quarter.current()


@pytest.fixture
def complaints(store, sibling_store, other_store):
    start = NOW.start() + timedelta(days=1)
    # EAST: 4 complaints; resolved 3 (2 on time); closed 2 (1 satisfied); 1 second complaint.
    make_complaint(store, received_at=start, resolved_on_time=True, status="closed",
                   customer_satisfied=True, category="price")
    make_complaint(store, received_at=start, resolved_on_time=False, status="closed",
                   customer_satisfied=False, category="price", is_second=True)
    make_complaint(sibling_store, received_at=start, resolved_on_time=True, status="resolved",
                   category="service_attitude")
    make_complaint(sibling_store, received_at=start, category="price")
    # SOUTH: 1 complaint, open.
    make_complaint(other_store, received_at=start, category="environment")
    # Last quarter: not counted.
    make_complaint(store, received_at=NOW.start() - timedelta(days=1), category="other")


def test_complaint_rates_by_region_follow_their_definitions(login, hq, complaints):
    response = login(hq).get(reverse("dashboard:complaint_figures"))
    rows = {r[0]: r[1:] for r in response.context["rates_rows"]}
    # total, on-time 2/3, closed-loop 1/4 (closed with the customer satisfied / received),
    # second 1/4
    assert rows["华东区"] == (4, 66.7, 25.0, 25.0, None)  # no POS data: no rate, not 0
    assert rows["华南区"] == (1, None, 0.0, 0.0, None)


def test_complaints_per_thousand_receipts_come_from_the_pos_receipts(login, hq, complaints,
                                                                      store, other_store):
    moment = NOW.start() + timedelta(days=2)
    PosTransaction.objects.bulk_create(
        [PosTransaction(store=store, receipt_number=f"R{i}", occurred_at=moment,
                        received_at=moment, amount=Decimal(10), item_count=1)
         for i in range(1600)]
        + [PosTransaction(store=other_store, receipt_number=f"R{i}", occurred_at=moment,
                          received_at=moment, amount=Decimal(10), item_count=1)
           for i in range(500)])
    rows = {r[0]: r[1:] for r in login(hq).get(
        reverse("dashboard:complaint_figures")).context["rates_rows"]}
    assert rows["华东区"][-1] == 2.5  # 4 complaints / 1,600 receipts x 1,000
    assert rows["华南区"][-1] == 2.0  # 1 / 500 x 1,000


def test_the_pareto_lists_categories_largest_first_with_the_cumulative_share(login, hq,
                                                                          complaints):
    rows = login(hq).get(reverse("dashboard:complaint_figures")).context["pareto_rows"]
    assert [r[1:] for r in rows] == [(3, 60.0, 60.0), (1, 20.0, 80.0), (1, 20.0, 100.0)]


def test_the_regional_manager_sees_only_their_region_s_complaints(login, region_manager,
                                                                  complaints):
    context = login(region_manager).get(reverse("dashboard:complaint_figures")).context
    assert [r[0] for r in context["rates_rows"]] == ["华东区"]
    assert sum(r[1] for r in context["pareto_rows"]) == 4


def test_the_iceberg_puts_unhappy_respondents_beside_complaints(login, hq, complaints, store,
                                                                sibling_store):
    campaign = make_campaign(NOW, ask_expectation=False)
    for _ in range(3):
        make_response(campaign, store, {"price": 1, "efficacy": 4})
    make_response(campaign, store, {"price": 3})
    make_response(campaign, sibling_store, {"warm_service": 1, "price": 1})
    make_response(campaign, sibling_store, {"price": 5}, status="flagged")
    context = login(hq).get(reverse("dashboard:complaint_figures")).context
    assert context["iceberg_rows"] == [("S0001 上海人民路店", 2, 3), ("S0002 杭州解放路店", 2, 1)]
    totals = context["iceberg_totals"]
    assert (totals["complaints"], totals["unhappy"], totals["respondents"]) == (5, 4, 5)


def test_the_weakest_scorecard_items_come_first(login, hq, store, other_store,
                                                django_assert_max_num_queries):
    day = NOW.first_day
    make_visit(store, quarter=NOW, visited_on=day, score_pct=50.0,
               answers={"signboard": Decimal(0), "uniform": Decimal(1),
                        "asks_past_history": None})
    make_visit(other_store, quarter=NOW, visited_on=day, score_pct=70.0,
               answers={"signboard": Decimal(1), "uniform": Decimal(1),
                        "asks_past_history": Decimal(0)})
    make_visit(store, quarter=NOW, visited_on=day, score_pct=10.0, status="submitted",
               answers={"uniform": Decimal(0)})
    client = login(hq)
    with django_assert_max_num_queries(10):
        response = client.get(reverse("dashboard:mystery_figures"))
    rows = response.context["rows"]
    # asks_past_history: 0 of 1 answered (the N/A left out); signboard 1 of 2; uniform 2 of 2.
    assert [(r[2], r[3], r[4]) for r in rows] == [(0.0, 1, 1), (50.0, 2, 1), (100.0, 2, 0)]


def test_figure_pages_keep_their_query_count_with_more_stores(login, hq, complaints, region,
                                                              django_assert_max_num_queries):
    for _ in range(30):
        make_complaint(StoreFactory(region=region), received_at=NOW.start() + timedelta(days=2))
    client = login(hq)
    with django_assert_max_num_queries(18):  # + 4: the quarter states
        client.get(reverse("dashboard:complaint_figures"))
