"""Pure computation of survey results: no ORM, no I/O; tested against hand-computed numbers.

Input is the per-store aggregate that ``surveys.selectors`` loads with one set-based query;
output is one :class:`StoreResult` per store with everything the results page shows.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from satisfaction.stats import mean_confidence_interval, sample_sd, scale_score

# Expectation and perception means closer than this (in rating points) count as "met":
# equal at one decimal place.
GAP_TOLERANCE = 0.05

EXCEEDED, MET, BELOW = "exceeded", "met", "below"


def to_score(mean_rating: float, scale_max: int) -> float:
    """A mean rating on a 1..scale_max scale mapped linearly to 0–100 (1 -> 0, top -> 100)."""
    return scale_score(mean_rating, scale_max=scale_max)


def gap_class(*, perception: float | None, expectation: float | None) -> str | None:
    """SERVQUAL: P − E > 0 exceeded, = 0 met, < 0 below (None without expectation)."""
    if perception is None or expectation is None:
        return None
    gap = perception - expectation
    if abs(gap) < GAP_TOLERANCE:
        return MET
    return EXCEEDED if gap > 0 else BELOW


def weighted_score(scores: dict[str, float | None], weights: dict[str, float]) -> float | None:
    """Σ w·score / Σ w over the indicators that have a score and a positive weight: the survey %
    of the store value (``scoring.engine``), with the scheme's weights."""
    total = weight_sum = 0.0
    for code, score in scores.items():
        weight = weights.get(code, 0.0)
        if score is None or weight <= 0:
            continue
        total += weight * score
        weight_sum += weight
    return total / weight_sum if weight_sum else None


@dataclass
class IndicatorResult:
    code: str
    name: str
    n: int
    mean_rating: float | None
    score: float | None
    bottom_n: int
    mean_expectation: float | None
    gap: float | None
    gap_class: str | None
    weight: float = 0.0


@dataclass
class StoreResult:
    store_id: int
    n: int
    target: int
    indicators: list[IndicatorResult] = field(default_factory=list)
    weighted_score: float | None = None
    sd: float | None = None
    ci: tuple[float, float] | None = None
    invitations: int = 0
    invited_responses: int = 0

    @property
    def below_target(self) -> bool:
        return self.n < self.target

    @property
    def response_rate(self) -> float | None:
        """Share of invitations answered, in percent (None without invitations)."""
        if not self.invitations:
            return None
        return self.invited_responses * 100.0 / self.invitations

    @property
    def ci_low(self) -> float | None:
        return self.ci[0] if self.ci else None

    @property
    def ci_high(self) -> float | None:
        return self.ci[1] if self.ci else None

    def indicator(self, code: str) -> IndicatorResult | None:
        return next((i for i in self.indicators if i.code == code), None)


@dataclass(frozen=True)
class IndicatorSpec:
    """An indicator as the results show it; ``weight`` is the scoring scheme's for its code
    (``surveys.weights``), 0 when the scheme does not weigh it."""

    code: str
    name: str
    weight: float


@dataclass
class StoreAggregate:
    """One store's sums as the selector loads them (per indicator keyed by code)."""

    store_id: int
    n: int
    indicator_n: dict[str, int]
    mean_rating: dict[str, float | None]
    bottom_n: dict[str, int]
    mean_expectation: dict[str, float | None]
    weighted_n: int
    weighted_total: float
    weighted_sum_squares: float
    invitations: int = 0
    invited_responses: int = 0


def store_result(*, aggregate: StoreAggregate, indicators: list[IndicatorSpec], scale_max: int,
                 target: int) -> StoreResult:
    """Everything the results page shows for one store and campaign."""
    rows = []
    scores: dict[str, float | None] = {}
    for spec in indicators:
        n = aggregate.indicator_n.get(spec.code, 0)
        mean = aggregate.mean_rating.get(spec.code) if n else None
        expectation = aggregate.mean_expectation.get(spec.code) if n else None
        score = to_score(mean, scale_max) if mean is not None else None
        scores[spec.code] = score
        gap = mean - expectation if mean is not None and expectation is not None else None
        rows.append(IndicatorResult(
            code=spec.code, name=spec.name, n=n, mean_rating=mean, score=score,
            bottom_n=aggregate.bottom_n.get(spec.code, 0), mean_expectation=expectation,
            gap=gap, gap_class=gap_class(perception=mean, expectation=expectation),
            weight=spec.weight))
    weighted = weighted_score(scores, {s.code: s.weight for s in indicators})
    sd = sample_sd(n=aggregate.weighted_n, total=aggregate.weighted_total,
                   sum_squares=aggregate.weighted_sum_squares)
    return StoreResult(
        store_id=aggregate.store_id, n=aggregate.n, target=target, indicators=rows,
        weighted_score=weighted, sd=sd,
        ci=mean_confidence_interval(mean=weighted, sd=sd, n=aggregate.weighted_n),
        invitations=aggregate.invitations, invited_responses=aggregate.invited_responses)


def empty_aggregate(store_id: int) -> StoreAggregate:
    return StoreAggregate(store_id=store_id, n=0, indicator_n={}, mean_rating={}, bottom_n={},
                          mean_expectation={}, weighted_n=0, weighted_total=0.0,
                          weighted_sum_squares=0.0)


# --- Signs of manufactured answers --------------------------------------------------------


@dataclass(frozen=True)
class AbuseThresholds:
    min_responses: int = 10          # below this a store is too small to judge
    top_share_margin: float = 0.30   # top-rating share this far above the region's
    top_share_floor: float = 0.80    # ... and at least this share of top ratings
    one_device_share: float = 0.30   # this share of a store's responses from one device
    cluster_share: float = 0.50      # this share of responses within one cluster window


@dataclass(frozen=True)
class StoreAbuseStats:
    store_id: int
    region_id: int
    responses: int
    public_responses: int
    ratings: int
    top_ratings: int
    max_one_device: int
    max_in_window: int


def manufactured_stores(stats: list[StoreAbuseStats], thresholds: AbuseThresholds | None = None
                        ) -> dict[int, list[dict]]:
    """Stores whose answers look manufactured, with the reasons as data for HQ.

    - far more top ratings than its region (the region's share over all its stores);
    - many answers from one device;
    - answers clustered within minutes of each other.
    """
    limits = thresholds or AbuseThresholds()
    region_top: dict[int, list[int]] = {}
    for row in stats:
        totals = region_top.setdefault(row.region_id, [0, 0])
        totals[0] += row.top_ratings
        totals[1] += row.ratings
    flagged: dict[int, list[dict]] = {}
    for row in stats:
        reasons = []
        if row.responses >= limits.min_responses and row.ratings:
            share = row.top_ratings / row.ratings
            top, count = region_top[row.region_id]
            # The rest of the region: the store is compared with its neighbours, not itself.
            others = count - row.ratings
            region_share = (top - row.top_ratings) / others if others else share
            if share >= limits.top_share_floor and share - region_share >= limits.top_share_margin:
                reasons.append({"kind": "top_ratings", "store_share": round(share, 3),
                                "region_share": round(region_share, 3)})
        public = row.public_responses
        if public < limits.min_responses:
            public = 0
        device_share = row.max_one_device / public if public else 0.0
        if public and device_share >= limits.one_device_share:
            reasons.append({"kind": "one_device", "share": round(device_share, 3),
                            "responses": row.max_one_device})
        window_share = row.max_in_window / public if public else 0.0
        if public and window_share >= limits.cluster_share:
            reasons.append({"kind": "clustered", "share": round(window_share, 3),
                            "responses": row.max_in_window})
        if reasons:
            flagged[row.store_id] = reasons
    return flagged


def max_in_window(timestamps: list[float], window_seconds: float) -> int:
    """The largest number of timestamps (seconds) falling within any window of that length."""
    ordered = sorted(timestamps)
    best = start = 0
    for end, moment in enumerate(ordered):
        while moment - ordered[start] > window_seconds:
            start += 1
        best = max(best, end - start + 1)
    return best
