"""Pure computation for mystery-shopper visits: scores, means and the quarter's plan. No ORM.

Visit score = points / points possible × 100, where not-applicable items leave the points
possible (they neither score nor count). The purchase-evaluation, process and store-image parts
are reported separately. A failed red-line item fails the whole visit: its score (and each
part's points) becomes the scorecard's red-line score (0 by default) whatever the points.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

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


def mean_score(scores: Iterable[float | None]) -> float | None:
    """Mean of the visits' percentages (a store's or an employee's quarter); None if none."""
    values = [s for s in scores if s is not None]
    return sum(values) / len(values) if values else None


def purchase_process_pct(visits: Iterable[tuple[float, float, float, float]]) -> float | None:
    """An employee's purchase evaluation: mean over visits of (purchase + process) / their max.

    Each tuple is (purchase_points, purchase_max, process_points, process_max).
    """
    return mean_score(
        (pp + rp) / (pm + rm) * 100 if pm + rm > 0 else None for pp, pm, rp, rm in visits)


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
