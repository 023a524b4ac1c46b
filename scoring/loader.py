"""Loads a quarter's input frames through the input apps' selectors (the data contract).

The engine does not care where rows come from; this module is the one place that knows which
app provides which frame (the contract: ``docs/architecture.md``). Each frame is one or a few
set-based queries in the providing app. A frame without the contract's columns raises: it is
never "no data".
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pandas as pd
from django.db import connection, connections

from complaints import selectors as complaint_selectors
from mystery_shopper import selectors as visit_selectors
from satisfaction.models import Employee, Store
from satisfaction.quarters import Quarter
from scoring import engine
from surveys import selectors as survey_selectors


def load_frame(function: Callable[..., pd.DataFrame], columns: list[str],
               **kwargs) -> pd.DataFrame:
    result = function(**kwargs)
    missing = [c for c in columns if c not in result.columns]
    if missing:
        raise ValueError(f"{function.__module__}.{function.__name__} lacks columns {missing}")
    return result


def open_appeals_exist(*, quarter: Quarter) -> dict[str, bool]:
    """Per input app with appeals: is any appeal on the quarter still open?"""
    return {"mystery_shopper": bool(visit_selectors.open_appeals_exist(quarter=quarter)),
            "complaints": bool(complaint_selectors.open_appeals_exist(quarter=quarter))}


def chain_frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every store (with region) and every employee (with store and role): two queries."""
    stores = pd.DataFrame.from_records(
        Store.objects.values_list("pk", "region_id", "is_active").iterator(chunk_size=20000),
        columns=["store_id", "region_id", "is_active"])
    employees = pd.DataFrame.from_records(
        Employee.objects.values_list("pk", "store_id", "role", "is_active").iterator(
            chunk_size=20000),
        columns=["employee_id", "store_id", "role", "is_active"])
    return stores, employees


FrameCall = tuple[Callable[..., pd.DataFrame], list[str], dict]


def store_frame_calls(*, quarter: Quarter, weights: dict[str, float]) -> dict[str, FrameCall]:
    """The frames the store values need."""
    return {
        "survey_indicators": (survey_selectors.survey_store_indicator_frame,
                              engine.STORE_INDICATOR_COLUMNS, {"quarter": quarter}),
        "survey_responses": (survey_selectors.survey_store_response_frame,
                             engine.STORE_RESPONSE_COLUMNS,
                             {"quarter": quarter, "weights": weights}),
        "visits": (visit_selectors.approved_visit_frame, engine.VISIT_COLUMNS,
                   {"quarter": quarter}),
        "deductions": (complaint_selectors.deduction_frame, engine.DEDUCTION_COLUMNS,
                       {"quarter": quarter}),
    }


def _load_in_thread(call: FrameCall) -> pd.DataFrame:
    try:
        return load_frame(call[0], call[1], **call[2])
    finally:
        connections.close_all()


def load_frames(calls: dict[str, FrameCall], *, parallel: bool | None = None
                ) -> dict[str, pd.DataFrame]:
    """Run the selector calls; in parallel (one connection each) on PostgreSQL outside a
    transaction, since the survey aggregates are independent scans that two cores can share.

    Inside a transaction (a test, a caller that wrote rows it has not committed) they run one
    after the other on the caller's connection, which sees the caller's rows.
    """
    if parallel is None:
        parallel = connection.vendor == "postgresql" and not connection.in_atomic_block
    if not parallel:
        return {name: load_frame(c[0], c[1], **c[2]) for name, c in calls.items()}
    with ThreadPoolExecutor(max_workers=PARALLEL_LOADS) as pool:
        futures = {name: pool.submit(_load_in_thread, call) for name, call in calls.items()}
        return {name: future.result() for name, future in futures.items()}


PARALLEL_LOADS = 3


def load(*, quarter: Quarter, weights: dict[str, float],
         parallel: bool | None = None) -> engine.EngineInput:
    """The quarter's frames; rows for active stores/employees and any others with data."""
    calls = store_frame_calls(quarter=quarter, weights=weights)
    calls["survey_employees"] = (survey_selectors.survey_employee_indicator_frame,
                                 engine.EMPLOYEE_INDICATOR_COLUMNS, {"quarter": quarter})
    frames = load_frames(calls, parallel=parallel)
    stores, employees = chain_frames()
    return select_members(stores, employees, engine.EngineInput(
        stores=stores, employees=employees, **frames))


def select_members(stores: pd.DataFrame, employees: pd.DataFrame,
                   data: engine.EngineInput) -> engine.EngineInput:
    """Keep active stores and employees, plus inactive ones that have data in the quarter."""
    store_ids = set()
    for frame in (data.survey_indicators, data.visits, data.deductions):
        store_ids.update(pd.to_numeric(frame["store_id"], errors="coerce").dropna().astype(int))
    employee_ids = set()
    for frame in (data.survey_employees, data.visits, data.deductions):
        employee_ids.update(
            pd.to_numeric(frame["employee_id"], errors="coerce").dropna().astype(int))
    stores = stores[stores["is_active"] | stores["store_id"].isin(store_ids)]
    employees = employees[employees["is_active"] | employees["employee_id"].isin(employee_ids)]
    employees = employees[employees["store_id"].isin(stores["store_id"])]
    data.stores = stores[["store_id", "region_id"]].reset_index(drop=True)
    data.employees = employees[["employee_id", "store_id", "role"]].reset_index(drop=True)
    return data


def trace(*, quarter: Quarter, store_id: int, employee_id: int | None = None) -> dict:
    """The rows behind a value: ``{"responses": qs, "visits": qs, "complaints": qs}``."""
    where = {"quarter": quarter, "store_id": store_id, "employee_id": employee_id}
    return {"responses": survey_selectors.survey_trace(**where),
            "visits": visit_selectors.visit_trace(**where),
            "complaints": complaint_selectors.complaint_trace(**where)}
