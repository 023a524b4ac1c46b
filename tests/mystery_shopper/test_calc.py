"""Pure computation: visit scores and the plan, against hand-computed numbers (no database)."""

import itertools
import math
from datetime import date

import numpy as np
import pytest

from mystery_shopper.calc import (
    ItemResult,
    PlanStore,
    image_pct,
    plan_visits,
    scenario_pct,
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


def test_the_mystery_shopper_score_is_purchase_and_process_over_their_maximum():
    items = [
        ItemResult("image", 5, 1, yes_no=True),   # 5 of 5, reported beside
        ItemResult("image", 15, 0, yes_no=True),  # 0 of 15
        ItemResult("purchase", 10, 7),
        ItemResult("purchase", 10, 4),
        ItemResult("process", 10, 9),
    ]
    score = visit_score(items)
    # seed 002: (7 + 4 + 9) / (10 + 10 + 10) = 20 / 30; the image (5 of 20) is not in it
    assert score.purchase_process_pct == pytest.approx(200 / 3)
    assert score.image_pct == pytest.approx(25.0)
    # ... while the score of every item is (5 + 20) / (20 + 30) = 50 %
    assert score.score_pct == pytest.approx(50.0)


def test_the_scenario_figure_counts_the_image_only_when_asked():
    # purchase 8/10, process 6/10, image 5/20
    parts = {"purchase_points": 8, "purchase_max": 10, "process_points": 6, "process_max": 10,
             "image_points": 5, "image_max": 20}
    assert float(scenario_pct(**parts, red_line=False, red_line_pct=50.0)) == (
        pytest.approx(70.0))  # 14 / 20
    assert float(scenario_pct(**parts, red_line=False, red_line_pct=50.0,
                              count_image=True)) == pytest.approx(47.5)  # 19 / 40


def test_a_red_line_visit_gives_the_configured_score_whatever_its_parts():
    items = [ItemResult("purchase", 10, 10), ItemResult("process", 10, 10),
             ItemResult("image", 20, 1, yes_no=True),
             ItemResult("process", 0, 0, yes_no=True, is_red_line=True)]
    score = visit_score(items, red_line_score=20)
    assert score.purchase_process_pct == 20
    assert score.image_pct == 20
    # From the stored parts too, with or without the image, even with nothing applicable:
    # the red-line score wins over a full 10 of 10.
    for count_image in (False, True):
        assert float(scenario_pct(purchase_points=10, purchase_max=10, process_points=0,
                                  process_max=0, image_points=20, image_max=20, red_line=True,
                                  red_line_pct=20.0, count_image=count_image)) == 20.0
    assert float(scenario_pct(purchase_points=0, purchase_max=0, process_points=0,
                              process_max=0, red_line=True, red_line_pct=0.0)) == 0.0


def test_a_visit_without_applicable_purchase_or_process_items_has_no_figure():
    assert math.isnan(scenario_pct(purchase_points=0, purchase_max=0, process_points=0,
                                   process_max=0, red_line=False, red_line_pct=None))
    assert math.isnan(image_pct(0, 0, red_line=False, red_line_pct=None))
    items = [ItemResult("image", 5, 1, yes_no=True)]
    assert visit_score(items).purchase_process_pct is None


def test_the_scenario_figure_takes_a_quarters_visits_at_once():
    figures = scenario_pct(purchase_points=np.array([8.0, 10.0, 9.0]),
                           purchase_max=np.array([10.0, 10.0, 10.0]),
                           process_points=np.array([4.0, 5.0, 9.0]),
                           process_max=np.array([10.0, 5.0, 10.0]),
                           red_line=np.array([False, False, True]),
                           red_line_pct=np.array([60.0, 100.0, 0.0]))
    # (8 + 4) / 20 = 60 %, (10 + 5) / 15 = 100 %, the red-line visit 0
    assert figures.tolist() == pytest.approx([60.0, 100.0, 0.0])


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
