"""The stores rate the HQ departments each quarter (issue 18, part 3)."""

from __future__ import annotations

import math

import pytest

from internal_service import calc, services
from internal_service.models import DepartmentRating
from internal_service.selectors import department_satisfaction
from satisfaction.errors import ApplicationError
from satisfaction.quarters import Quarter
from tests.factories import StoreFactory, UserFactory, department, make_department_rating

ALL_FOUR = {"responsiveness": 4, "support": 4, "communication": 4, "overall": 4}


# --- Pure computation ------------------------------------------------------------------------

def test_a_rating_scores_from_0_for_all_ones_to_100_for_all_fives():
    assert calc.rating_score([1, 1, 1, 1]) == 0
    assert calc.rating_score([5, 5, 5, 5]) == 100
    assert calc.rating_score([2, 3, 2, 2]) == pytest.approx(31.25)


def test_the_database_score_formula_is_the_same_as_the_pure_one():
    answers = [2, 5, 3, 4]
    assert (sum(answers) - calc.SUM_OFFSET) * calc.SUM_FACTOR == pytest.approx(
        calc.rating_score(answers))


def test_the_sample_sd_from_the_mean_of_squares_matches_the_direct_one():
    values = [25.0, 50.0, 100.0]
    mean = sum(values) / 3
    direct = math.sqrt(sum((v - mean) ** 2 for v in values) / 2)
    assert calc.sample_sd(n=3, mean=mean, mean_sq=sum(v * v for v in values) / 3) == \
        pytest.approx(direct)
    assert calc.sample_sd(n=1, mean=50.0, mean_sq=2500.0) is None


def test_one_rating_has_no_interval_and_two_have_one():
    assert calc.satisfaction(n=1, mean=50.0, sd=None).interval == ""
    shown = calc.satisfaction(n=2, mean=50.0, sd=10.0)
    # t(0.975, 1) = 12.706: 50 ± 12.706 × 10 / √2 = 50 ± 89.8, clipped to 0–100
    assert (shown.low, shown.high) == (0.0, 100.0)
    shown = calc.satisfaction(n=30, mean=60.0, sd=10.0)
    assert shown.low == pytest.approx(56.3, abs=0.05)
    assert shown.high == pytest.approx(63.7,
                                                                                      abs=0.05)


# --- The service -----------------------------------------------------------------------------

pytestmark_db = pytest.mark.django_db


@pytestmark_db
def test_a_store_manager_rates_a_department_once_per_quarter_and_may_change_it(store_manager,
                                                                              store):
    logistics = department("logistics")
    services.rating_save(user=store_manager, department=logistics, answers=ALL_FOUR)
    services.rating_save(user=store_manager, department=logistics,
                         answers={**ALL_FOUR, "overall": 2}, comment=" 太慢 ")
    rating = DepartmentRating.objects.get()
    assert (rating.quarter, rating.overall, rating.comment, rating.store) == (
        Quarter.current(), 2, "太慢", store)


@pytestmark_db
@pytest.mark.parametrize("bad", [0, 6, None, "4", True])
def test_an_answer_outside_1_to_5_is_a_field_error(store_manager, bad):
    with pytest.raises(ApplicationError) as invalid:
        services.rating_save(user=store_manager, department=department("it"),
                             answers={**ALL_FOUR, "support": bad})
    assert list(invalid.value.fields) == ["support"]
    assert not DepartmentRating.objects.exists()


@pytestmark_db
def test_only_store_managers_and_staff_rate(hq, region_manager, department_head, hr, clerk):
    for user in (hq, region_manager, department_head, hr):
        with pytest.raises(ApplicationError) as refused:
            services.rating_save(user=user, department=department("it"), answers=ALL_FOUR)
        assert refused.value.status == 403
    services.rating_save(user=clerk, department=department("it"), answers=ALL_FOUR)


@pytestmark_db
def test_a_retired_department_is_no_longer_rated(store_manager):
    it = department("it")
    it.is_active = False
    it.save()
    with pytest.raises(ApplicationError) as invalid:
        services.rating_save(user=store_manager, department=it, answers=ALL_FOUR)
    assert "department" in invalid.value.fields


@pytestmark_db
def test_the_figures_group_by_department_and_region(store, other_store, store_manager,
                                                    other_store_manager):
    logistics, it = department("logistics"), department("it")
    make_department_rating(rater=store_manager, department=logistics, answer=2)  # 25
    sibling_manager = UserFactory(stores=[StoreFactory(region=store.region)])
    make_department_rating(rater=sibling_manager, department=logistics, answer=4)  # 75
    make_department_rating(rater=other_store_manager, department=logistics, answer=5)  # 100
    make_department_rating(rater=store_manager, department=logistics, answer=1,
                           quarter=Quarter.current().previous())  # another quarter
    figures = department_satisfaction(quarter=Quarter.current(), departments=[logistics, it])
    assert figures[logistics.pk].chain.n == 3
    assert figures[logistics.pk].chain.mean == pytest.approx(66.7)
    east = figures[logistics.pk].regions[store.region_id]
    assert (east.n, east.mean) == (2, 50.0)
    assert figures[logistics.pk].regions[other_store.region_id].n == 1
    assert figures[logistics.pk].items["overall"] == pytest.approx(3.67)
    assert figures[it.pk].chain.n == 0
    assert figures[it.pk].regions == {}


# --- The pages -------------------------------------------------------------------------------

@pytestmark_db
def test_the_rate_page_lists_every_active_department_and_what_is_rated(login, store_manager,
                                                                      django_assert_max_num_queries):
    make_department_rating(rater=store_manager, department=department("it"), answer=3)
    client = login(store_manager)
    with django_assert_max_num_queries(10):
        response = client.get("/internal/")
    body = response.content.decode()
    assert response.status_code == 200
    counted = body.split('data-testid="rated-count">')[1].split("</p>")[0]
    assert "1" in counted
    assert "6" in counted
    assert body.count("/internal/departments/") == 6


@pytestmark_db
def test_a_rating_form_with_a_missing_answer_is_a_400_not_a_save(login, store_manager):
    response = login(store_manager).post("/internal/departments/it/", {
        "responsiveness": "4", "support": "4", "communication": "9"})
    assert response.status_code == 400
    assert not DepartmentRating.objects.exists()


@pytestmark_db
def test_the_rating_pages_are_for_the_stores_staff_only(login, hq, department_head, clerk):
    assert login(hq).get("/internal/").status_code == 403
    assert login(department_head).get("/internal/departments/it/").status_code == 403
    assert login(clerk).get("/internal/departments/it/").status_code == 200
    assert login(clerk).get("/internal/departments/nope/").status_code == 404
