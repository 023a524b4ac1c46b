"""Frames and snapshots for scoring tests (the engine does not care where rows come from)."""

from __future__ import annotations

import math

import pandas as pd

from scoring.engine import (
    DEDUCTION_COLUMNS,
    EMPLOYEE_INDICATOR_COLUMNS,
    STORE_INDICATOR_COLUMNS,
    STORE_RESPONSE_COLUMNS,
    VISIT_COLUMNS,
    EngineInput,
)


def worked_example(*, store, clerk, pharmacist, manager, extra_stores=()) -> EngineInput:
    """The engine tests' store 1, on real rows: store value 66.5, clerk 68, pharmacist 67.5,
    manager (68 + 67.5) / 2 = 67.75 (see tests/scoring/test_engine.py for the arithmetic)."""
    stores = [store, *extra_stores]
    people = [clerk, pharmacist, manager]
    return EngineInput(
        stores=pd.DataFrame({"store_id": [s.pk for s in stores],
                             "region_id": [s.region_id for s in stores]}),
        employees=pd.DataFrame({"employee_id": [e.pk for e in people],
                                "store_id": [e.store_id for e in people],
                                "role": [e.role for e in people]}),
        survey_indicators=pd.DataFrame([
            {"store_id": store.pk, "indicator_code": code, "n": n, "mean_score": mean,
             "bottom_n": 0, "mean_expectation_score": math.nan}
            for code, n, mean in (("warm_service", 10, 80.0), ("price", 10, 60.0),
                                  ("efficacy", 10, 70.0), ("recommendation", 9, 50.0))],
            columns=STORE_INDICATOR_COLUMNS),
        survey_employees=pd.DataFrame([
            {"employee_id": clerk.pk, "store_id": store.pk, "indicator_code": code, "n": 4,
             "mean_score": mean}
            for code, mean in (("warm_service", 90.0), ("recommendation", 60.0),
                               ("efficacy", 80.0), ("price", 50.0))] + [
            {"employee_id": pharmacist.pk, "store_id": store.pk,
             "indicator_code": "warm_service", "n": 3, "mean_score": 70.0}],
            columns=EMPLOYEE_INDICATOR_COLUMNS),
        survey_responses=pd.DataFrame([{"store_id": store.pk, "n": 10, "mean_score": 65.0,
                                        "sd_score": 10.0}], columns=STORE_RESPONSE_COLUMNS),
        visits=pd.DataFrame([
            {"visit_id": 1, "store_id": store.pk, "employee_id": clerk.pk, "score_pct": 90.0,
             "purchase_points": 8, "purchase_max": 10, "process_points": 6, "process_max": 10,
             "image_points": 0, "image_max": 0, "red_line": False},
            {"visit_id": 2, "store_id": store.pk, "employee_id": None, "score_pct": 70.0,
             "purchase_points": 9, "purchase_max": 10, "process_points": 9, "process_max": 10,
             "image_points": 0, "image_max": 0, "red_line": False},
        ], columns=VISIT_COLUMNS),
        deductions=pd.DataFrame([
            {"complaint_id": 1, "store_id": store.pk, "employee_id": None, "grade": "A"},
            {"complaint_id": 2, "store_id": store.pk, "employee_id": None, "grade": "C"},
            {"complaint_id": 3, "store_id": store.pk, "employee_id": clerk.pk, "grade": "B"},
        ], columns=DEDUCTION_COLUMNS),
    )
