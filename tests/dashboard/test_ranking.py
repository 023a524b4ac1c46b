"""The HQ / regional ranking: sort, filter, paginate, histogram, movers, scoped."""

from __future__ import annotations

import pytest
from django.urls import reverse

from satisfaction.quarters import Quarter
from scoring.models import RollupStatus
from tests.dashboard.factories import make_rollup, make_store_score
from tests.factories import StoreFactory

pytestmark = pytest.mark.django_db
NOW = Quarter.current()


@pytest.fixture
def chain(store, sibling_store, other_store):
    current = make_rollup(NOW, RollupStatus.PROVISIONAL)
    previous = make_rollup(NOW.previous(), RollupStatus.PUBLISHED)
    # value now, value last quarter
    for s, now, before, rank in ((store, 95.0, 70.0, 1), (sibling_store, 55.0, 60.0, 3),
                                 (other_store, 72.5, 80.0, 2)):
        make_store_score(current, s, now, rank_chain=rank)
        make_store_score(previous, s, before)
    return current


def test_hq_sees_every_store_ranked_with_the_change_since_last_quarter(login, hq, chain):
    response = login(hq).get(reverse("dashboard:store_list"))
    assert response.status_code == 200
    rows = [(s.store.code, s.value, s.delta) for s in response.context["page"]]
    assert rows == [("S0001", 95.0, 25.0), ("S0011", 72.5, -7.5), ("S0002", 55.0, -5.0)]


def test_the_ranking_sorts_and_filters_by_region_and_city(login, hq, chain):
    client = login(hq)
    low_first = client.get(reverse("dashboard:store_list") + "?sort=-value")
    assert [s.store.code for s in low_first.context["page"]] == ["S0002", "S0011", "S0001"]
    east = client.get(reverse("dashboard:store_list") + "?region=EAST")
    assert [s.store.code for s in east.context["page"]] == ["S0001", "S0002"]
    hangzhou = client.get(reverse("dashboard:store_list") + "?city=杭州")
    assert [s.store.code for s in hangzhou.context["page"]] == ["S0002"]


def test_the_histogram_counts_values_per_ten_point_bucket(login, hq, chain):
    buckets = dict(login(hq).get(reverse("dashboard:store_list")).context["histogram_rows"])
    assert buckets["90–100"] == 1   # 95
    assert buckets["70–80"] == 1    # 72.5
    assert buckets["50–60"] == 1    # 55
    assert sum(buckets.values()) == 3


def test_a_value_of_100_falls_in_the_top_bucket(login, hq, chain, region):
    make_store_score(chain, StoreFactory(region=region), 100.0)
    buckets = dict(login(hq).get(reverse("dashboard:store_list")).context["histogram_rows"])
    assert buckets["90–100"] == 2


def test_movers_up_and_down_since_last_quarter(login, hq, chain):
    context = login(hq).get(reverse("dashboard:store_list")).context
    assert [(s.store.code, s.delta) for s in context["up"]] == [("S0001", 25.0)]
    assert [(s.store.code, s.delta) for s in context["down"]] == [("S0011", -7.5),
                                                                 ("S0002", -5.0)]


def test_the_regional_manager_sees_only_their_region(login, region_manager, chain):
    context = login(region_manager).get(reverse("dashboard:store_list")).context
    assert [s.store.code for s in context["page"]] == ["S0001", "S0002"]
    assert [s.store.code for s in context["down"]] == ["S0002"]
    assert sum(dict(context["histogram_rows"]).values()) == 2


def test_a_store_manager_s_list_holds_only_their_store_and_a_shopper_gets_none(
        login, store_manager, shopper, chain):
    response = login(store_manager).get(reverse("dashboard:store_list"))
    assert [s.store.code for s in response.context["page"]] == ["S0001"]
    assert login(shopper).get(reverse("dashboard:store_list")).status_code == 403


def test_before_any_rollup_the_list_shows_the_chain_s_stores(login, hq, store, other_store):
    response = login(hq).get(reverse("dashboard:store_list") + "?q=S00")
    assert response.context["rollup"] is None
    assert [s.code for s in response.context["stores"]] == ["S0001", "S0011"]


def test_the_list_searches_by_store_code_or_name(login, hq, chain):
    response = login(hq).get(reverse("dashboard:store_list") + "?q=杭州")
    assert [s.store.code for s in response.context["page"]] == ["S0002"]


def test_the_old_addresses_of_the_list_and_the_page_redirect(client, chain):
    assert client.get("/dashboard/ranking/?region=EAST")["Location"] == "/stores/?region=EAST"
    assert client.get("/scoring/?quarter=2026Q2")["Location"] == "/stores/?quarter=2026Q2"
    assert client.get("/dashboard/stores/S0001/")["Location"] == "/stores/S0001/"


def test_the_ranking_is_paginated_with_bounded_queries(login, hq, chain, region,
                                                       django_assert_max_num_queries):
    previous = make_rollup(NOW.previous().previous(), RollupStatus.PUBLISHED)
    assert previous  # an older quarter does not change anything shown
    for index in range(120):
        make_store_score(chain, StoreFactory(region=region, city="上海"), float(index % 100))
    client = login(hq)
    with django_assert_max_num_queries(18):  # + 2: the quarter states
        response = client.get(reverse("dashboard:store_list") + "?page=2&sort=value")
    page = response.context["page"]
    assert page.paginator.count == 123
    assert len(page.object_list) == 50
    assert page.number == 2


def test_hq_lands_on_the_store_list(login, hq):
    response = login(hq).get(reverse("home"), follow=True)
    assert response.redirect_chain[-1][0] == reverse("dashboard:store_list")
