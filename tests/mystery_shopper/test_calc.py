"""Pure computation: visit scores and the plan, against hand-computed numbers (no database)."""

import itertools
from datetime import date

import pytest

from mystery_shopper.calc import (
    ItemResult,
    PlanStore,
    mean_score,
    plan_visits,
    purchase_process_pct,
    spread_dates,
    visit_score,
)


def test_visit_score_is_points_over_maximum_with_parts_separate():
    items = [
        ItemResult("image", 5, 1, yes_no=True),        # yes: 5 of 5
        ItemResult("image", 5, 0, yes_no=True),        # no: 0 of 5
        ItemResult("purchase", 10, 7),                 # 7 of 10
        ItemResult("purchase", 10, 4),                 # 4 of 10
        ItemResult("process", 10, 9),                  # 9 of 10
    ]
    score = visit_score(items)
    # (5 + 0 + 7 + 4 + 9) / (5 + 5 + 10 + 10 + 10) = 25 / 40 = 62.5 %
    assert score.points == 25
    assert score.possible == 40
    assert score.score_pct == pytest.approx(62.5)
    assert score.part_points == {"image": 5, "purchase": 11, "process": 9}
    assert score.part_max == {"image": 10, "purchase": 20, "process": 10}
    assert score.part_pct("purchase") == pytest.approx(55.0)
    assert not score.red_line


def test_not_applicable_items_leave_the_points_possible():
    items = [ItemResult("purchase", 10, 8), ItemResult("purchase", 10, None, not_applicable=True),
             ItemResult("image", 5, 1, yes_no=True)]
    score = visit_score(items)
    # (8 + 5) / (10 + 5) = 86.67 %, the N/A item neither scores nor counts
    assert score.possible == 15
    assert score.score_pct == pytest.approx(13 / 15 * 100)


def test_a_failed_red_line_fails_the_whole_visit_whatever_the_points():
    items = [ItemResult("purchase", 10, 10), ItemResult("process", 0, 0, yes_no=True,
                                                        is_red_line=True)]
    score = visit_score(items)
    assert score.red_line
    assert score.score_pct == 0
    assert score.part_points["purchase"] == 0
    assert score.part_max["purchase"] == 10


def test_the_red_line_score_is_configurable():
    items = [ItemResult("purchase", 10, 10), ItemResult("process", 0, 0, yes_no=True,
                                                        is_red_line=True)]
    score = visit_score(items, red_line_score=20)
    assert score.score_pct == 20
    assert score.part_points["purchase"] == pytest.approx(2.0)


def test_a_passed_red_line_changes_nothing():
    items = [ItemResult("purchase", 10, 6), ItemResult("process", 0, 1, yes_no=True,
                                                       is_red_line=True)]
    assert visit_score(items).score_pct == pytest.approx(60.0)


def test_store_mean_and_employee_purchase_evaluation():
    assert mean_score([80.0, 60.0, None]) == pytest.approx(70.0)
    assert mean_score([]) is None
    # visit 1: (8 + 4) / (10 + 10) = 60 %, visit 2: (10 + 5) / (10 + 5) = 100 % -> 80 %
    assert purchase_process_pct([(8, 10, 4, 10), (10, 10, 5, 5)]) == pytest.approx(80.0)


def test_due_dates_spread_over_the_quarter():
    dates = spread_dates(date(2026, 10, 1), date(2026, 12, 31), 2)
    assert dates == [date(2026, 10, 1), date(2026, 11, 16)]
    assert all(date(2026, 10, 1) <= d <= date(2026, 12, 31)
               for d in spread_dates(date(2026, 10, 1), date(2026, 12, 31), 5, offset=40))


def test_plan_keeps_shoppers_in_their_cities_balanced_and_never_twice_in_a_row():
    stores = [PlanStore(store_id=i, city="上海", visits_needed=2) for i in range(1, 7)]
    stores.append(PlanStore(store_id=99, city="广州", visits_needed=2))
    shoppers = {1: {"上海"}, 2: {"上海"}, 3: {"上海", "广州"}, 4: {"北京"}}
    plan = plan_visits(stores=stores, shopper_cities=shoppers, first_day=date(2026, 10, 1),
                       last_day=date(2026, 12, 31))
    assert len(plan.visits) == 14
    for visit in plan.visits:
        if visit.shopper_id is not None:
            city = "广州" if visit.store_id == 99 else "上海"
            assert city in shoppers[visit.shopper_id]
    for store_id in [s.store_id for s in stores]:
        ordered = sorted((v for v in plan.visits if v.store_id == store_id),
                         key=lambda v: v.due_on)
        shoppers_in_order = [v.shopper_id for v in ordered]
        assert all(a != b for a, b in itertools.pairwise(shoppers_in_order))
    # 广州 has one shopper: its first visit goes to 3, the second would repeat and stays open.
    guangzhou = [v.shopper_id for v in plan.visits if v.store_id == 99]
    assert guangzhou.count(3) == 1
    assert guangzhou.count(None) == 1
    load = plan.load()
    assert 4 not in load
    assert max(load.values()) - min(load.values()) <= 1


def test_plan_respects_the_previous_quarters_last_shopper():
    stores = [PlanStore(store_id=1, city="上海", visits_needed=1, last_shopper_id=1)]
    plan = plan_visits(stores=stores, shopper_cities={1: {"上海"}, 2: {"上海"}},
                       first_day=date(2026, 10, 1), last_day=date(2026, 12, 31))
    assert [v.shopper_id for v in plan.visits] == [2]
