"""Group results: shown for 5 answers or more after the quarter ends, never per person, and
only to those who see the group."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from pulse import selectors
from pulse.calc import MIN_GROUP
from satisfaction.quarters import Quarter
from tests.factories import StoreFactory, make_pulse

pytestmark = pytest.mark.django_db

ENDED = Quarter.current().previous()


def _en(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def test_a_store_of_four_is_hidden_and_a_store_of_five_shown(store, sibling_store):
    make_pulse(store, MIN_GROUP - 1, answer=5)
    make_pulse(sibling_store, MIN_GROUP, answer=3)
    figures = selectors.store_pulse(quarter=ENDED)
    assert figures[store.pk].hidden
    assert figures[store.pk].n is None
    assert figures[store.pk].score is None
    assert figures[sibling_store.pk].n == 5
    assert figures[sibling_store.pk].score == 50


def test_a_region_shows_its_pooled_answers_only_from_five(store, sibling_store, other_store,
                                                          region, other_region):
    make_pulse(store, 3, answer=5)
    make_pulse(sibling_store, 2, answer=1)
    make_pulse(other_store, 4)
    figures = selectors.region_pulse(quarter=ENDED)
    assert figures[region.pk].n == 5
    assert figures[region.pk].score == pytest.approx(60)
    assert figures[other_region.pk].hidden


def test_the_running_quarter_shows_nothing_however_many_answered(store):
    make_pulse(store, 12, quarter=Quarter.current())
    assert selectors.store_pulse(quarter=Quarter.current())[store.pk].hidden == "running"


def test_the_results_page_hides_a_store_of_four_and_shows_a_store_of_five(
        login, hq, store, sibling_store):
    make_pulse(store, 4, answer=5)
    make_pulse(sibling_store, 5, answer=2)
    page = _en(login(hq)).get("/pulse/results/")
    assert page.status_code == 200
    rows = {row.code: row.figure for row in page.context["page"]}
    assert rows["S0001"].hidden
    assert rows["S0002"].score == 25
    html = page.content.decode()
    assert "100.0" not in html  # the store of four's answers appear nowhere
    assert "under 5" in html


def test_the_store_page_of_a_store_of_four_shows_no_figure_and_no_comment(
        login, hq, store, sibling_store):
    make_pulse(store, 4, answer=5, comment="店里太忙了")
    make_pulse(sibling_store, 1, answer=1)
    page = _en(login(hq)).get("/pulse/stores/S0001/")
    assert page.status_code == 200
    assert page.context["data"].figure.hidden
    assert page.context["data"].comments == []
    html = page.content.decode()
    assert "店里太忙了" not in html
    assert 'data-testid="hidden"' in html
    # the region (S0001 + S0002 = 5 answers) is shown
    assert page.context["data"].region_figure.n == 5


def test_hq_reads_the_comments_of_a_store_of_five_and_its_manager_never(
        login, hq, store_manager, store):
    make_pulse(store, 4, comment="")
    make_pulse(store, 1, comment="希望多些培训")
    assert "希望多些培训" in login(hq).get("/pulse/stores/S0001/").content.decode()
    page = login(store_manager).get("/pulse/stores/S0001/")
    assert page.status_code == 200
    assert page.context["data"].figure.n == 5
    assert "希望多些培训" not in page.content.decode()


def test_a_store_manager_sees_their_store_and_region_and_not_another_store(
        login, store_manager, store, sibling_store, other_store):
    for shop in (store, sibling_store, other_store):
        make_pulse(shop, 5)
    client = login(store_manager)
    results = client.get("/pulse/results/")
    assert [row.code for row in results.context["page"]] == ["S0001"]
    assert [row.code for row in results.context["region_rows"]] == ["EAST"]
    assert client.get("/pulse/stores/S0001/").status_code == 200
    assert client.get("/pulse/stores/S0002/").status_code == 404
    assert client.get("/pulse/stores/S0011/").status_code == 404


def test_another_stores_manager_never_sees_this_stores_pulse(login, other_store_manager,
                                                              store):
    make_pulse(store, 6)
    client = login(other_store_manager)
    assert client.get("/pulse/stores/S0001/").status_code == 404
    results = client.get("/pulse/results/")
    assert "S0001" not in results.content.decode()


def test_a_region_manager_sees_each_store_of_their_region(login, region_manager, store,
                                                          sibling_store, other_store):
    make_pulse(store, 5)
    make_pulse(other_store, 5)
    results = login(region_manager).get("/pulse/results/")
    assert [row.code for row in results.context["page"]] == ["S0001", "S0002"]
    assert login(region_manager).get("/pulse/stores/S0011/").status_code == 404


def test_a_clerk_sees_the_store_aggregate(login, clerk, store):
    make_pulse(store, 5, answer=4)
    page = login(clerk).get("/pulse/stores/S0001/")
    assert page.status_code == 200
    assert page.context["data"].figure.score == 75


def test_hr_sees_nothing_of_the_pulse(login, hr, store):
    make_pulse(store, 5)
    client = login(hr)
    for url in ("/pulse/", "/pulse/results/", "/pulse/stores/S0001/", "/dashboard/pulse/"):
        assert client.get(url).status_code == 403, url


def test_a_quarter_that_is_not_offered_is_a_400_naming_it(login, hq, store):
    make_pulse(store, 5)
    response = login(hq).get("/pulse/results/", {"quarter": "2031Q1"})
    assert response.status_code == 400


def test_the_results_page_reads_a_fixed_number_of_queries(login, hq, region,
                                                          django_assert_max_num_queries):
    client = login(hq)
    for _ in range(3):
        make_pulse(StoreFactory(region=region), 5)
    client.get("/pulse/results/")
    with CaptureQueriesContext(connection) as few:
        client.get("/pulse/results/")
    for _ in range(30):
        make_pulse(StoreFactory(region=region), 5)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get("/pulse/results/").status_code == 200
    with django_assert_max_num_queries(10):
        client.get("/pulse/results/")
