"""Pure computation for mystery-shopper visits: scores and the quarter's plan. No ORM.

This module owns visit scoring (docs/architecture.md "one owner per rule"): the scoring engine
and the pages read a visit's figures through :func:`scenario_pct`, never their own copy.

- Visit score (``score_pct``) = points / points possible × 100 over every part, where
  not-applicable items leave the points possible (they neither score nor count).
- The purchase-evaluation (购药评定), process (问病卖药流程) and store-image (门店形象) parts are
  stored separately (points and maximum of each).
- The mystery-shopper score of seed 002 (神秘顾客分数 = 购药评定分 + 问病卖药流程分) =
  (purchase points + process points) / (purchase max + process max) × 100: the store-image
  items are reported beside it, not in it (:func:`scenario_pct`; the scoring scheme may count
  them in). It is also an employee's purchase-evaluation part, visit by visit.
- A failed red-line item fails the whole visit: its score, its mystery-shopper score and each
  part's points become the scorecard's red-line score (0 by default) whatever the points.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np

PARTS = ("purchase", "process", "image")


@dataclass(frozen=True, slots=True)
class ItemResult:
    """One answered item. ``value``: for a yes/no item 1 (yes) or 0 (no); else the points."""

    part: str
    max_points: float
    value: float | None  # None: not answered
    yes_no: bool = False
    not_applicable: bool = False
    is_red_line: bool = False

    @property
    def earned(self) -> float:
        if self.value is None:
            return 0.0
        return float(self.max_points) * (1.0 if self.value >= 1 else 0.0) if self.yes_no \
            else float(self.value)

    @property
    def fails_red_line(self) -> bool:
        """A red-line item fails when answered no (or below its maximum)."""
        if not self.is_red_line or self.not_applicable or self.value is None:
            return False
        return self.value < 1 if self.yes_no else self.value < float(self.max_points)


@dataclass(frozen=True, slots=True)
class VisitScore:
    points: float
    possible: float
    score_pct: float | None  # None when nothing was applicable
    part_points: dict[str, float]
    part_max: dict[str, float]
    red_line: bool

    def part_pct(self, part: str) -> float | None:
        maximum = self.part_max.get(part, 0.0)
        return None if maximum <= 0 else self.part_points[part] / maximum * 100

    @property
    def purchase_process_pct(self) -> float | None:
        """The mystery-shopper score of seed 002 (purchase evaluation + process, no image)."""
        return part_figures(self.part_points, self.part_max, red_line=self.red_line,
                            red_line_pct=self.score_pct).purchase_process_pct

    @property
    def image_pct(self) -> float | None:
        """The store-image %, reported beside the mystery-shopper score."""
        return part_figures(self.part_points, self.part_max, red_line=self.red_line,
                            red_line_pct=self.score_pct).image_pct


def visit_score(items: Iterable[ItemResult], *, red_line_score: float = 0.0) -> VisitScore:
    part_points = dict.fromkeys(PARTS, 0.0)
    part_max = dict.fromkeys(PARTS, 0.0)
    red_line = False
    for item in items:
        if item.not_applicable:
            continue
        part_points[item.part] = part_points.get(item.part, 0.0) + item.earned
        part_max[item.part] = part_max.get(item.part, 0.0) + float(item.max_points)
        red_line = red_line or item.fails_red_line
    possible = sum(part_max.values())
    points = sum(part_points.values())
    if red_line:
        fraction = float(red_line_score) / 100
        part_points = {part: maximum * fraction for part, maximum in part_max.items()}
        return VisitScore(possible * fraction, possible, float(red_line_score), part_points,
                          part_max, red_line=True)
    pct = None if possible <= 0 else points / possible * 100
    return VisitScore(points, possible, pct, part_points, part_max, red_line=False)


def scenario_pct(*, purchase_points: Any, purchase_max: Any, process_points: Any,
                 process_max: Any, image_points: Any = 0.0, image_max: Any = 0.0,
                 red_line: Any, red_line_pct: Any, count_image: bool = False) -> np.ndarray:
    """A visit's figure for the scenario survey, from its stored parts (the one implementation).

    (purchase points + process points) / (purchase max + process max) × 100 — seed 002's
    神秘顾客分数 = 购药评定分 + 问病卖药流程分 — or, with ``count_image``, the store-image points
    and maximum added to both sums. A red-line visit gives ``red_line_pct`` (the scorecard's
    red-line score, stored on the visit as its ``score_pct``) whatever its parts; a visit with no
    applicable item in the counted parts has no figure (NaN).

    Takes numbers or equal-length arrays / pandas Series (the scoring engine passes a quarter's
    visits at once) and returns a float array of the same shape (0-d for numbers).
    """
    def numbers(values: Any) -> np.ndarray:
        return np.asarray(values, dtype="float64")

    earned = numbers(purchase_points) + numbers(process_points)
    possible = numbers(purchase_max) + numbers(process_max)
    if count_image:
        earned = earned + numbers(image_points)
        possible = possible + numbers(image_max)
    pct = np.divide(earned * 100.0, possible, out=np.full(np.shape(possible), np.nan),
                    where=possible > 0)
    return np.where(np.asarray(red_line, dtype=bool), numbers(red_line_pct), pct)


def image_pct(image_points: Any, image_max: Any, *, red_line: Any,
              red_line_pct: Any) -> np.ndarray:
    """A visit's store-image % (sign, uniform, polite phrases), reported beside its
    mystery-shopper score: image points / image max × 100, the red-line score on a red-line
    visit, NaN without image items. Numbers or arrays, as :func:`scenario_pct`."""
    return scenario_pct(purchase_points=0.0, purchase_max=0.0, process_points=0.0,
                        process_max=0.0, image_points=image_points, image_max=image_max,
                        red_line=red_line, red_line_pct=red_line_pct, count_image=True)


def as_number(value: np.ndarray) -> float | None:
    """A 0-d result of :func:`scenario_pct` as a number, None for NaN (no figure)."""
    number = float(value)
    return None if np.isnan(number) else number


@dataclass(frozen=True, slots=True)
class PartFigures:
    purchase_process_pct: float | None  # seed 002's mystery-shopper score
    image_pct: float | None  # the store-image %, reported beside it


def part_figures(part_points: Mapping[str, Any], part_max: Mapping[str, Any], *,
                 red_line: Any, red_line_pct: Any) -> PartFigures:
    """One visit's reported figures from its parts' points and maxima (keyed by ``PARTS``):
    :func:`scenario_pct` and :func:`image_pct` as numbers (None: no figure). What a scored
    visit (``models.Visit``) and a score being computed (:class:`VisitScore`) both show."""
    return PartFigures(
        purchase_process_pct=as_number(scenario_pct(
            purchase_points=part_points["purchase"], purchase_max=part_max["purchase"],
            process_points=part_points["process"], process_max=part_max["process"],
            red_line=red_line, red_line_pct=red_line_pct)),
        image_pct=as_number(image_pct(part_points["image"], part_max["image"],
                                      red_line=red_line, red_line_pct=red_line_pct)))


# --- Planning ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PlanStore:
    store_id: int
    city: str
    visits_needed: int
    last_shopper_id: int | None = None  # who made the store's latest visit before this plan
    existing_dates: tuple[date, ...] = ()


@dataclass(frozen=True, slots=True)
class PlannedVisit:
    store_id: int
    shopper_id: int | None  # None: no shopper can take it without breaking a rule
    due_on: date


@dataclass
class Plan:
    visits: list[PlannedVisit] = field(default_factory=list)

    @property
    def unassigned(self) -> list[PlannedVisit]:
        return [v for v in self.visits if v.shopper_id is None]

    def load(self) -> Counter:
        return Counter(v.shopper_id for v in self.visits if v.shopper_id is not None)


def spread_dates(first_day: date, last_day: date, count: int, offset: int = 0) -> list[date]:
    """``count`` due dates spread evenly over the quarter: the middle of each equal slice.

    ``offset`` (days) staggers stores so they are not all visited on the same day.
    """
    days = (last_day - first_day).days + 1
    if count <= 0:
        return []
    slice_len = days / count
    result = []
    for k in range(count):
        start = k * slice_len
        day = int(start + (offset % max(1, int(slice_len))))
        result.append(first_day + timedelta(days=min(days - 1, day)))
    return result


def plan_visits(*, stores: Sequence[PlanStore], shopper_cities: dict[int, set[str]],
                first_day: date, last_day: date,
                existing_load: dict[int, int] | None = None) -> Plan:
    """Assign each store's needed visits to shoppers.

    Rules: visits spread over the quarter; a shopper only in their own cities; never the same
    shopper at the same store twice in a row; shoppers' loads kept balanced (the least loaded
    eligible shopper takes the next visit, ties to the lower id). A visit no shopper may take
    stays unassigned for HQ to resolve.
    """
    load: Counter = Counter(existing_load or {})
    for shopper_id in shopper_cities:
        load.setdefault(shopper_id, 0)
    by_city: dict[str, list[int]] = defaultdict(list)
    for shopper_id, cities in sorted(shopper_cities.items()):
        for city in cities:
            by_city[city].append(shopper_id)
    slots: list[tuple[date, int, PlanStore]] = []
    for index, store in enumerate(stores):
        dates = spread_dates(first_day, last_day, store.visits_needed, offset=index * 3)
        slots.extend((day, store.store_id, store) for day in dates)
    slots.sort(key=lambda slot: (slot[0], slot[1]))
    previous: dict[int, int | None] = {s.store_id: s.last_shopper_id for s in stores}
    plan = Plan()
    for day, store_id, store in slots:
        candidates = [s for s in by_city.get(store.city, []) if s != previous[store_id]]
        if not candidates:
            plan.visits.append(PlannedVisit(store_id, None, day))
            continue
        chosen = min(candidates, key=lambda s: (load[s], s))
        load[chosen] += 1
        previous[store_id] = chosen
        plan.visits.append(PlannedVisit(store_id, chosen, day))
    return plan
