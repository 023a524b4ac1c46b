"""Early warning, the arithmetic: which (store or region, category) pairs have a spike.

Pure functions (no ORM, no settings) so they are tested without a database; the daily sweep
(``complaints.services.spikes``) feeds them the counts and writes the results.

The rule, for each key (a store or a region) and category:

- ``count`` is its complaints in the 7-day window, ``baseline`` its complaints in the 8 weeks
  (56 days) before the window; the baseline rate is ``λ = baseline / 8`` per week;
- the Poisson upper bound is the smallest ``k`` with ``P(X ≥ k | λ) ≤ α`` (``α = 0.001``): a
  week that busy happens by chance at most once in a thousand weeks;
- the alert threshold is ``max(k, MIN_COUNT)`` (``MIN_COUNT = 3``): with a zero or tiny
  baseline the Poisson bound is 1 or 2, and one or two complaints are not a wave;
- it is a spike when ``count ≥ threshold``;
- a region's spike must stand beyond its stores' own spikes: the complaints of its stores that
  have a spike in that category themselves (already alerted) are left out of the comparison,
  so one store's wave is that store's spike and not its region's too.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

import numpy as np
from scipy.stats import poisson

ALPHA = 0.001
MIN_COUNT = 3
WINDOW_DAYS = 7
BASELINE_WEEKS = 8
BASELINE_DAYS = BASELINE_WEEKS * 7

K = TypeVar("K", bound=Hashable)
P = TypeVar("P", bound=Hashable)


@dataclass(frozen=True)
class Spike(Generic[K]):
    """One (key, category) above its threshold."""

    key: K
    category: str
    count: int
    baseline_per_week: float
    threshold: int


def poisson_upper_bounds(rates: np.ndarray, *, alpha: float = ALPHA) -> np.ndarray:
    """Per rate ``λ`` (per week): the smallest integer ``k ≥ 1`` with ``P(X ≥ k | λ) ≤ α``.

    ``poisson.isf(α)`` is the smallest ``j`` with ``P(X > j) ≤ α``, so ``k = j + 1``; one step
    each way corrects a floating-point miss of the numeric inversion. Computed once per distinct
    rate (a chain has few distinct baselines)."""
    if not 0 < alpha < 1:
        raise ValueError("alpha must be between 0 and 1")
    rates = np.asarray(rates, dtype=float)
    if rates.size == 0:
        return np.zeros(0, dtype=np.int64)
    if np.any(rates < 0) or not np.all(np.isfinite(rates)):
        raise ValueError("rates must be finite and not negative")
    unique, inverse = np.unique(rates, return_inverse=True)
    k = poisson.isf(alpha, unique).astype(np.int64) + 1
    k = np.where(poisson.sf(k - 1, unique) > alpha, k + 1, k)        # P(X ≥ k) still above α
    k = np.where((k > 1) & (poisson.sf(k - 2, unique) <= alpha), k - 1, k)  # k - 1 suffices
    return np.maximum(k, 1)[inverse.reshape(rates.shape)]


def alert_thresholds(baseline_counts: np.ndarray, *, weeks: int = BASELINE_WEEKS,
                     alpha: float = ALPHA, min_count: int = MIN_COUNT) -> np.ndarray:
    """The alert threshold per baseline count: ``max(Poisson bound of count/weeks, min_count)``."""
    rates = np.asarray(baseline_counts, dtype=float) / weeks
    return np.maximum(poisson_upper_bounds(rates, alpha=alpha), min_count)


def detect_spikes(window: Mapping[tuple[K, str], int], baseline: Mapping[tuple[K, str], int],
                  *, explained: Mapping[tuple[K, str], int] | None = None,
                  weeks: int = BASELINE_WEEKS, alpha: float = ALPHA,
                  min_count: int = MIN_COUNT) -> list[Spike[K]]:
    """The (key, category) pairs of ``window`` whose count reaches its threshold (module rule).

    ``window`` and ``baseline`` map (key, category) to a count; a pair missing from
    ``baseline`` has a zero baseline. ``explained`` (optional) is the part of a pair's window
    count already alerted elsewhere (a region's stores' own spikes): the rest must reach the
    threshold. Only pairs with at least ``min_count`` complaints in the window can be spikes,
    so only those are looked at (vectorised); the result is sorted by key and category."""
    explained = explained or {}
    pairs = [pair for pair, count in window.items()
             if count - explained.get(pair, 0) >= min_count]
    if not pairs:
        return []
    counts = np.fromiter((window[p] for p in pairs), dtype=np.int64, count=len(pairs))
    base = np.fromiter((baseline.get(p, 0) for p in pairs), dtype=np.int64, count=len(pairs))
    known = np.fromiter((explained.get(p, 0) for p in pairs), dtype=np.int64, count=len(pairs))
    thresholds = alert_thresholds(base, weeks=weeks, alpha=alpha, min_count=min_count)
    hits = np.flatnonzero(counts - known >= thresholds)
    spikes = [Spike(key=pairs[i][0], category=pairs[i][1], count=int(counts[i]),
                    baseline_per_week=round(float(base[i]) / weeks, 3),
                    threshold=int(thresholds[i])) for i in hits]
    return sorted(spikes, key=lambda s: (str(s.key), s.category))


def roll_up(counts: Mapping[tuple[K, str], int], parent: Mapping[K, P | None]
            ) -> dict[tuple[P, str], int]:
    """Counts per (key, category) summed per (parent of key, category), e.g. stores into their
    regions. Keys without a parent are left out."""
    totals: dict[tuple[P, str], int] = defaultdict(int)
    for (key, category), count in counts.items():
        group = parent.get(key)
        if group is not None:
            totals[(group, category)] += count
    return dict(totals)
