"""Pure computations of the dashboards (no ORM): tested without a database."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from satisfaction.quarters import Quarter
from satisfaction.stats import rounded

UNCHANGED_BAND = 1.0  # points on the 0–100 scale: a smaller change counts as unchanged
BUCKET_WIDTH = 10
BUCKETS = 100 // BUCKET_WIDTH


def per_thousand(count: int, receipts: int | None) -> float | None:
    """Complaints per 1,000 receipts, None without receipts (no POS data is not zero)."""
    if not receipts:
        return None
    return round(1000 * count / receipts, 3)


def action_review_quarter(planned: Quarter) -> Quarter:
    """An action planned in one quarter is checked against its indicator in the next."""
    return planned.next()


def action_outcome(*, baseline: float | None, after: float | None) -> str:
    if baseline is None or after is None:
        return "no_data"
    change = after - baseline
    if change >= UNCHANGED_BAND:
        return "improved"
    if change <= -UNCHANGED_BAND:
        return "worse"
    return "unchanged"


def change(value: float | None, baseline: float | None) -> float | None:
    """A value's change against a baseline as the page shows both (one decimal each, half up
    as ``floatformat:1``), so that the change shown is the difference of the numbers shown.
    None without either."""
    if value is None or baseline is None:
        return None
    return round(rounded(value, 1) - rounded(baseline, 1), 1)


def direction(change: float | None) -> str:
    """``up``, ``down``, ``same`` (a change under 0.05 shows as 0.0) or ``none``."""
    if change is None:
        return "none"
    if abs(change) < 0.05:
        return "same"
    return "up" if change > 0 else "down"


def urgency(left_seconds: float | None) -> float:
    """The sort key of an open complaint by urgency: its SLA clock's signed time left (most
    overdue first, then the least time left); without a clock, last."""
    return float("inf") if left_seconds is None else left_seconds


def histogram(counts: Mapping[int, int]) -> list[tuple[str, int]]:
    """Bucket index -> count, as ``[("0–10", n), ..., ("90–100", n)]`` with empty buckets."""
    labels = []
    for index in range(BUCKETS):
        low = index * BUCKET_WIDTH
        labels.append((f"{low}–{low + BUCKET_WIDTH}", int(counts.get(index, 0))))
    return labels


def region_means(rows: Iterable[tuple[int, Mapping[str, list]]]) -> dict[int, dict[str, float]]:
    """Per region, the mean over its stores of each indicator's 0–100 mean.

    ``rows`` are ``(region_id, indicators)`` with the scoring snapshot's
    ``{code: [n, mean]}``; a store without data for an indicator does not count for it.
    """
    sums: dict[int, dict[str, list[float]]] = {}
    for region_id, indicators in rows:
        per = sums.setdefault(region_id, {})
        for code, value in (indicators or {}).items():
            mean = _mean_of(value)
            if mean is None:
                continue
            acc = per.setdefault(code, [0.0, 0])
            acc[0] += mean
            acc[1] += 1
    return {region: {code: total / count for code, (total, count) in per.items()}
            for region, per in sums.items()}


def _mean_of(value) -> float | None:
    if isinstance(value, list | tuple) and len(value) >= 2:
        n, mean = value[0], value[1]
        return None if not n or mean is None else float(mean)
    if isinstance(value, int | float):
        return float(value)
    return None


def indicator_means(indicators: Mapping[str, list] | None) -> dict[str, float]:
    """The store's ``{code: mean}`` from the snapshot's ``{code: [n, mean]}``."""
    out = {}
    for code, value in (indicators or {}).items():
        mean = _mean_of(value)
        if mean is not None:
            out[code] = mean
    return out


def weakest(means: Mapping[str, float], region: Mapping[str, float], *, count: int = 3
            ) -> list[str]:
    """The indicators to call out: lowest value first, those under the region's mean first."""
    def key(code: str) -> tuple[bool, float]:
        below = code in region and means[code] < region[code]
        return (not below, means[code])
    return sorted(means, key=key)[:count]
