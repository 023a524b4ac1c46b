"""The HQ page of the staff pulse beside the customer value: n, r and its 95% interval on a
hand-made chain, only stores of five answers or more, scoped, and a fixed number of queries."""

from __future__ import annotations

import math

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from satisfaction.quarters import Quarter
from scoring.models import RollupStatus
from tests.dashboard.factories import make_rollup, make_store_score
from tests.factories import RegionFactory, StoreFactory, make_pulse

pytestmark = pytest.mark.django_db

QUARTER = Quarter.current().previous()
URL = "/dashboard/pulse/"
# Pulse answers (every statement the same: 1 → 0 … 5 → 100) and customer values of five
# stores. By hand: x = 0, 25, 50, 75, 100 (mean 50), y = 60, 70, 65, 80, 75 (mean 70);
# Σdx·dy = 1000, Σdx² = 6250, Σdy² = 250, so r = 1000 / √(6250 · 250) = 0.8 exactly.
CHAIN = ((1, 60.0), (2, 70.0), (3, 65.0), (4, 80.0), (5, 75.0))


def _fisher(r: float, n: int) -> tuple[float, float]:
    half = 1.959963984540054 / math.sqrt(n - 3)
    return math.tanh(math.atanh(r) - half), math.tanh(math.atanh(r) + half)


@pytest.fixture
def chain(region, other_region):
    rollup = make_rollup(QUARTER, RollupStatus.PUBLISHED)
    stores = []
    for index, (answer, value) in enumerate(CHAIN):
        shop = StoreFactory(code=f"P{index}", region=region if index < 3 else other_region)
        make_pulse(shop, 5 + index, answer=answer)
        make_store_score(rollup, shop, value)
        stores.append(shop)
    # a store of four: its pulse (and its value of 0) must change nothing
    small = StoreFactory(code="P9", region=region)
    make_pulse(small, 4, answer=5)
    make_store_score(rollup, small, 0.0)
    return rollup, stores


def test_the_page_shows_r_n_and_the_interval_of_the_hand_made_chain(login, hq, chain):
    response = login(hq).get(URL, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    corr = response.context["stores_corr"]
    low, high = _fisher(0.8, 5)
    assert (corr["r"], corr["n"]) == (0.8, 5)
    assert corr["low"] == pytest.approx(round(low, 2))
    assert corr["high"] == pytest.approx(
        round(high, 2))
    assert (round(low, 2), round(high, 2)) == (-0.28, 0.99)
    assert corr["strength"] == "unclear"  # five stores: the interval still includes 0
    html = response.content.decode()
    assert "r = 0.8 over n = 5 stores, 95% confidence interval -0.28 to 0.99." in html
    assert "not a cause" in html
    assert response.context["hidden_stores"] == 1


def test_a_store_of_four_is_neither_a_point_nor_a_row(login, hq, chain):
    response = login(hq).get(URL)
    rows = [row[0] for row in response.context["table_rows"]]
    assert not any(row.startswith("P9 ") for row in rows)
    assert len(rows) == 5
    points = response.context["scatter_spec"]["series"][0]["data"]
    assert len(points) == 5
    assert not any(p["name"].startswith("P9") for p in points)


def test_the_regions_are_correlated_over_their_pooled_answers(login, hq, chain, region,
                                                              other_region):
    response = login(hq).get(URL)
    rows = {row.name: row for row in response.context["region_rows"]}
    east = rows[region.name]
    # P0..P2 (5, 6, 7 answers of 1, 2, 3) and P9 (4 answers of 5) pooled
    assert east.figure.n == 22
    assert east.figure.score == pytest.approx((5 * 0 + 6 * 25 + 7 * 50 + 4 * 100) / 22)
    assert east.value == pytest.approx((60 + 70 + 65 + 0) / 4)  # the region's value
    assert response.context["regions_corr"]["n"] == 2
    assert response.context["regions_corr"]["r"] is None  # two regions: no r


def test_a_store_without_a_value_is_listed_but_left_out_of_r(login, hq, chain, region):
    bare = StoreFactory(code="P7", region=region)
    make_pulse(bare, 5)
    response = login(hq).get(URL)
    assert response.context["stores_corr"]["n"] == 5
    assert response.context["unvalued_stores"] == 1
    assert any(row[0].startswith("P7 ") for row in response.context["table_rows"])


def test_a_region_manager_sees_their_region_only(login, region_manager, chain):
    response = login(region_manager).get(URL)
    assert response.status_code == 200
    rows = sorted(row[0].split()[0] for row in response.context["table_rows"])
    assert rows == ["P0", "P1", "P2"]
    assert response.context["stores_corr"]["n"] == 3


@pytest.mark.parametrize("persona", ["store_manager", "clerk", "hr", "shopper"])
def test_store_staff_hr_and_shoppers_may_not_open_it(login, persona, request, chain):
    assert login(request.getfixturevalue(persona)).get(URL).status_code == 403


def test_the_table_is_paginated_and_the_chart_draws_every_store(login, hq, region):
    rollup = make_rollup(QUARTER, RollupStatus.PUBLISHED)
    for index in range(60):
        shop = StoreFactory(region=region)
        make_pulse(shop, 5, answer=1 + index % 5)
        make_store_score(rollup, shop, 50.0 + index % 7)
    response = login(hq).get(URL, {"sort": "-pulse"})
    assert len(response.context["table_rows"]) == 50
    assert response.context["page"].paginator.num_pages == 2
    assert len(response.context["scatter_spec"]["series"][0]["data"]) == 60
    assert response.context["table_rows"][0][2] == 100.0
    assert len(login(hq).get(URL, {"page": 2}).context["table_rows"]) == 10


def test_the_page_reads_a_fixed_number_of_queries(login, hq, region, other_region,
                                                  django_assert_max_num_queries):
    rollup = make_rollup(QUARTER, RollupStatus.PUBLISHED)

    def add(count):
        for index in range(count):
            shop = StoreFactory(region=region if index % 2 else other_region)
            make_pulse(shop, 5, answer=1 + index % 5)
            make_store_score(rollup, shop, 40.0 + index)

    add(4)
    client = login(hq)
    client.get(URL)
    with CaptureQueriesContext(connection) as few:
        client.get(URL)
    add(40)
    RegionFactory()  # another region, no answers
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get(URL).status_code == 200
    with django_assert_max_num_queries(14):
        client.get(URL)
