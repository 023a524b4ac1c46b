"""Loads a quarter's input frames through the input apps' selectors (the data contract).

The engine does not care where rows come from; this module is the one place that knows which
app provides which frame (the contract: ``docs/architecture.md``). Each frame is one or a few
set-based queries in the providing app. A frame without the contract's columns raises: it is
never "no data".
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass

import pandas as pd
from django.db import connection, connections, transaction

from complaints import selectors as complaint_selectors
from mystery_shopper import selectors as visit_selectors
from satisfaction.models import Employee, Store
from satisfaction.quarters import Quarter
from scoring import engine, evidence
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


def store_frame_calls(*, quarter: Quarter, weights: dict[str, float]
                      ) -> dict[str, FrameCall]:
    """The frames the store values need.

    The store's response statistics (n, mean, sd of the counted responses' scores): on
    PostgreSQL one ``GROUP BY`` in the database (``survey_responses``); elsewhere the counted
    responses one by one (``responses``), grouped by ``evidence.response_stats``, which also
    gives the rollup its evidence (SQLite has no sample sd that copes with one value)."""
    weighted = {"quarter": quarter, "weights": weights}
    if connection.vendor == "postgresql":
        responses = {"survey_responses": (survey_selectors.survey_response_stats_frame,
                                          engine.STORE_RESPONSE_COLUMNS, weighted)}
    else:
        responses = {"responses": (survey_selectors.survey_response_score_frame,
                                   evidence.RESPONSE_COLUMNS, weighted)}
    return {
        "survey_indicators": (survey_selectors.survey_store_indicator_frame,
                              engine.STORE_INDICATOR_COLUMNS, {"quarter": quarter}),
        **responses,
        "visits": (visit_selectors.approved_visit_frame, engine.VISIT_COLUMNS,
                   {"quarter": quarter}),
        "deductions": (complaint_selectors.deduction_frame, engine.DEDUCTION_COLUMNS,
                       {"quarter": quarter}),
    }


@dataclass
class LoadedInput(engine.EngineInput):
    """The engine's frames plus what the revision's evidence freezes of the responses: the
    counted responses one by one (``responses``), or, on PostgreSQL, the name of the session
    table they were staged in, grouped per store and employee (``staged_responses``: written
    by ``services`` with one ``INSERT … SELECT`` and never brought into Python)."""

    responses: pd.DataFrame | None = None
    staged_responses: str | None = None


def engine_input(frames: dict[str, pd.DataFrame], stores: pd.DataFrame,
                 employees: pd.DataFrame, *, staged_responses: str | None = None
                 ) -> LoadedInput:
    """The engine's input from the loaded frames: the store response statistics are the
    database's (``survey_responses``) or derived from the per-response rows (``responses``)."""
    frames = dict(frames)
    responses = frames.pop("responses", None)
    if responses is not None:
        frames["survey_responses"] = evidence.response_stats(responses)
    frames.setdefault("survey_employees",
                      engine.empty_frame(engine.EMPLOYEE_INDICATOR_COLUMNS))
    return select_members(stores, employees, LoadedInput(
        stores=stores, employees=employees, responses=responses,
        staged_responses=staged_responses, **frames))


# The session's table (PostgreSQL ``TEMPORARY``) the rollup stages the counted responses in:
# one row per store and the employee the responses count for (none: the store only), their ids
# and scores as arrays in the same order. The shape the revision freezes them in
# (``scoring.models.RevisionResponses``).
STAGED_RESPONSES = "pg_temp.scoring_rollup_responses"


def _create_staging() -> None:
    """An empty session table for the counted responses (created before the read-only
    snapshot transaction, in which PostgreSQL may fill a temporary table but not create one)."""
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {STAGED_RESPONSES}")
        cursor.execute(f"CREATE TEMPORARY TABLE {STAGED_RESPONSES} (store_id bigint, "
                       "employee_id bigint, response_ids bigint[], scores double precision[])")


def staged_responses_drop() -> None:
    """Drop the session's staged responses, if any (the rollup, once written or failed; a
    transaction that failed is rolled back by its owner, and with it a table made inside it)."""
    if connection.vendor == "postgresql" and not connection.needs_rollback:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {STAGED_RESPONSES}")


def _stage_responses(*, quarter: Quarter, weights: dict[str, float]) -> pd.DataFrame:
    """Group the counted responses (``surveys.selectors.response_scores_sql``) per store and
    employee into the session's table, inside the database (one pass over a million rows
    at chain scale, ~115,000 groups), and group their scores per store there: the store
    response statistics, from exactly the rows the revision freezes (``services`` writes
    them, already grouped)."""
    sql, params = survey_selectors.response_scores_sql(quarter=quarter, weights=weights)
    with transaction.atomic(), connection.cursor() as cursor:
        # The groups' arrays are built in memory, not spilled; JIT compiling this simple plan
        # costs more than it saves.
        cursor.execute("SET LOCAL work_mem = '256MB'")
        cursor.execute("SET LOCAL jit = off")
        cursor.execute(
            f"INSERT INTO {STAGED_RESPONSES} (store_id, employee_id, response_ids, scores) "  # noqa: S608
            "SELECT store_id, employee_id, array_agg(response_id), array_agg(score) "
            f"FROM ({sql}) AS responses GROUP BY store_id, employee_id", params)
    return survey_selectors.response_stats_frame(
        f"(SELECT g.store_id, x.score FROM {STAGED_RESPONSES} g "  # noqa: S608
        "CROSS JOIN LATERAL unnest(g.scores) AS x(score)) AS responses")


def _load_in_thread(call: FrameCall, snapshot: str | None = None) -> pd.DataFrame:
    try:
        if snapshot is None:
            return load_frame(call[0], call[1], **call[2])
        with transaction.atomic(), connection.cursor() as cursor:
            # Every frame reads the same committed state: what the values count is exactly
            # what the revision's evidence lists, even while rows keep arriving.
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            cursor.execute("SET TRANSACTION SNAPSHOT %s", [snapshot])
            return load_frame(call[0], call[1], **call[2])
    finally:
        connections.close_all()


@contextmanager
def _one_snapshot(parallel: bool) -> Iterator[str | None]:
    """A read transaction whose snapshot the parallel loads share (PostgreSQL): every frame,
    and so the values and the evidence the revision freezes, reads one committed state while
    rows keep arriving. Sequential loads (SQLite, or inside a caller's transaction) use the
    caller's connection as it is."""
    if not parallel or connection.in_atomic_block:
        yield None
        return
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        cursor.execute("SELECT pg_export_snapshot()")
        yield cursor.fetchone()[0]


def load_frames(calls: dict[str, FrameCall], *, parallel: bool | None = None,
                snapshot: str | None = None,
                here: dict[str, FrameCall] | None = None) -> dict[str, pd.DataFrame]:
    """Run the selector calls; in parallel (one connection each) on PostgreSQL outside a
    transaction, since the survey aggregates are independent scans that two cores can share.

    Inside a transaction (a test, a caller that wrote rows it has not committed) they run one
    after the other on the caller's connection, which sees the caller's rows.

    ``here``: calls run on the caller's connection (in the shared snapshot's transaction when
    parallel) while the others load, e.g. staging rows in the session's own table.
    """
    if parallel is None:
        parallel = connection.vendor == "postgresql" and not connection.in_atomic_block
    here = here or {}
    if not parallel:
        return {name: load_frame(c[0], c[1], **c[2]) for name, c in {**calls, **here}.items()}
    with ThreadPoolExecutor(max_workers=PARALLEL_LOADS) as pool:
        futures = {name: pool.submit(_load_in_thread, call, snapshot)
                   for name, call in calls.items()}
        frames = {name: load_frame(c[0], c[1], **c[2]) for name, c in here.items()}
        return {**{name: future.result() for name, future in futures.items()}, **frames}


PARALLEL_LOADS = 3


def load(*, quarter: Quarter, weights: dict[str, float], parallel: bool | None = None,
         stage_responses: bool = False) -> LoadedInput:
    """The quarter's frames; rows for active stores/employees and any others with data.

    ``stage_responses`` (the rollup, which freezes them as evidence): on PostgreSQL the counted
    responses are copied into the session's table ``STAGED_RESPONSES`` inside the shared
    snapshot and their statistics grouped from it (``LoadedInput.staged_responses``); the
    caller writes them and drops the table (``staged_responses_drop``). Elsewhere they are
    loaded one by one (``LoadedInput.responses``). Without it (a scheme's preview) PostgreSQL
    reads only the statistics.
    """
    calls = store_frame_calls(quarter=quarter, weights=weights)
    calls["survey_employees"] = (survey_selectors.survey_employee_indicator_frame,
                                 engine.EMPLOYEE_INDICATOR_COLUMNS, {"quarter": quarter})
    if parallel is None:
        parallel = connection.vendor == "postgresql" and not connection.in_atomic_block
    here: dict[str, FrameCall] = {}
    staged = None
    if stage_responses and "survey_responses" in calls:
        del calls["survey_responses"]
        _create_staging()
        staged = STAGED_RESPONSES
        here["survey_responses"] = (_stage_responses, engine.STORE_RESPONSE_COLUMNS,
                                    {"quarter": quarter, "weights": weights})
    with _one_snapshot(parallel) as snapshot:
        frames = load_frames(calls, parallel=parallel, snapshot=snapshot, here=here)
        stores, employees = chain_frames()
    return engine_input(frames, stores, employees, staged_responses=staged)


def members(data: engine.EngineInput) -> tuple[list[int], list[int]]:
    """The ids of the stores and employees that get a value (``select_members``): the
    evidence names no other (``evidence.counted_inputs`` with ``members``)."""
    return ([int(s) for s in pd.to_numeric(data.stores["store_id"], errors="coerce")
             .dropna().unique()],
            [int(e) for e in pd.to_numeric(data.employees["employee_id"], errors="coerce")
             .dropna().unique()])


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


def _frame(queryset, columns: list[str], fields: list[str]) -> pd.DataFrame:
    return pd.DataFrame.from_records(list(queryset.values_list(*fields)), columns=columns)


def current_inputs(*, quarter: Quarter, weights: dict[str, float], store_id: int | None = None
                   ) -> engine.EngineInput | LoadedInput:
    """What a rollup run now would count (one store, or the chain without the responses, which
    are compared in the database): the frames the evidence is compared with to find what
    arrived or changed after a revision."""
    empty_store = engine.empty_frame(engine.STORE_COLUMNS)
    empty_employee = engine.empty_frame(engine.EMPLOYEE_COLUMNS)
    if store_id is None:
        return engine.EngineInput(
            stores=empty_store, employees=empty_employee,
            survey_indicators=engine.empty_frame(engine.STORE_INDICATOR_COLUMNS),
            survey_employees=engine.empty_frame(engine.EMPLOYEE_INDICATOR_COLUMNS),
            survey_responses=engine.empty_frame(engine.STORE_RESPONSE_COLUMNS),
            visits=load_frame(visit_selectors.approved_visit_frame, engine.VISIT_COLUMNS,
                              quarter=quarter),
            deductions=load_frame(complaint_selectors.deduction_frame,
                                  engine.DEDUCTION_COLUMNS, quarter=quarter))
    where = {"quarter": quarter, "store_id": store_id}
    visit_fields = ["pk", *engine.VISIT_COLUMNS[1:]]
    return LoadedInput(
        stores=empty_store, employees=empty_employee,
        survey_indicators=engine.empty_frame(engine.STORE_INDICATOR_COLUMNS),
        survey_employees=engine.empty_frame(engine.EMPLOYEE_INDICATOR_COLUMNS),
        survey_responses=engine.empty_frame(engine.STORE_RESPONSE_COLUMNS),
        visits=_frame(visit_selectors.visit_trace(**where), engine.VISIT_COLUMNS,
                      visit_fields),
        deductions=_frame(complaint_selectors.complaint_trace(**where),
                          engine.DEDUCTION_COLUMNS, ["pk", "store_id", "employee_id", "grade"]),
        responses=load_frame(survey_selectors.survey_response_score_frame,
                             evidence.RESPONSE_COLUMNS, weights=weights, **where))


def trace(*, quarter: Quarter, store_id: int, employee_id: int | None = None) -> dict:
    """The rows behind a value: ``{"responses": qs, "visits": qs, "complaints": qs}``."""
    where = {"quarter": quarter, "store_id": store_id, "employee_id": employee_id}
    return {"responses": survey_selectors.survey_trace(**where),
            "visits": visit_selectors.visit_trace(**where),
            "complaints": complaint_selectors.complaint_trace(**where)}
