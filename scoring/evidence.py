"""What a revision counted, item by item, and what each item contributed (pure, like the engine).

The rollup freezes the counted inputs beside its snapshot, so a value can be defended months
later whatever arrives since: one row per visit and complaint (``scoring.models.
RevisionInput``), the survey responses many to a row, one per store and employee
(``scoring.models.RevisionResponses``, ``response_groups``):

- a counted survey response: its store, the employee it counts for (none when it names no one,
  or names the person who keyed it in), and its weighted 0–100 score under the revision's
  scheme (Σ w·score / Σ w over the weighted indicators it rated);
- an approved visit: its store, the employee who served (when the visit has a purchase
  figure), its scenario % (what the store's scenario % averages) and its purchase-evaluation %
  (what the employee's purchase part averages);
- a substantiated graded complaint: its store, the employee it names, its deduction points
  under the revision's scheme.

The figures are the engine's own (``engine.visit_figures``, ``engine.grade_points``):
this module decides nothing about the values, it records what the engine used. No ORM, no I/O.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from scoring import engine

# The kinds of input (``scoring.models.InputKind``'s values) and their names in the trace.
RESPONSE = 1
VISIT = 2
COMPLAINT = 3
KINDS = {RESPONSE: "responses", VISIT: "visits", COMPLAINT: "complaints"}
KIND_NAMES = tuple(KINDS.values())  # the API's kinds (OpenAPI enum ``TraceInputKindEnum``)

RESPONSE_COLUMNS = ["response_id", "store_id", "employee_id", "score"]
INPUT_COLUMNS = ["kind", "object_id", "store_id", "employee_id", "figure", "employee_figure"]


def response_stats(responses: pd.DataFrame) -> pd.DataFrame:
    """Per store: n, mean and sample sd of the responses' weighted scores (the engine's
    ``survey_responses`` frame), from the same rows the revision freezes."""
    scored = responses.loc[responses["score"].notna(), ["store_id", "score"]]
    scored = scored.astype({"store_id": "int64", "score": "float64"})
    group = scored.groupby("store_id")["score"]
    frame = pd.DataFrame({"n": group.size(), "mean_score": group.mean(),
                          "sd_score": group.std(ddof=1)}).reset_index()
    return frame[engine.STORE_RESPONSE_COLUMNS].astype(
        {"store_id": "int64", "n": "int64", "mean_score": "float64", "sd_score": "float64"})


def _int_or_none(series: pd.Series) -> pd.Series:
    return pd.to_numeric(series, errors="coerce").astype("Int64")


def counted_inputs(data: engine.EngineInput, scheme: engine.SchemeParams,
                   responses: pd.DataFrame | None, figures: pd.DataFrame, *,
                   members: bool = True) -> pd.DataFrame:
    """One row per input the values of ``data`` count (columns ``INPUT_COLUMNS``).

    ``figures``: the visits' figures under ``scheme`` (``engine.visit_figures`` of
    ``data.visits``, or ``EngineResult.visits``): per visit the scenario % the store's scenario
    averages and the purchase-evaluation % the served employee's purchase part averages.

    With ``members`` only the stores and employees that get a value are named: an input of a
    store outside ``data.stores`` counts for nothing; an employee outside ``data.employees`` is
    left empty. Without (what counts now, to compare with a revision) every row is kept.
    """
    parts = []
    if responses is not None and len(responses):
        parts.append(pd.DataFrame({
            "kind": RESPONSE, "object_id": responses["response_id"],
            "store_id": responses["store_id"], "employee_id": responses["employee_id"],
            "figure": responses["score"], "employee_figure": np.nan}))
    if figures is not None and len(figures):
        scenario, purchase = figures["scenario_pct"], figures["purchase_pct"]
        # A visit without a figure counts for no one (the engine's n_visits leaves it out);
        # without a purchase figure it does not count for the employee who served.
        counted = scenario.notna().to_numpy()
        parts.append(pd.DataFrame({
            "kind": VISIT, "object_id": figures["visit_id"], "store_id": figures["store_id"],
            "employee_id": figures["employee_id"].where(purchase.notna()),
            "figure": scenario, "employee_figure": purchase})[counted])
    complaints = data.deductions
    if complaints is not None and len(complaints):
        parts.append(pd.DataFrame({
            "kind": COMPLAINT, "object_id": complaints["complaint_id"],
            "store_id": complaints["store_id"], "employee_id": complaints["employee_id"],
            "figure": engine.grade_points(complaints, scheme.grade_points),
            "employee_figure": np.nan}))
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype="float64") for c in INPUT_COLUMNS})
    frame = pd.concat(parts, ignore_index=True)
    frame["object_id"] = _int_or_none(frame["object_id"])
    frame["store_id"] = _int_or_none(frame["store_id"])
    frame["employee_id"] = _int_or_none(frame["employee_id"])
    frame = frame[frame["object_id"].notna() & frame["store_id"].notna()]
    if members:
        store_ids = set(pd.to_numeric(data.stores["store_id"], errors="coerce").dropna()
                        .astype("int64"))
        employee_ids = set(pd.to_numeric(data.employees["employee_id"], errors="coerce")
                           .dropna().astype("int64"))
        frame = frame[frame["store_id"].isin(store_ids)]
        frame.loc[~frame["employee_id"].isin(employee_ids), "employee_id"] = pd.NA
    frame["kind"] = frame["kind"].astype("int64")
    return frame[INPUT_COLUMNS].reset_index(drop=True)


ResponseGroup = tuple[int, int | None, list[int], list[float | None]]


def response_groups(inputs: pd.DataFrame) -> list[ResponseGroup]:
    """The counted responses among ``inputs`` (``counted_inputs``' rows) as a revision freezes
    them: one group per store and employee (``None``: the store's value only), as
    ``(store_id, employee_id, response ids, figures)``, the ids ascending and each figure
    beside its id (``None``: the response has no score)."""
    rows = inputs[inputs["kind"] == RESPONSE]
    if rows.empty:
        return []
    store = rows["store_id"].to_numpy(dtype="int64")
    # Ids are positive: -1 stands for "no employee" while sorting and grouping.
    employee = pd.to_numeric(rows["employee_id"]).astype("Int64").to_numpy(
        dtype="int64", na_value=-1)
    object_id = rows["object_id"].to_numpy(dtype="int64")
    figure = pd.to_numeric(rows["figure"]).to_numpy(dtype="float64", na_value=np.nan)
    order = np.lexsort((object_id, employee, store))
    store, employee = store[order], employee[order]
    object_id, figure = object_id[order], figure[order]
    starts = np.flatnonzero(np.r_[True, (store[1:] != store[:-1])
                                  | (employee[1:] != employee[:-1])])
    ends = np.r_[starts[1:], len(store)]
    return [(int(store[start]), None if employee[start] < 0 else int(employee[start]),
             object_id[start:end].tolist(),
             [None if math.isnan(f) else f for f in figure[start:end].tolist()])
            for start, end in zip(starts.tolist(), ends.tolist(), strict=True)]


# --- What arrived or changed after a revision -----------------------------------------------


def _same(a: pd.Series, b: pd.Series) -> pd.Series:
    a = pd.to_numeric(a, errors="coerce").astype("float64")
    b = pd.to_numeric(b, errors="coerce").astype("float64")
    return ((a - b).abs() < 1e-9) | (a.isna() & b.isna())


def diff_inputs(counted: pd.DataFrame, now: pd.DataFrame) -> pd.DataFrame:
    """The inputs that differ between what a revision counted and what counts now.

    ``change``: ``added`` (counts now, the revision did not count it: it arrived, or was
    approved, after the revision), ``withdrawn`` (the revision counted it, it no longer
    counts: rejected, appeal upheld), ``changed`` (both count it, with another figure or for
    another employee: an appeal decision). Columns: ``kind``, ``object_id``, ``store_id``,
    ``change``, and ``employee_id`` / ``figure`` / ``employee_figure`` suffixed ``_counted``
    and ``_now``.
    """
    merged = counted[INPUT_COLUMNS].merge(now[INPUT_COLUMNS], on=["kind", "object_id"],
                                          how="outer", suffixes=("_counted", "_now"),
                                          indicator=True)
    both = merged["_merge"] == "both"
    same = (_same(merged["figure_counted"], merged["figure_now"])
            & _same(merged["employee_figure_counted"], merged["employee_figure_now"])
            & _same(merged["employee_id_counted"], merged["employee_id_now"]))
    change = np.select([merged["_merge"] == "right_only", merged["_merge"] == "left_only",
                        both & ~same], ["added", "withdrawn", "changed"], default="")
    merged["change"] = change
    merged["store_id"] = merged["store_id_now"].fillna(merged["store_id_counted"])
    merged = merged[merged["change"] != ""].drop(columns=["_merge"])
    return merged.reset_index(drop=True)


# --- Explaining the movement between two revisions -----------------------------------------


@dataclass(frozen=True)
class Item:
    """One input of a store in a revision, as frozen."""

    kind: int
    object_id: int
    employee_id: int | None
    figure: float | None


@dataclass(frozen=True)
class Change:
    kind: int
    object_id: int
    change: str  # "added", "removed", "changed"
    old: Item | None
    new: Item | None
    effect: float  # points of the value this change moved (sequential attribution)


def same_item(a: Item, b: Item) -> bool:
    """The same input counted the same way (figures equal to 1e-9, same employee)."""
    fa, fb = _figure(a), _figure(b)
    same_figure = (fa is None and fb is None) or (
        fa is not None and fb is not None and abs(fa - fb) < 1e-9)
    return same_figure and a.employee_id == b.employee_id


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _figure(item: Item | None) -> float | None:
    if item is None or item.figure is None or math.isnan(item.figure):
        return None
    return float(item.figure)


def mean_changes(old: dict[int, Item], new: dict[int, Item], kind: int, share: float,
                 order: list[int]) -> list[Change]:
    """Items of a mean component (survey: response scores; scenario: visit %), with the points
    each moved: the changes are applied one at a time (removed, changed, then added, each in
    ``order``) to the running mean of the figures, and each is credited the change of
    mean × ``share`` / 100 it caused. The effects add up to the movement of the mean's points;
    what the mean does not explain (indicator weighting, rescaling, a scheme change) is the
    component's remainder."""
    figures = {oid: f for oid, item in old.items() if (f := _figure(item)) is not None}
    rank = {oid: i for i, oid in enumerate(order)}

    def ordered(ids):
        return sorted(ids, key=lambda oid: (rank.get(oid, len(rank)), oid))

    steps = ([(oid, "removed") for oid in ordered(set(old) - set(new))]
             + [(oid, "changed") for oid in ordered(set(old) & set(new))
                if not same_item(old[oid], new[oid])]
             + [(oid, "added") for oid in ordered(set(new) - set(old))])
    changes = []
    for oid, change in steps:
        before = _mean(list(figures.values()))
        figure = _figure(new.get(oid))
        if change == "removed" or figure is None:
            figures.pop(oid, None)
        else:
            figures[oid] = figure
        after = _mean(list(figures.values()))
        effect = 0.0 if before is None or after is None else (after - before) * share / 100.0
        changes.append(Change(kind, oid, change, old.get(oid), new.get(oid), effect))
    return changes


def sum_changes(old: dict[int, Item], new: dict[int, Item], kind: int,
                order: list[int]) -> list[Change]:
    """Items of a sum component (deductions): each moves the value by minus its points."""
    rank = {oid: i for i, oid in enumerate(order)}
    changes = []
    for oid in sorted(set(old) | set(new), key=lambda o: (rank.get(o, len(rank)), o)):
        before, after = old.get(oid), new.get(oid)
        if before is not None and after is not None and same_item(before, after):
            continue
        change = "added" if before is None else "removed" if after is None else "changed"
        effect = -((_figure(after) or 0.0) - (_figure(before) or 0.0))
        changes.append(Change(kind, oid, change, before, after, effect))
    return changes
