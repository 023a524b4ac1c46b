"""Loyalty, retention and complaints per 1,000 receipts on the store and region pages, against
figures computed by hand from a small chain.

Quarter shown: 2026Q2 (its previous quarter: 2026Q1). Members by letter:

| store | members in Q1 | bought in Q2 | receipts in Q2 | complaints in Q2 |
|---|---|---|---|---|
| S0001 (EAST) | A B C D | A A B at S0001, C at S0002, D nowhere | 5 (2 without a card) | 2 |
| S0002 (EAST) | C E | C E at S0002 | 3 (with C's above) | 0 |
| S0011 (SOUTH) | F G H I | F at S0011 | 4 (3 without a card) | 1 |
| S0003 (EAST) | J | nothing: no POS data in Q2 | 0 | 1 |

S0001: loyalty 2/4 = 50.0 %, retention 3/4 = 75.0 %, complaints 2/5 × 1000 = 400.00.
S0002: 2/2 = 100 %, 100 %, 0.00. S0011: 1/4 = 25.0 %, 25.0 %, 1/4 × 1000 = 250.00.
Chain medians over the three stores with POS data: 50.0 %, 75.0 %, 250.00 (with S0003 counted
as 0 the loyalty median would be 37.5 %). EAST's medians (S0001, S0002): 75.0 %, 87.5 %, 200.00.
"""

from __future__ import annotations

import re
from datetime import datetime

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from dashboard import loyalty, tasks
from pos.selectors import NO_POS_FIGURES, pos_quarter_medians, pos_store_figures
from satisfaction.celery import app as celery_app
from satisfaction.models import Role
from satisfaction.quarters import Quarter, chain_zone
from tests.dashboard.factories import make_complaint, make_rollup, make_store_score
from tests.factories import StoreFactory, UserFactory, make_receipt

Q = Quarter.parse("2026Q2")
Q1_DAY = datetime(2026, 2, 10, 10, 0, tzinfo=chain_zone())
Q2_DAY = datetime(2026, 5, 10, 10, 0, tzinfo=chain_zone())
MAX_STORE_PAGE_QUERIES_COLD = 47  # the store page's own, plus 5 per quarter for the chain
# pass (which keeps the store's figures too): bounded, whatever the size of the chain
MAX_STORE_PAGE_QUERIES_WARM = 16  # as tests/dashboard/test_store_page_cache.py: no POS query
MAX_REGION_PAGE_QUERIES_WARM = 16


def _cell(html: str, testid: str) -> str:
    match = re.search(rf'data-testid="{testid}"[^>]*>(.*?)</td>', html, re.S)
    assert match, testid
    return re.sub(r"<[^>]+>", "", match.group(1)).strip()


@pytest.fixture
def closed_store(region):
    return StoreFactory(code="S0003", name="苏州观前店", region=region, city="苏州")


@pytest.fixture
def chain(store, sibling_store, other_store, closed_store):
    for member in "ABCD":
        make_receipt(store, at=Q1_DAY, member=member)
    for member in "CE":
        make_receipt(sibling_store, at=Q1_DAY, member=member)
    for member in "FGHI":
        make_receipt(other_store, at=Q1_DAY, member=member)
    make_receipt(closed_store, at=Q1_DAY, member="J")
    for member in ("A", "A", "B", "", ""):
        make_receipt(store, at=Q2_DAY, member=member)
    for member in "CE":
        make_receipt(sibling_store, at=Q2_DAY, member=member)
    make_receipt(sibling_store, at=Q2_DAY)
    for member in ("F", "", "", ""):
        make_receipt(other_store, at=Q2_DAY, member=member)
    for target in (store, store, other_store, closed_store):
        make_complaint(target, received_at=Q2_DAY)


def _english(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def _store_page(client, code: str, quarter: Quarter = Q) -> str:
    _english(client)
    response = client.get(reverse("dashboard:store", args=[code]), {"quarter": str(quarter)})
    assert response.status_code == 200
    return response.content.decode()


def test_the_store_page_shows_the_hand_computed_figures_beside_the_chain_median(
        chain, login, store_manager, store):
    html = _store_page(login(store_manager), store.code)
    assert _cell(html, "own-loyalty") == "50.0%"
    assert _cell(html, "own-retention") == "75.0%"
    assert _cell(html, "own-complaints_per_1000") == "400.00"
    assert _cell(html, "median-loyalty") == "50.0%"
    assert _cell(html, "median-retention") == "75.0%"
    assert _cell(html, "median-complaints_per_1000") == "250.00"
    assert 'data-testid="no-pos-data"' not in html


def test_the_chain_median_counts_only_the_stores_with_pos_data(chain, region):
    medians = pos_quarter_medians(quarter=Q)
    assert medians.chain.stores == 3
    assert medians.chain.loyalty == 0.5  # 0.375 if the store without receipts counted as 0
    assert medians.chain.retention == 0.75
    assert medians.chain.complaints_per_1000 == 250.0
    east = medians.regions[region.pk]
    assert (east.stores, east.loyalty, east.retention, east.complaints_per_1000) == (
        2, 0.75, 0.875, 200.0)


def test_a_store_without_pos_data_says_so_instead_of_showing_zero(chain, login, hq,
                                                                   closed_store):
    html = _store_page(login(hq), closed_store.code)
    assert "No POS data for this quarter" in html
    for key in ("loyalty", "retention", "complaints_per_1000"):
        assert _cell(html, f"own-{key}") == "No POS data"
    assert ">0.0%<" not in html
    # The chain's median still shows, for comparison.
    assert _cell(html, "median-loyalty") == "50.0%"


def test_a_quarter_without_members_before_it_shows_a_dash_not_zero(chain, login,
                                                                  store_manager, store):
    html = _store_page(login(store_manager), store.code, Q.previous())
    assert _cell(html, "own-loyalty") == "–"
    assert _cell(html, "own-complaints_per_1000") == "0.00"  # receipts, and no complaint


def test_the_trend_shows_each_quarter_beside_the_median_with_gaps_without_data(
        chain, login, store_manager, store):
    response = _english(login(store_manager)).get(
        reverse("dashboard:store", args=[store.code]), {"quarter": str(Q)})
    charts = {c["id"]: c for c in response.context["loyalty_charts"]}
    assert [row[0] for row in charts["loyalty"]["rows"]] == [
        str(q) for q in Q.last_n(loyalty.LOYALTY_QUARTERS)]
    assert charts["loyalty"]["rows"][-1] == ("2026Q2", 50.0, 50.0)
    assert charts["retention"]["rows"][-1] == ("2026Q2", 75.0, 75.0)
    assert charts["complaint-rate"]["rows"][-1] == ("2026Q2", 400.0, 250.0)
    assert charts["loyalty"]["rows"][0] == ("2025Q1", "No POS data", None)
    series = charts["loyalty"]["spec"]["series"]
    assert series[0]["data"][-1] == 50.0
    assert series[0]["data"][0] is None  # a gap, not 0
    assert series[1]["lineStyle"]["type"] == "dashed"


def test_the_definitions_and_the_window_are_on_hover_and_in_the_notes(chain, login,
                                                                      store_manager, store):
    html = _store_page(login(store_manager), store.code)
    title = re.search(r'<abbr title="([^"]+)" data-testid="definition-loyalty"', html).group(1)
    assert "previous quarter" in title
    assert "same store" in title
    retention = re.search(r'<abbr title="([^"]+)" data-testid="definition-retention"',
                          html).group(1)
    assert "anywhere in the chain" in retention
    notes = html[html.index('data-testid="loyalty-notes"'):]
    assert "the members who bought in 2026Q1, and whether they bought again in 2026Q2" in notes
    assert "left out of the medians" in notes


def test_the_definitions_read_in_chinese(chain, login, store_manager, store):
    html = login(store_manager).get(reverse("dashboard:store", args=[store.code]),
                                    {"quarter": str(Q)}).content.decode()
    assert "忠诚度" in html
    assert "保留率" in html
    assert "全连锁中位数" in html


def test_the_region_page_shows_the_region_medians_and_its_stores_ranked(
        chain, login, region_manager, region, store, sibling_store, other_store):
    rollup = make_rollup(Q)
    make_store_score(rollup, store, 70.0, rank_chain=2, rank_region=2)
    make_store_score(rollup, sibling_store, 80.0, rank_chain=1, rank_region=1)
    make_store_score(rollup, other_store, 60.0, rank_chain=3, rank_region=1)
    response = _english(login(region_manager)).get(reverse("dashboard:region",
                                                           args=[region.code]),
                                         {"quarter": str(Q)})
    html = response.content.decode()
    assert re.search(r'data-testid="region-mean">75\.0<', html)
    assert _cell(html, "own-loyalty") == "75.0%"
    assert _cell(html, "own-retention") == "87.5%"
    assert _cell(html, "own-complaints_per_1000") == "200.00"
    assert _cell(html, "median-loyalty") == "50.0%"
    ranking = html[html.index('data-testid="region-ranking"'):]
    assert ranking.index("S0002") < ranking.index("S0001")
    assert reverse("dashboard:store", args=["S0001"]) in ranking
    assert "S0011" not in ranking


def test_a_region_without_pos_data_says_so(login, hq, other_region, chain):
    html = _english(login(hq)).get(reverse("dashboard:region", args=[other_region.code]),
                         {"quarter": "2025Q4"}).content.decode()
    assert "No POS data for this quarter" in html
    assert _cell(html, "own-loyalty") == "No POS data"


def test_only_hq_hr_and_the_region_s_manager_open_a_region_page(
        login, hq, hr, region_manager, store_manager, clerk, region, other_region):
    other_manager = UserFactory(username="region2", role=Role.REGIONAL_MANAGER,
                                regions=[other_region])
    url = reverse("dashboard:region", args=[region.code])
    for user, status in ((hq, 200), (hr, 200), (region_manager, 200), (other_manager, 404),
                         (store_manager, 404), (clerk, 404)):
        assert login(user).get(url).status_code == status, user.username
    assert login(hq).get(reverse("dashboard:region", args=["NOPE"])).status_code == 404
    assert login(region_manager).get(url, {"quarter": "soon"}).status_code == 400


def test_a_region_manager_of_one_region_goes_straight_to_it(login, region_manager, region,
                                                             hq, other_region):
    response = login(region_manager).get(reverse("dashboard:region_list"))
    assert response.url == reverse("dashboard:region", args=[region.code])
    html = login(hq).get(reverse("dashboard:region_list")).content.decode()
    assert reverse("dashboard:region", args=[other_region.code]) in html


def test_the_store_page_links_its_region_for_those_who_may_open_it(
        chain, login, region_manager, store_manager, store):
    assert 'data-testid="region-link"' in _store_page(login(region_manager), store.code)
    assert 'data-testid="region-link"' not in _store_page(login(store_manager), store.code)


def test_the_medians_are_computed_once_per_quarter_then_read_from_the_cache(chain):
    with CaptureQueriesContext(connection) as cold:
        first = loyalty.quarter_medians([Q])
    with CaptureQueriesContext(connection) as warm:
        second = loyalty.quarter_medians([Q])
    assert len(cold.captured_queries) == 5
    assert len(warm.captured_queries) == 0
    assert first == second


def test_a_settled_quarter_is_kept_a_week_and_the_running_one_an_hour():
    now = datetime(2026, 12, 6, 12, 0, tzinfo=chain_zone())
    assert loyalty.cache_seconds(Quarter.parse("2026Q3"), now) == loyalty.SETTLED_SECONDS
    assert loyalty.cache_seconds(Quarter.parse("2026Q4"), now) == loyalty.RECENT_SECONDS
    early = datetime(2026, 10, 5, 12, 0, tzinfo=chain_zone())  # Q3 ended five days ago
    assert loyalty.cache_seconds(Quarter.parse("2026Q3"), early) == loyalty.RECENT_SECONDS


def test_the_store_page_query_count_is_bounded_cold_and_has_no_pos_query_warm(
        chain, login, store_manager, store, django_assert_max_num_queries):
    client = login(store_manager)
    with django_assert_max_num_queries(MAX_STORE_PAGE_QUERIES_COLD):
        _store_page(client, store.code)
    with django_assert_max_num_queries(MAX_STORE_PAGE_QUERIES_WARM) as warm:
        _store_page(client, store.code)
    assert not any("pos_postransaction" in q["sql"] for q in warm.captured_queries)


def test_the_region_page_query_count_is_bounded(chain, login, region_manager, region, store,
                                               sibling_store, django_assert_max_num_queries):
    rollup = make_rollup(Q)
    for rank, target in enumerate((store, sibling_store), start=1):
        make_store_score(rollup, target, 70.0 + rank, rank_chain=rank, rank_region=rank)
    client = login(region_manager)
    url = reverse("dashboard:region", args=[region.code])
    client.get(url, {"quarter": str(Q)})
    for n in range(30):
        make_store_score(rollup, StoreFactory(region=region), 50.0 + n)
    with django_assert_max_num_queries(MAX_REGION_PAGE_QUERIES_WARM) as warm:
        assert client.get(url, {"quarter": str(Q)}).status_code == 200
    assert not any("pos_postransaction" in q["sql"] for q in warm.captured_queries)


def _receipt_queries(queries) -> list[str]:
    return [q["sql"] for q in queries.captured_queries if "pos_postransaction" in q["sql"]]


def test_after_the_chain_pass_a_store_page_runs_no_receipt_query(
        chain, login, store_manager, store, django_assert_max_num_queries):
    for quarter in Q.last_n(loyalty.LOYALTY_QUARTERS):
        loyalty.chain_pass(quarter)
    client = login(store_manager)
    with django_assert_max_num_queries(MAX_STORE_PAGE_QUERIES_COLD) as page:
        html = _store_page(client, store.code)
    assert _receipt_queries(page) == []
    assert _cell(html, "own-loyalty") == "50.0%"
    assert _cell(html, "own-complaints_per_1000") == "400.00"
    assert _cell(html, "median-loyalty") == "50.0%"


def test_a_cold_store_page_runs_the_chain_pass_and_no_query_of_its_own_store(
        chain, store, sibling_store):
    with CaptureQueriesContext(connection) as cold:
        loyalty.store_loyalty(store=store, quarter=Q)
    # At most 5 queries per quarter for the chain pass (4 for a quarter without receipts),
    # none of them for the store alone: the pass kept every store's figures, the sibling's too.
    assert len(cold.captured_queries) <= 5 * loyalty.LOYALTY_QUARTERS
    assert not [q for q in cold.captured_queries if re.search(r'store_id"? IN \(', q["sql"])]
    with CaptureQueriesContext(connection) as sibling:
        section = loyalty.store_loyalty(store=sibling_store, quarter=Q)
    assert sibling.captured_queries == []
    assert section.current.figures.loyalty == 1.0


def test_a_warm_store_loyalty_is_one_cache_round_trip_with_the_same_figures(
        chain, store, sibling_store, monkeypatch):
    cold = loyalty.store_loyalty(store=sibling_store, quarter=Q)  # the chain pass: all kept
    reads = []
    get_many = cache.get_many
    monkeypatch.setattr(cache, "get_many", lambda keys: reads.append(keys) or get_many(keys))
    with CaptureQueriesContext(connection) as warm:
        section = loyalty.store_loyalty(store=store, quarter=Q)
    assert len(reads) == 1
    assert warm.captured_queries == []
    assert section.current.figures.loyalty == 0.5
    assert [row.chain for row in section.rows] == [row.chain for row in cold.rows]


def test_the_chain_pass_gives_each_store_the_figures_of_the_store_alone(
        chain, store, sibling_store, other_store, closed_store):
    silent = StoreFactory(code="S0099")  # no receipt, member or complaint in any quarter
    loyalty.chain_pass(Q)
    for target in (store, sibling_store, other_store, closed_store, silent):
        alone = pos_store_figures(quarter=Q, store_ids=[target.pk]).get(target.pk,
                                                                       NO_POS_FIGURES)
        assert cache.get(loyalty.store_key(target.pk, Q)) == alone, target.code
    closed = cache.get(loyalty.store_key(closed_store.pk, Q))
    assert (closed.has_data, closed.previous_members, closed.complaints) == (False, 1, 1)
    assert cache.get(loyalty.store_key(silent.pk, Q)) == NO_POS_FIGURES


def test_a_store_without_a_chain_pass_is_computed_alone_with_the_same_figures(
        chain, login, store_manager, store):
    loyalty.quarter_medians(Q.last_n(loyalty.LOYALTY_QUARTERS))
    cache.delete_many([loyalty.store_key(store.pk, q)
                       for q in Q.last_n(loyalty.LOYALTY_QUARTERS)])
    with CaptureQueriesContext(connection) as page:
        html = _store_page(login(store_manager), store.code)
    # The store's own queries per quarter, each on its receipts and its members' only.
    receipts = _receipt_queries(page)
    assert 0 < len(receipts) <= 3 * loyalty.LOYALTY_QUARTERS
    assert all(re.search(r'store_id"? IN \(', sql) for sql in receipts)
    assert _cell(html, "own-loyalty") == "50.0%"
    assert _cell(html, "own-retention") == "75.0%"
    assert _cell(html, "own-complaints_per_1000") == "400.00"


def test_the_beat_task_fills_every_store_and_the_medians_of_the_trend(
        chain, store, closed_store, monkeypatch):
    now = datetime(2026, 5, 20, 9, 0, tzinfo=chain_zone())
    monkeypatch.setattr(tasks.timezone, "now", lambda: now)
    # Run here, as a worker would (the PostgreSQL pass has a broker but no worker).
    computed = tasks.refresh_loyalty_figures.apply().get()
    assert computed == [str(q) for q in Q.last_n(loyalty.REFRESH_QUARTERS)]
    medians = cache.get(loyalty.medians_key(Q))
    assert (medians.chain.stores, medians.chain.loyalty) == (3, 0.5)
    assert cache.get(loyalty.store_key(store.pk, Q)).loyalty == 0.5
    assert not cache.get(loyalty.store_key(closed_store.pk, Q)).has_data
    with CaptureQueriesContext(connection) as page:
        loyalty.store_loyalty(store=store, quarter=Q)
        loyalty.region_loyalty(region=store.region, quarter=Q)
    assert page.captured_queries == []


def test_the_task_recomputes_the_quarters_that_can_change_and_fills_the_settled_ones_weekly(
        chain):
    grace = datetime(2026, 7, 3, 9, 0, tzinfo=chain_zone())  # 2026Q2 ended three days ago
    q3 = Quarter.parse("2026Q3")
    assert loyalty.refresh_figures(now=grace) == q3.last_n(loyalty.REFRESH_QUARTERS)
    assert loyalty.refresh_figures(now=grace) == [Q, q3]
    settled = datetime(2026, 7, 20, 9, 0, tzinfo=chain_zone())
    assert loyalty.refresh_figures(now=settled) == [Q, q3]  # once more, kept a week now
    assert loyalty.refresh_figures(now=settled) == [q3]
    cache.delete(loyalty.cache_key("pos-filled", Q))  # a week less an hour later
    assert loyalty.refresh_figures(now=settled) == [Q, q3]


def test_while_one_request_runs_the_chain_pass_the_others_read_the_last_medians(chain):
    loyalty.chain_pass(Q)
    cache.delete(loyalty.medians_key(Q))
    cache.add(loyalty.cache_key("pos-medians-lock", Q), 1)  # another request holds it
    with CaptureQueriesContext(connection) as waiting:
        medians = loyalty.quarter_medians([Q])[Q]
    assert waiting.captured_queries == []
    assert medians.chain.loyalty == 0.5
    assert cache.get(loyalty.medians_key(Q)) is None  # the last medians are not kept as new


def test_the_loyalty_task_runs_on_the_exports_queue_every_half_hour():
    route = celery_app.amqp.router.route({}, "dashboard.tasks.refresh_loyalty_figures",
                                         args=(), kwargs={})
    assert route["queue"].name == "exports"
    entry = settings.CELERY_BEAT_SCHEDULE["dashboard-refresh-loyalty-figures"]
    assert entry["task"] == "dashboard.tasks.refresh_loyalty_figures"
    assert entry["schedule"].minute == {5, 35}
