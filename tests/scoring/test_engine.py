"""Worked examples of the score, computed by hand (docs/domain.md "The score"); no database."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from scoring.engine import (
    DEDUCTION_COLUMNS,
    EMPLOYEE_INDICATOR_COLUMNS,
    STORE_INDICATOR_COLUMNS,
    STORE_RESPONSE_COLUMNS,
    VISIT_COLUMNS,
    EngineInput,
    SchemeParams,
    bonus_factor,
    compute,
    empty_frame,
)

T_975_9 = 2.262157162798205  # t(0.975, 9 degrees of freedom), from any t table


def indicators(rows):
    return pd.DataFrame([{"bottom_n": 0, "mean_expectation_score": math.nan, **r} for r in rows],
                        columns=STORE_INDICATOR_COLUMNS)


def visit(visit_id, store_id, score_pct, employee_id=None, purchase=(0, 0), process=(0, 0),
          red_line=False, image=(0, 0)):
    return {"visit_id": visit_id, "store_id": store_id, "employee_id": employee_id,
            "score_pct": score_pct, "purchase_points": purchase[0], "purchase_max": purchase[1],
            "process_points": process[0], "process_max": process[1], "image_points": image[0],
            "image_max": image[1], "red_line": red_line}


def store1_input(**overrides) -> EngineInput:
    """Store 1 (region 10): 10 responses, two visits, an A and a C complaint; three staff."""
    data = {
        "stores": pd.DataFrame({"store_id": [1], "region_id": [10]}),
        "employees": pd.DataFrame({"employee_id": [100, 101, 102], "store_id": [1, 1, 1],
                                   "role": ["clerk", "pharmacist", "store_manager"]}),
        "survey_indicators": indicators([
            {"store_id": 1, "indicator_code": "warm_service", "n": 10, "mean_score": 80.0},
            {"store_id": 1, "indicator_code": "price", "n": 10, "mean_score": 60.0},
            {"store_id": 1, "indicator_code": "efficacy", "n": 10, "mean_score": 70.0},
            {"store_id": 1, "indicator_code": "recommendation", "n": 9, "mean_score": 50.0},
        ]),
        "survey_employees": pd.DataFrame([
            {"employee_id": 100, "store_id": 1, "indicator_code": "warm_service", "n": 4,
             "mean_score": 90.0},
            {"employee_id": 100, "store_id": 1, "indicator_code": "recommendation", "n": 4,
             "mean_score": 60.0},
            {"employee_id": 100, "store_id": 1, "indicator_code": "efficacy", "n": 4,
             "mean_score": 80.0},
            {"employee_id": 100, "store_id": 1, "indicator_code": "price", "n": 4,
             "mean_score": 50.0},
            {"employee_id": 101, "store_id": 1, "indicator_code": "warm_service", "n": 3,
             "mean_score": 70.0},
        ], columns=EMPLOYEE_INDICATOR_COLUMNS),
        "survey_responses": pd.DataFrame([{"store_id": 1, "n": 10, "mean_score": 65.0,
                                           "sd_score": 10.0}], columns=STORE_RESPONSE_COLUMNS),
        "visits": pd.DataFrame([
            visit(1, 1, 90.0, employee_id=100, purchase=(8, 10), process=(6, 10)),
            visit(2, 1, 70.0, purchase=(9, 10), process=(9, 10)),
        ], columns=VISIT_COLUMNS),
        "deductions": pd.DataFrame([
            {"complaint_id": 1, "store_id": 1, "employee_id": None, "grade": "A"},
            {"complaint_id": 2, "store_id": 1, "employee_id": None, "grade": "C"},
            {"complaint_id": 3, "store_id": 1, "employee_id": 100, "grade": "B"},
        ], columns=DEDUCTION_COLUMNS),
    }
    data.update(overrides)
    return EngineInput(**data)


def one(frame, key, value):
    rows = frame[frame[key] == value]
    assert len(rows) == 1
    return rows.iloc[0]


def test_a_store_with_responses_visits_and_complaints_gets_the_hand_computed_value():
    result = compute(store1_input(), SchemeParams())
    row = one(result.stores, "store_id", 1)
    # survey: (80 + 60 + 70 + 50) / 4 = 65 % -> 32.5 points; scenario: visit 1 (8 + 6) / 20
    # = 70 %, visit 2 (9 + 9) / 20 = 90 %, mean 80 % -> 40 points; deductions A 3 + C 1 + B 2
    # (the employee's complaint is the store's too).
    assert row["survey_points"] == pytest.approx(32.5)
    assert row["scenario_points"] == pytest.approx(40.0)
    assert row["deductions"] == pytest.approx(6.0)
    assert row["value"] == pytest.approx(66.5)
    assert row["n_responses"] == 10
    assert row["n_visits"] == 2
    assert row["n_complaints"] == 3
    assert row["rank_region"] == 1
    assert row["rank_chain"] == 1


def test_indicator_weights_weigh_the_survey_mean():
    scheme = SchemeParams(indicator_weights={"warm_service": 2.0, "price": 1.0, "efficacy": 1.0,
                                             "recommendation": 1.0})
    row = one(compute(store1_input(), scheme).stores, "store_id", 1)
    # (2*80 + 60 + 70 + 50) / 5 = 68 % -> 34 points; 34 + 40 - 6 = 68
    assert row["survey_points"] == pytest.approx(34.0)
    assert row["value"] == pytest.approx(68.0)


def test_the_confidence_interval_is_t_sd_over_root_n_scaled_to_survey_points():
    row = one(compute(store1_input(), SchemeParams()).stores, "store_id", 1)
    half = T_975_9 * 10.0 / math.sqrt(10) * 50 / 100  # 3.5768 points
    assert row["ci_half_width"] == pytest.approx(half)
    assert row["ci_low"] == pytest.approx(66.5 - half)
    assert row["ci_high"] == pytest.approx(66.5 + half)


def test_fewer_responses_than_the_minimum_flag_the_value_without_hiding_it():
    row = one(compute(store1_input(), SchemeParams(min_sample=30)).stores, "store_id", 1)
    assert "small_sample" in row["flags"]
    assert row["value"] == pytest.approx(66.5)
    row = one(compute(store1_input(), SchemeParams(min_sample=10)).stores, "store_id", 1)
    assert "small_sample" not in row["flags"]


def two_stores_input() -> EngineInput:
    return store1_input(
        stores=pd.DataFrame({"store_id": [1, 2, 3], "region_id": [10, 10, 20]}),
        survey_indicators=indicators([
            {"store_id": 1, "indicator_code": "price", "n": 10, "mean_score": 65.0},
            {"store_id": 2, "indicator_code": "price", "n": 30, "mean_score": 85.0},
            {"store_id": 3, "indicator_code": "price", "n": 5, "mean_score": 4.0},
        ]),
        survey_responses=pd.DataFrame([
            {"store_id": 1, "n": 10, "mean_score": 65.0, "sd_score": 10.0},
            {"store_id": 2, "n": 30, "mean_score": 85.0, "sd_score": 10.0},
            {"store_id": 3, "n": 5, "mean_score": 4.0, "sd_score": 1.0},
        ]),
        visits=empty_frame(VISIT_COLUMNS),
        deductions=pd.DataFrame([
            {"complaint_id": i, "store_id": 3, "employee_id": None, "grade": "A"}
            for i in range(3)]),
    )


def test_a_missing_scenario_component_is_flagged_and_rescaled_by_default():
    stores = compute(two_stores_input(), SchemeParams()).stores
    row = one(stores, "store_id", 2)
    # no visits: the survey carries all 100 points: 85 % -> 85
    assert row["value"] == pytest.approx(85.0)
    assert "missing_scenario" in row["flags"]


def test_a_missing_component_counts_zero_when_the_scheme_says_so():
    stores = compute(two_stores_input(), SchemeParams(missing_component="zero")).stores
    assert one(stores, "store_id", 2)["value"] == pytest.approx(42.5)


def test_the_value_is_clipped_at_zero_and_at_a_hundred():
    stores = compute(two_stores_input(), SchemeParams()).stores
    low = one(stores, "store_id", 3)
    # 4 % -> 4 points (rescaled) - 3 x A 3 = -5 -> 0
    assert low["value"] == 0.0
    assert "clipped" in low["flags"]
    perfect = store1_input(
        survey_indicators=indicators([{"store_id": 1, "indicator_code": "price", "n": 50,
                                       "mean_score": 100.0}]),
        visits=pd.DataFrame([visit(1, 1, 100.0)]), deductions=empty_frame(DEDUCTION_COLUMNS))
    high = one(compute(perfect, SchemeParams(grade_points={"A": -5.0, "B": 2.0, "C": 1.0}))
               .stores, "store_id", 1)
    assert high["value"] == 100.0


def test_a_store_with_neither_survey_nor_visits_has_no_value():
    data = store1_input(stores=pd.DataFrame({"store_id": [1, 9], "region_id": [10, 10]}))
    row = one(compute(data, SchemeParams()).stores, "store_id", 9)
    assert math.isnan(row["value"])
    assert row["flags"] == ["no_data"]
    assert pd.isna(row["rank_region"])


def test_small_sample_adjustment_shrinks_toward_the_region_mean():
    scheme = SchemeParams(small_sample_adjustment=True, min_sample=30)
    stores = compute(two_stores_input(), scheme).stores
    # region 10 pooled mean = (10*65 + 30*85) / 40 = 80; m = 30
    # store 1: (10*65 + 30*80) / 40 = 76.25; store 2: (30*85 + 30*80) / 60 = 82.5
    assert one(stores, "store_id", 1)["survey_pct"] == pytest.approx(76.25)
    assert one(stores, "store_id", 2)["survey_pct"] == pytest.approx(82.5)
    assert "adjusted" in one(stores, "store_id", 1)["flags"]
    assert one(stores, "store_id", 1)["survey_pct_raw"] == pytest.approx(65.0)


def test_the_adjustment_is_off_by_default():
    stores = compute(two_stores_input(), SchemeParams()).stores
    assert one(stores, "store_id", 1)["survey_pct"] == pytest.approx(65.0)


def test_ranks_in_region_and_chain_go_from_the_highest_value():
    stores = compute(two_stores_input(), SchemeParams()).stores.set_index("store_id")
    # values: store 1 = 65, store 2 = 85 (region 10), store 3 = 0 (region 20)
    assert list(stores.loc[[1, 2, 3], "rank_region"]) == [2, 1, 1]
    assert list(stores.loc[[1, 2, 3], "rank_chain"]) == [2, 1, 3]


def test_an_employee_value_adds_the_four_parts_less_their_complaints():
    employees = compute(store1_input(), SchemeParams()).employees
    row = one(employees, "employee_id", 100)
    # warm 90 -> 22.5; efficacy mean(60, 80) = 70 -> 17.5; price 50 -> 12.5;
    # purchase (8 + 6) / (10 + 10) = 70 % -> 17.5; total 70; B complaint -2 -> 68
    assert row["warm_service_points"] == pytest.approx(22.5)
    assert row["efficacy_points"] == pytest.approx(17.5)
    assert row["price_points"] == pytest.approx(12.5)
    assert row["purchase_points"] == pytest.approx(17.5)
    assert row["deductions"] == pytest.approx(2.0)
    assert row["value"] == pytest.approx(68.0)
    assert row["flags"] == []


def test_a_part_without_the_employees_data_falls_back_to_the_store_and_is_flagged():
    row = one(compute(store1_input(), SchemeParams()).employees, "employee_id", 101)
    # warm 70 -> 17.5; efficacy: store mean(50, 70) = 60 -> 15; price: store 60 -> 15;
    # purchase: store visits 70 % and (9 + 9) / 20 = 90 % -> 80 % -> 20. Total 67.5.
    assert row["value"] == pytest.approx(67.5)
    assert set(row["flags"]) == {"efficacy_from_store", "price_from_store",
                                 "purchase_from_store"}


def test_a_missing_part_counts_zero_when_the_scheme_says_so():
    row = one(compute(store1_input(), SchemeParams(missing_part="zero")).employees,
              "employee_id", 101)
    assert row["value"] == pytest.approx(17.5)
    assert "price_missing" in row["flags"]


def test_a_store_managers_value_is_the_mean_of_the_staff():
    employees = compute(store1_input(), SchemeParams()).employees
    manager = one(employees, "employee_id", 102)
    assert manager["value"] == pytest.approx((68.0 + 67.5) / 2)
    assert manager["flags"] == ["staff_mean", "staff_n:2"]
    assert manager["n_staff"] == 2
    ranks = employees.set_index("employee_id")["rank_store"]
    assert list(ranks.loc[[100, 102, 101]]) == [1, 2, 3]


def test_a_complaint_against_the_store_manager_is_deducted_after_the_staff_mean():
    deductions = pd.DataFrame([
        {"complaint_id": 3, "store_id": 1, "employee_id": 100, "grade": "B"},
        {"complaint_id": 4, "store_id": 1, "employee_id": 102, "grade": "A"},
    ], columns=DEDUCTION_COLUMNS)
    result = compute(store1_input(deductions=deductions), SchemeParams())
    manager = one(result.employees, "employee_id", 102)
    # staff: clerk 68, pharmacist 67.5 (the manager's A is not theirs) -> mean 67.75;
    # the manager's own A: 67.75 - 3 = 64.75
    assert manager["value"] == pytest.approx(64.75)
    assert manager["deductions"] == pytest.approx(3.0)
    assert manager["n_complaints"] == 1
    assert manager["flags"] == ["staff_mean", "staff_n:2", "manager_deduction"]
    assert one(result.employees, "employee_id", 101)["value"] == pytest.approx(67.5)
    # the store loses both complaints: 32.5 + 40 - 2 - 3
    assert one(result.stores, "store_id", 1)["value"] == pytest.approx(67.5)


def test_a_managers_deduction_below_zero_is_clipped_and_flagged():
    deductions = pd.DataFrame([
        {"complaint_id": i, "store_id": 1, "employee_id": 102, "grade": "A"}
        for i in range(25)], columns=DEDUCTION_COLUMNS)
    manager = one(compute(store1_input(deductions=deductions), SchemeParams()).employees,
                  "employee_id", 102)
    # staff mean (70 + 67.5) / 2 = 68.75 - 25 x 3 = -6.25 -> 0
    assert manager["value"] == 0.0
    assert manager["flags"] == ["staff_mean", "staff_n:2", "manager_deduction", "clipped"]


def test_a_managers_flags_describe_his_value_not_his_discarded_own_figure():
    # The manager has no survey data and served no visit: his own figure would take every part
    # from the store (four *_from_store flags). His value is the staff mean, and says only so.
    manager = one(compute(store1_input(), SchemeParams()).employees, "employee_id", 102)
    assert manager["own_value"] == pytest.approx(
        (80 + 60 + 60 + 80) / 4)  # store parts: warm 80, efficacy mean(70, 50), price 60, 80
    assert not any(f.endswith(("_from_store", "_missing")) for f in manager["flags"])
    # A manager alone (no other staff with a value) keeps his own figure and its flags.
    alone = store1_input(employees=pd.DataFrame({"employee_id": [102], "store_id": [1],
                                                 "role": ["store_manager"]}))
    manager = one(compute(alone, SchemeParams()).employees, "employee_id", 102)
    assert manager["value"] == pytest.approx(70.0)
    assert manager["n_staff"] == 0
    assert set(manager["flags"]) == {"warm_service_from_store", "efficacy_from_store",
                                     "price_from_store", "purchase_from_store"}


def test_a_red_line_visit_counts_its_red_line_score_for_purchase_evaluation():
    data = store1_input(visits=pd.DataFrame([
        visit(1, 1, 0.0, employee_id=100, purchase=(10, 10), process=(10, 10), red_line=True)]))
    row = one(compute(data, SchemeParams()).employees, "employee_id", 100)
    assert row["purchase_points"] == 0.0
    assert row["value"] == pytest.approx(22.5 + 17.5 + 12.5 - 2.0)


def image_visits():
    """Visit 1: purchase 40/50, process 20/30, image 5/20 (score of every item 65 %);
    visit 2: a red-line failure with full parts, configured red-line score 20 %."""
    return pd.DataFrame([
        visit(1, 1, 65.0, employee_id=100, purchase=(40, 50), process=(20, 30), image=(5, 20)),
        visit(2, 1, 20.0, purchase=(10, 50), process=(6, 30), image=(4, 20), red_line=True),
    ], columns=VISIT_COLUMNS)


def test_the_scenario_survey_is_purchase_and_process_without_the_store_image():
    result = compute(store1_input(visits=image_visits()), SchemeParams())
    store = one(result.stores, "store_id", 1)
    # visit 1: (40 + 20) / (50 + 30) = 75 %; visit 2 (red line): 20 % -> mean 47.5 %
    assert store["scenario_pct"] == pytest.approx(47.5)
    assert store["scenario_points"] == pytest.approx(23.75)
    assert store["n_visits"] == 2
    # the image beside it: 5 / 20 = 25 % and the red-line 20 % -> 22.5 %
    assert store["image_pct"] == pytest.approx(22.5)
    assert store["value"] == pytest.approx(32.5 + 23.75 - 6.0)
    # the clerk served visit 1: purchase evaluation 75 % -> 18.75 points
    clerk = one(result.employees, "employee_id", 100)
    assert clerk["purchase_pct"] == pytest.approx(75.0)
    assert list(result.visits["scenario_pct"]) == pytest.approx([75.0, 20.0])
    assert list(result.visits["purchase_pct"]) == pytest.approx([75.0, 20.0])


def test_the_scheme_may_count_the_store_image_in_the_scenario_survey():
    result = compute(store1_input(visits=image_visits()),
                     SchemeParams(scenario_counts_image=True))
    store = one(result.stores, "store_id", 1)
    # visit 1: (40 + 20 + 5) / (50 + 30 + 20) = 65 %; visit 2 still its red-line 20 % -> 42.5
    assert store["scenario_pct"] == pytest.approx(42.5)
    assert store["value"] == pytest.approx(32.5 + 21.25 - 6.0)
    # the employee's purchase evaluation never counts the image
    assert one(result.employees, "employee_id", 100)["purchase_pct"] == pytest.approx(75.0)
    assert list(result.visits["scenario_pct"]) == pytest.approx([65.0, 20.0])


def test_a_red_line_visit_gives_the_store_its_configured_score():
    visits = pd.DataFrame([visit(1, 1, 30.0, purchase=(50, 50), process=(30, 30),
                                 image=(20, 20), red_line=True)], columns=VISIT_COLUMNS)
    for counts_image in (False, True):
        store = one(compute(store1_input(visits=visits),
                            SchemeParams(scenario_counts_image=counts_image)).stores,
                    "store_id", 1)
        assert store["scenario_pct"] == pytest.approx(30.0)


def test_a_visit_with_only_image_items_does_not_count_for_the_seed_score():
    visits = pd.DataFrame([visit(1, 1, 50.0, image=(10, 20))], columns=VISIT_COLUMNS)
    store = one(compute(store1_input(visits=visits), SchemeParams()).stores, "store_id", 1)
    assert math.isnan(store["scenario_pct"])
    assert store["n_visits"] == 0
    assert "missing_scenario" in store["flags"]
    store = one(compute(store1_input(visits=visits), SchemeParams(scenario_counts_image=True))
                .stores, "store_id", 1)
    assert store["scenario_pct"] == pytest.approx(50.0)


def test_bonus_factor_and_appraisal_points_follow_the_scheme():
    scheme = SchemeParams(bonus_k=5.0, bonus_target=70.0)
    factors = bonus_factor(pd.Series([80.0, 60.0, 40.0, math.nan]), k=5, target=70)
    assert factors[:3].tolist() == pytest.approx([1.5, 0.5, 0.0])
    assert math.isnan(factors[3])
    result = compute(store1_input(), scheme).employees
    row = one(result, "employee_id", 100)
    assert row["bonus_factor"] == pytest.approx(0.9)  # 1 + 5 * (68 - 70) / 100
    assert row["satisfaction_points"] == pytest.approx(20.4)  # 68 * 30 / 100
    # the rollup's column is the one function's
    assert result["bonus_factor"].tolist() == pytest.approx(
        bonus_factor(result["value"], k=5, target=70).tolist())


def test_empty_inputs_give_no_values_not_errors():
    data = EngineInput(
        stores=pd.DataFrame({"store_id": [1], "region_id": [10]}),
        employees=pd.DataFrame({"employee_id": [5], "store_id": [1], "role": ["clerk"]}),
        survey_indicators=empty_frame(STORE_INDICATOR_COLUMNS),
        survey_employees=empty_frame(EMPLOYEE_INDICATOR_COLUMNS),
        survey_responses=empty_frame(STORE_RESPONSE_COLUMNS),
        visits=empty_frame(VISIT_COLUMNS), deductions=empty_frame(DEDUCTION_COLUMNS))
    result = compute(data, SchemeParams())
    assert math.isnan(result.stores.iloc[0]["value"])
    assert math.isnan(result.employees.iloc[0]["value"])
    assert "no_data" in result.employees.iloc[0]["flags"]


def test_an_unknown_complaint_grade_is_an_error_not_a_silent_zero():
    data = store1_input(deductions=pd.DataFrame([
        {"complaint_id": 1, "store_id": 1, "employee_id": None, "grade": "D"}]))
    with pytest.raises(ValueError, match="D"):
        compute(data, SchemeParams())
