"""The score (顾客满意度评估值): pure computation, data in, scores out.

No ORM, no settings, no I/O: every input is a pandas DataFrame with the columns of the data
contract (``docs/architecture.md``, "The data contract between the input apps and scoring"),
every output a DataFrame. The rollup service loads the frames with set-based queries, calls
:func:`compute`, and writes the snapshots; tests call it with hand-made frames.

All inputs are already normalised to 0–100 by the input apps (a rating on a 1..top scale maps
linearly to 0..100); a visit arrives as its stored parts (points and maximum of purchase
evaluation, process and store image, red line, ``score_pct``), and its figure comes from the
module that owns visit scoring, ``mystery_shopper.calc.scenario_pct`` (pure, like this one).

Store value (docs/domain.md "The score")::

    store value = sample-survey points + scenario-survey points − complaint deductions

- survey %   = Σ_i w_i · mean_i / Σ_i w_i over the indicators i the store has data for
  (``mean_i`` the indicator's 0–100 mean, ``w_i`` the scheme's weight of its code; codes the
  scheme does not weigh, or weighs 0, do not count);
- survey points   = survey % × survey_points / 100 (50 by default);
- a visit's figure = (purchase points + process points) / (purchase max + process max) × 100,
  seed 002's 神秘顾客分数 = 购药评定分 + 问病卖药流程分. The store-image items (sign, uniform,
  polite phrases) are not in it; the scheme's ``scenario_counts_image`` (off by default) adds
  their points and maximum to both sums. A red-line visit gives its ``score_pct`` — the
  scorecard's configured red-line score — whatever its parts, with or without the image. A visit
  with nothing applicable in the counted parts has no figure and does not count;
- scenario %      = mean visit figure over the store's approved visits (``n_visits``: those
  with a figure); ``image_pct`` = the mean store-image % of the store's approved visits
  (red-line visits at their red-line score), reported beside it whether counted or not;
- scenario points = scenario % × scenario_points / 100 (50 by default);
- deductions      = Σ grade points over the store's substantiated complaints (A 3, B 2, C 1);
- value = clip(survey points + scenario points − deductions, 0, 100).

A missing component (a store with survey data but no approved visit, or the reverse) is always
flagged (``missing_survey`` / ``missing_scenario``). With ``missing_component="rescale"`` (the
default) the component that exists carries the points of both (survey % × (50 + 50) / 100), so a
store is not docked 50 points because no shopper happened to visit it; with ``"zero"`` the
missing component counts 0. A store with neither has no value (NaN, flag ``no_data``): its
deductions alone say nothing about satisfaction.

Fewer survey responses than the scheme's minimum flag the value (``small_sample``); they do not
hide it. The 95% confidence interval beside the value comes from the per-response weighted
scores (``evidence.response_stats``): half-width = t(0.975, n − 1) · sd / √n in survey %
(``satisfaction.stats.t_half_width``, the one the survey results pages use),
scaled to points by the share of the value the survey carries; reported as value ± half-width
(clipped to 0–100), and NaN when n < 2.

Small-sample adjustment (off by default): the survey % is shrunk toward the region's pooled
mean (the response-weighted mean of the region's stores' survey %) with weight n / (n + m)::

    survey %' = (n · survey % + m · region mean) / (n + m)

where n is the store's number of responses and m the scheme's ``shrinkage_m`` (by default the
minimum sample). A store with m responses lands halfway between its own mean and the region's.

Employee value (推销满意度)::

    employee value = warm-service points + efficacy points + price points
                     + purchase-evaluation points − complaint deductions

Each part is a 0–100 figure × its points / 100 (25 each by default): warm service = the
employee's ``warm_service`` indicator; recommended-product efficacy = the mean of the employee's
``recommendation`` and ``efficacy`` indicator means (either alone when only one has data);
price = the ``price`` indicator; purchase evaluation = the mean over approved visits where the
employee served of the visit's figure without the store image (seed 002's 推销满意度 names
购药评定 alone, so ``scenario_counts_image`` does not reach it; a red-line visit counts its
configured red-line score). A part with no data of
the employee falls back to the store's figure for that part (``missing_part="store"``, the
default, flag ``<part>_from_store``) or counts 0 (``missing_part="zero"``, flag
``<part>_missing``). A part with no data even at the store follows ``missing_component`` like a
store component (rescaled across the parts that exist, or 0), flag ``<part>_missing``.
The value is clipped to 0–100.

A store manager's value (管理人员: 取门店所有人员的平均值; his own figure is not averaged into
itself)::

    manager value = clip(mean of the values of the store's other staff
                         − the deductions of the complaints attributed to the manager, 0, 100)

so his own complaints cost him what they cost a clerk. His flags describe that value, not his
discarded own figure (kept as ``own_value``, with its parts): ``staff_mean``, ``staff_n:<N>``
(N staff averaged, also the ``n_staff`` column), ``manager_deduction`` when complaints
attributed to him were deducted after the mean, ``clipped``. A store with no other staff with a
value keeps the manager's own figure (his deductions already in it) and that figure's flags.

Appraisal satisfaction points = employee value × satisfaction_weight / 100 (30 by default).
Bonus factor = max(0, 1 + k · (value − T) / 100) with the scheme's amplification k and target T
(:func:`bonus_factor`, the one implementation: the rollup's column and the tests use it).

Beside the stores and employees, :func:`compute` returns each approved visit's figures
(``EngineResult.visits``: the figure it gave the store's scenario % and the employee's purchase
evaluation, and its store-image %), so the evidence a revision counted is recorded as counted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

# A visit's figure comes from the module that owns visit scoring (pure, like this module).
from mystery_shopper import calc as visit_calc

# The chain's one confidence interval (pure, like this module); the survey pages use it too.
from satisfaction.stats import t_half_width

DEFAULT_INDICATOR_WEIGHTS: dict[str, float] = {
    "assortment": 1.0, "environment": 1.0, "recommendation": 1.0, "efficacy": 1.0,
    "warm_service": 1.0, "product_quality": 1.0, "price": 1.0,
}
DEFAULT_GRADE_POINTS: dict[str, float] = {"A": 3.0, "B": 2.0, "C": 1.0}

# The employee formula's survey parts: part key -> the indicator codes averaged for it.
EMPLOYEE_SURVEY_PARTS: dict[str, tuple[str, ...]] = {
    "warm_service": ("warm_service",),
    "efficacy": ("recommendation", "efficacy"),
    "price": ("price",),
}
EMPLOYEE_PARTS: tuple[str, ...] = ("warm_service", "efficacy", "price", "purchase")

RESCALE = "rescale"
ZERO = "zero"
FROM_STORE = "store"

STORE_MANAGER_ROLE = "store_manager"

# Column sets of the contract's frames (empty input is an empty frame with these columns).
STORE_INDICATOR_COLUMNS = ["store_id", "indicator_code", "n", "mean_score", "bottom_n",
                           "mean_expectation_score"]
EMPLOYEE_INDICATOR_COLUMNS = ["employee_id", "store_id", "indicator_code", "n", "mean_score"]
STORE_RESPONSE_COLUMNS = ["store_id", "n", "mean_score", "sd_score"]
VISIT_COLUMNS = ["visit_id", "store_id", "employee_id", "score_pct", "purchase_points",
                 "purchase_max", "process_points", "process_max", "image_points", "image_max",
                 "red_line"]
DEDUCTION_COLUMNS = ["complaint_id", "store_id", "employee_id", "grade"]
STORE_COLUMNS = ["store_id", "region_id"]
EMPLOYEE_COLUMNS = ["employee_id", "store_id", "role"]
# Each approved visit's figures (EngineResult.visits): what it gave the store's scenario % and
# the employee's purchase evaluation (NaN: it had none), and its store-image %.
VISIT_FIGURE_COLUMNS = ["visit_id", "store_id", "employee_id", "scenario_pct", "purchase_pct",
                        "image_pct"]


@dataclass(frozen=True)
class SchemeParams:
    """The numbers of a scoring scheme, as plain data (the model turns into one of these)."""

    survey_points: float = 50.0
    scenario_points: float = 50.0
    indicator_weights: dict[str, float] = field(
        default_factory=lambda: dict(DEFAULT_INDICATOR_WEIGHTS))
    grade_points: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_GRADE_POINTS))
    min_sample: int = 30
    missing_component: str = RESCALE
    warm_service_points: float = 25.0
    efficacy_points: float = 25.0
    price_points: float = 25.0
    purchase_points: float = 25.0
    missing_part: str = FROM_STORE
    financial_weight: float = 50.0
    satisfaction_weight: float = 30.0
    other_weight: float = 20.0
    bonus_k: float = 1.0
    bonus_target: float = 70.0
    small_sample_adjustment: bool = False
    shrinkage_m: float | None = None
    scenario_counts_image: bool = False

    def part_points(self) -> dict[str, float]:
        return {"warm_service": self.warm_service_points, "efficacy": self.efficacy_points,
                "price": self.price_points, "purchase": self.purchase_points}

    @property
    def shrinkage(self) -> float:
        return float(self.min_sample if self.shrinkage_m is None else self.shrinkage_m)


@dataclass
class EngineInput:
    """The frames of one quarter. ``stores``/``employees`` list who gets a row."""

    stores: pd.DataFrame
    employees: pd.DataFrame
    survey_indicators: pd.DataFrame
    survey_employees: pd.DataFrame
    survey_responses: pd.DataFrame
    visits: pd.DataFrame
    deductions: pd.DataFrame


@dataclass
class EngineResult:
    stores: pd.DataFrame
    employees: pd.DataFrame
    visits: pd.DataFrame = field(default_factory=lambda: empty_frame(VISIT_FIGURE_COLUMNS))


def empty_frame(columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame({column: pd.Series(dtype="float64") for column in columns})


def bonus_factor(values: pd.Series, *, k: float, target: float) -> pd.Series:
    """max(0, 1 + k · (value − T) / 100) per value; k = 5, T = 70: 80 → 1.5, 60 → 0.5.

    NaN (no value) stays NaN. The rollup's ``bonus_factor`` column is this function's.
    """
    values = pd.to_numeric(values, errors="coerce").astype("float64")
    return (1.0 + k * (values - target) / 100.0).clip(lower=0.0)


def visit_figures(visits: pd.DataFrame, scheme: SchemeParams) -> pd.DataFrame:
    """Each visit's figures (:data:`VISIT_FIGURE_COLUMNS`), by ``mystery_shopper.calc``.

    ``scenario_pct`` counts toward the store (with the store image when the scheme says so),
    ``purchase_pct`` toward the employee who served (never with the image), ``image_pct`` is
    reported beside. A red-line visit gives its ``score_pct`` (the configured red-line score).
    """
    visits = _with_columns(visits, VISIT_COLUMNS)
    red = visits["red_line"].astype("boolean").fillna(value=False).to_numpy(dtype=bool)
    parts = {c: pd.to_numeric(visits[c], errors="coerce").fillna(0.0).to_numpy("float64")
             for c in ("purchase_points", "purchase_max", "process_points", "process_max",
                       "image_points", "image_max")}
    red_pct = pd.to_numeric(visits["score_pct"], errors="coerce").to_numpy("float64")
    seed = visit_calc.scenario_pct(**parts, red_line=red, red_line_pct=red_pct)
    counted = visit_calc.scenario_pct(**parts, red_line=red, red_line_pct=red_pct,
                                      count_image=True) if scheme.scenario_counts_image else seed
    image = visit_calc.image_pct(parts["image_points"], parts["image_max"], red_line=red,
                                 red_line_pct=red_pct)
    return pd.DataFrame({
        "visit_id": _ids(visits["visit_id"]).to_numpy(),
        "store_id": _ids(visits["store_id"]).to_numpy(),
        "employee_id": _ids(visits["employee_id"]).to_numpy(),
        "scenario_pct": counted, "purchase_pct": seed, "image_pct": image,
    }, index=visits.index)


def _ids(series: pd.Series) -> pd.Series:
    return pd.to_numeric(series, errors="coerce").astype("float64")


def _with_columns(frame: pd.DataFrame | None, columns: list[str]) -> pd.DataFrame:
    if frame is None or frame.empty:
        return empty_frame(columns)
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"frame lacks columns {missing}")
    return frame


def _weighted_survey_pct(indicators: pd.DataFrame, weights: dict[str, float],
                         key: str) -> pd.Series:
    frame = indicators[[key, "indicator_code", "mean_score"]].copy()
    frame["w"] = frame["indicator_code"].map(weights).astype("float64").fillna(0.0)
    frame = frame[(frame["w"] > 0) & frame["mean_score"].notna()]
    frame["wx"] = frame["w"] * frame["mean_score"].astype("float64")
    sums = frame.groupby(key)[["wx", "w"]].sum()
    return sums["wx"] / sums["w"]


def _part_pcts(indicators: pd.DataFrame, key: str) -> pd.DataFrame:
    """Per ``key`` (store or employee): the 0–100 figure of each survey part of the formula."""
    wide = indicators.pivot_table(index=key, columns="indicator_code", values="mean_score",
                                  aggfunc="mean")
    out = pd.DataFrame(index=wide.index)
    for part, codes in EMPLOYEE_SURVEY_PARTS.items():
        present = [c for c in codes if c in wide.columns]
        out[part] = wide[present].mean(axis=1) if present else np.nan
    return out


def _rank(values: pd.Series, groups: pd.Series | None = None) -> pd.Series:
    if groups is None:
        ranks = values.rank(method="min", ascending=False)
    else:
        ranks = values.groupby(groups).rank(method="min", ascending=False)
    return ranks.astype("Int64")


def _flag_lists(flags: dict[str, pd.Series], index: pd.Index) -> pd.Series:
    lists: list[list[str]] = [[] for _ in range(len(index))]
    for name, mask in flags.items():
        values = mask.reindex(index).astype("boolean").fillna(value=False).to_numpy(dtype=bool)
        for position in np.flatnonzero(values):
            lists[position].append(name)
    return pd.Series(lists, index=index, dtype=object)


def grade_points(deductions: pd.DataFrame, points_by_grade: dict[str, float]) -> pd.Series:
    """Each complaint's deduction points (its grade's, under the scheme); an unknown grade
    raises."""
    points = deductions["grade"].map(points_by_grade)
    unknown = deductions.loc[points.isna(), "grade"]
    if len(unknown):
        raise ValueError(f"no points for complaint grade(s) {sorted(set(unknown))}")
    return points.astype("float64")


def compute_stores(data: EngineInput, scheme: SchemeParams,
                   figures: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per store of ``data.stores`` with its value, components, CI, flags and ranks.

    ``figures``: :func:`visit_figures` of ``data.visits`` when the caller has them already.
    """
    stores = _with_columns(data.stores, STORE_COLUMNS)[STORE_COLUMNS].copy()
    stores["store_id"] = _ids(stores["store_id"]).astype("int64")
    out = stores.set_index("store_id")
    indicators = _with_columns(data.survey_indicators, STORE_INDICATOR_COLUMNS)
    responses = _with_columns(data.survey_responses, STORE_RESPONSE_COLUMNS)
    adjusted = _store_survey(out, indicators, responses, scheme)
    _store_scenario(out, visit_figures(data.visits, scheme) if figures is None else figures)
    _store_deductions(out, _with_columns(data.deductions, DEDUCTION_COLUMNS), scheme)
    flags = _store_value(out, responses, scheme)
    flags["adjusted"] = adjusted
    out["flags"] = _flag_lists(flags, out.index)
    out["rank_region"] = _rank(out["value"], out["region_id"])
    out["rank_chain"] = _rank(out["value"])
    out["indicators"] = _indicator_dicts(indicators, out.index)
    return out.reset_index()


def _store_survey(out: pd.DataFrame, indicators: pd.DataFrame, responses: pd.DataFrame,
                  scheme: SchemeParams) -> pd.Series:
    """Adds survey_pct_raw, n_responses, survey_pct; returns where the adjustment applied."""
    survey_raw = _weighted_survey_pct(indicators, scheme.indicator_weights, "store_id")
    keys = out.index.astype("float64")
    out["survey_pct_raw"] = survey_raw.reindex(keys).to_numpy()
    indicator_n = indicators.assign(store_id=_ids(indicators["store_id"])).groupby(
        "store_id")["n"].max().reindex(keys)
    response_n = responses.assign(store_id=_ids(responses["store_id"])).set_index(
        "store_id")["n"].reindex(keys)
    n = response_n.fillna(indicator_n).fillna(0).to_numpy()
    out["n_responses"] = n.astype("int64")
    out.loc[out["survey_pct_raw"].isna(), "n_responses"] = 0

    survey = out["survey_pct_raw"].copy()
    adjusted = pd.Series(data=False, index=out.index)
    if scheme.small_sample_adjustment:
        has = survey.notna()
        pooled = (survey[has] * out.loc[has, "n_responses"]).groupby(
            out.loc[has, "region_id"]).sum()
        weight = out.loc[has, "n_responses"].groupby(out.loc[has, "region_id"]).sum()
        region_mean = pd.Series((pooled / weight.where(weight > 0)).reindex(
            out["region_id"]).to_numpy(), index=out.index)
        m = scheme.shrinkage
        count = out["n_responses"].astype("float64")
        shrunk = (count * survey + m * region_mean) / (count + m)
        adjusted = has & region_mean.notna() & (m > 0)
        survey = survey.where(~adjusted, shrunk)
    out["survey_pct"] = survey
    return adjusted


def _store_scenario(out: pd.DataFrame, figures: pd.DataFrame) -> None:
    """Adds scenario_pct (mean counted visit figure), n_visits and image_pct (beside)."""
    keys = out.index.astype("float64")
    group = figures.groupby("store_id")
    out["scenario_pct"] = group["scenario_pct"].mean().reindex(keys).to_numpy()
    out["n_visits"] = group["scenario_pct"].count().reindex(keys).fillna(0).astype(
        "int64").to_numpy()
    out["image_pct"] = group["image_pct"].mean().reindex(keys).to_numpy()


def _store_deductions(out: pd.DataFrame, deductions: pd.DataFrame,
                      scheme: SchemeParams) -> None:
    keys = out.index.astype("float64")
    frame = pd.DataFrame({"store_id": _ids(deductions["store_id"]),
                          "points": grade_points(deductions, scheme.grade_points)})
    group = frame.groupby("store_id")["points"]
    out["deductions"] = group.sum().reindex(keys).fillna(0.0).to_numpy()
    out["n_complaints"] = group.size().reindex(keys).fillna(0).astype("int64").to_numpy()


def _store_value(out: pd.DataFrame, responses: pd.DataFrame,
                 scheme: SchemeParams) -> dict[str, pd.Series]:
    """Adds the points, value and CI columns; returns the value's flags."""
    has_survey = out["survey_pct"].notna()
    has_scenario = out["scenario_pct"].notna()
    total = scheme.survey_points + scheme.scenario_points
    survey_share = pd.Series(scheme.survey_points, index=out.index, dtype="float64")
    scenario_share = pd.Series(scheme.scenario_points, index=out.index, dtype="float64")
    if scheme.missing_component == RESCALE:
        survey_share[has_survey & ~has_scenario] = total
        scenario_share[has_scenario & ~has_survey] = total
    out["survey_points"] = (out["survey_pct"] * survey_share / 100.0).where(has_survey, 0.0)
    out["scenario_points"] = (out["scenario_pct"] * scenario_share / 100.0).where(
        has_scenario, 0.0)
    no_data = ~has_survey & ~has_scenario
    raw = out["survey_points"] + out["scenario_points"] - out["deductions"]
    out["value"] = raw.clip(0.0, 100.0).where(~no_data)

    by_store = responses.assign(store_id=_ids(responses["store_id"])).set_index("store_id")
    keys = out.index.astype("float64")
    half_pct = t_half_width(
        pd.Series(by_store["n"].reindex(keys).to_numpy(), index=out.index),
        pd.Series(by_store["sd_score"].reindex(keys).to_numpy(), index=out.index))
    half = (half_pct * survey_share / 100.0).where(has_survey & ~no_data)
    out["ci_half_width"] = half
    out["ci_low"] = (out["value"] - half).clip(0.0, 100.0)
    out["ci_high"] = (out["value"] + half).clip(0.0, 100.0)
    return {
        "no_data": no_data,
        "missing_survey": ~has_survey & ~no_data,
        "missing_scenario": ~has_scenario & ~no_data,
        "small_sample": has_survey & (out["n_responses"] < scheme.min_sample),
        "clipped": ~no_data & ((raw < 0) | (raw > 100)),
    }


def _indicator_dicts(indicators: pd.DataFrame, index: pd.Index) -> pd.Series:
    """Per store: ``{code: [n, mean 0–100]}`` of its survey indicators (for the components)."""
    by_store: dict[int, dict[str, list]] = {}
    columns = (_ids(indicators["store_id"]).tolist(), indicators["indicator_code"].tolist(),
               indicators["n"].tolist(), indicators["mean_score"].tolist())
    for store_id, code, count, mean in zip(*columns, strict=True):
        if not math.isnan(store_id):
            by_store.setdefault(int(store_id), {})[str(code)] = [int(count),
                                                                 round(float(mean), 4)]
    return pd.Series([by_store.get(int(i), {}) for i in index], index=index, dtype=object)


def compute_employees(data: EngineInput, scheme: SchemeParams, store_values: pd.DataFrame,
                      figures: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per employee of ``data.employees``: parts, deductions, value, flags, ranks.

    ``figures``: :func:`visit_figures` of ``data.visits`` when the caller has them already.
    """
    employees = _with_columns(data.employees, EMPLOYEE_COLUMNS)[EMPLOYEE_COLUMNS].copy()
    employees["employee_id"] = _ids(employees["employee_id"]).astype("int64")
    employees["store_id"] = _ids(employees["store_id"]).astype("int64")
    region_of = store_values.set_index("store_id")["region_id"] if len(store_values) else (
        pd.Series(dtype="float64"))
    employees["region_id"] = employees["store_id"].map(region_of)
    out = employees.set_index("employee_id")
    own, store_parts = _employee_part_sources(
        out, data, visit_figures(data.visits, scheme) if figures is None else figures)
    flags, earned, no_data = _employee_parts(out, own, store_parts, scheme)
    _employee_deductions(out, _with_columns(data.deductions, DEDUCTION_COLUMNS), scheme)
    raw = earned - out["deductions"]
    out["own_value"] = raw.clip(0.0, 100.0).where(~no_data)
    clipped = ~no_data & ((raw < 0) | (raw > 100))

    replaced = _store_managers(out)
    # A manager whose value is the staff mean is described by that value, not by the flags of
    # his discarded own figure (its fallbacks, its gaps).
    flags = {name: mask & ~replaced for name, mask in flags.items()}
    flags["staff_mean"] = replaced
    flags["manager_deduction"] = replaced & (out["deductions"] > 0)
    flags["no_data"] = no_data & ~replaced
    flags["clipped"] = (clipped & ~replaced) | (replaced & out.pop("manager_raw").lt(0))
    # A replaced manager's flags start with staff_mean (his own figure's are masked out):
    # staff_n:<N> follows it.
    out["flags"] = pd.Series(
        [[lst[0], f"staff_n:{n}", *lst[1:]] if mean else lst for lst, n, mean in zip(
            _flag_lists(flags, out.index), out["n_staff"], replaced, strict=True)],
        index=out.index, dtype=object)

    out["satisfaction_points"] = out["value"] * scheme.satisfaction_weight / 100.0
    out["bonus_factor"] = bonus_factor(out["value"], k=scheme.bonus_k,
                                       target=scheme.bonus_target)
    out["rank_store"] = _rank(out["value"], out["store_id"])
    out["rank_region"] = _rank(out["value"], out["region_id"])
    return out.reset_index()


def _store_managers(out: pd.DataFrame) -> pd.Series:
    """Sets a store manager's value to the mean of his store's other staff less his own
    deductions (clipped); adds ``n_staff`` and ``manager_raw``. Returns where that applied."""
    is_manager = out["role"] == STORE_MANAGER_ROLE
    staff = out.loc[~is_manager & out["own_value"].notna()].groupby("store_id")["own_value"]
    staff_mean = pd.Series(out["store_id"].map(staff.mean()).to_numpy(), index=out.index,
                           dtype="float64")
    staff_n = pd.Series(out["store_id"].map(staff.count()).to_numpy(), index=out.index,
                        dtype="float64")
    replaced = is_manager & staff_mean.notna()
    out["manager_raw"] = (staff_mean - out["deductions"]).where(replaced)
    out["value"] = out["own_value"].where(~replaced, out["manager_raw"].clip(0.0, 100.0))
    out["n_staff"] = staff_n.where(replaced).fillna(0).astype("int64")
    return replaced


def _employee_part_sources(out: pd.DataFrame, data: EngineInput, figures: pd.DataFrame
                           ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Each part's 0–100 figure per employee (own) and per store (the fallback)."""
    emp_ind = _with_columns(data.survey_employees, EMPLOYEE_INDICATOR_COLUMNS)
    emp_ind = emp_ind.assign(employee_id=_ids(emp_ind["employee_id"]))
    store_ind = _with_columns(data.survey_indicators, STORE_INDICATOR_COLUMNS)
    keys = out.index.astype("float64")
    own = _part_pcts(emp_ind, "employee_id")
    store_parts = _part_pcts(store_ind.assign(store_id=_ids(store_ind["store_id"])), "store_id")
    out["n_responses"] = emp_ind.groupby("employee_id")["n"].max().reindex(keys).fillna(
        0).astype("int64").to_numpy()

    scored = figures.rename(columns={"purchase_pct": "pct"})
    scored = scored[scored["pct"].notna()]
    served = scored[scored["employee_id"].notna()]
    own_purchase = served.groupby("employee_id")["pct"].mean()
    own = own.reindex(own.index.union(own_purchase.index))
    own["purchase"] = own_purchase.reindex(own.index)
    store_purchase = scored.groupby("store_id")["pct"].mean()
    store_parts = store_parts.reindex(store_parts.index.union(store_purchase.index))
    store_parts["purchase"] = store_purchase.reindex(store_parts.index)
    out["n_visits"] = served.groupby("employee_id").size().reindex(keys).fillna(0).astype(
        "int64").to_numpy()
    return own, store_parts


def _employee_parts(out: pd.DataFrame, own: pd.DataFrame, store_parts: pd.DataFrame,
                    scheme: SchemeParams) -> tuple[dict[str, pd.Series], pd.Series, pd.Series]:
    """Adds each part's % and points; returns (flags, points earned, no-data mask)."""
    points = scheme.part_points()
    flags: dict[str, pd.Series] = {}
    earned = pd.Series(0.0, index=out.index)
    covered = pd.Series(0.0, index=out.index)
    anything = pd.Series(data=False, index=out.index)
    for part in EMPLOYEE_PARTS:
        mine = pd.Series(own[part].reindex(out.index.astype("float64")).to_numpy(),
                         index=out.index, dtype="float64")
        theirs = pd.Series(store_parts[part].reindex(out["store_id"].astype("float64"))
                           .to_numpy(), index=out.index, dtype="float64")
        anything |= mine.notna() | theirs.notna()
        if scheme.missing_part == FROM_STORE:
            use_store = mine.isna() & theirs.notna()
            pct = mine.where(~use_store, theirs)
            flags[f"{part}_from_store"] = use_store
            missing = pct.isna()
            counted = ~missing
        else:
            pct = mine
            missing = mine.isna()
            counted = pd.Series(data=True, index=out.index)
        flags[f"{part}_missing"] = missing
        out[f"{part}_pct"] = pct
        out[f"{part}_points"] = (pct * points[part] / 100.0).fillna(0.0)
        earned += out[f"{part}_points"]
        covered += points[part] * counted
    no_data = ~anything | (covered <= 0)
    if scheme.missing_component == RESCALE:
        scale = (sum(points.values()) / covered.where(covered > 0)).fillna(0.0)
        for part in EMPLOYEE_PARTS:
            out[f"{part}_points"] = out[f"{part}_points"] * scale
        earned = earned * scale
    return flags, earned, no_data


def _employee_deductions(out: pd.DataFrame, deductions: pd.DataFrame,
                         scheme: SchemeParams) -> None:
    keys = out.index.astype("float64")
    frame = pd.DataFrame({"employee_id": _ids(deductions["employee_id"]),
                          "points": grade_points(deductions, scheme.grade_points)})
    group = frame[frame["employee_id"].notna()].groupby("employee_id")["points"]
    out["deductions"] = group.sum().reindex(keys).fillna(0.0).to_numpy()
    out["n_complaints"] = group.size().reindex(keys).fillna(0).astype("int64").to_numpy()


def compute(data: EngineInput, scheme: SchemeParams) -> EngineResult:
    """Store values, then employee values (which fall back to their store's parts), and each
    visit's figures."""
    figures = visit_figures(data.visits, scheme)
    store_values = compute_stores(data, scheme, figures)
    employee_values = compute_employees(data, scheme, store_values, figures)
    return EngineResult(stores=store_values, employees=employee_values,
                        visits=figures.reset_index(drop=True))
