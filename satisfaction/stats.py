"""The chain's one confidence interval and its one rounding: pure statistics, no ORM, no
settings.

The 95% interval beside a survey figure is mean ± t(1 − α/2, n − 1) · sd / √n (Student's t, the
sample standard deviation of the per-response scores). The survey results pages
(``surveys.results``) and the store value (``scoring.engine``) both call :func:`t_half_width`,
so the two can never disagree on the interval of the same responses.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pandas as pd

DEFAULT_LEVEL = 0.95


def t_half_width(n, sd, *, level: float = DEFAULT_LEVEL):
    """Half-width t(1 − α/2, n − 1) · sd / √n of the two-sided ``level`` interval of a mean.

    ``n`` and ``sd`` are numbers, or array-likes of equal length (one entry per store): the
    result is then a float, an array, or a Series on ``n``'s index when ``n`` is a Series.
    NaN where the interval is undefined: fewer than 2 values, or an unknown sd.
    """
    if not 0 < level < 1:
        raise ValueError("The confidence level lies between 0 and 1.")
    # Deferred and narrow: scipy.special loads in a fraction of scipy.stats' start-up second.
    from scipy.special import stdtrit

    counts = np.asarray(pd.to_numeric(n, errors="coerce"), dtype="float64")
    spreads = np.asarray(pd.to_numeric(sd, errors="coerce"), dtype="float64")
    valid = (counts >= 2) & np.isfinite(spreads)
    safe_n = np.where(valid, counts, 2.0)
    quantile = stdtrit(safe_n - 1, 0.5 + level / 2)
    half = np.where(valid, quantile * spreads / np.sqrt(safe_n), np.nan)
    if isinstance(n, pd.Series):
        return pd.Series(half, index=n.index, dtype="float64")
    if half.ndim == 0:
        return float(half)
    return half


def mean_confidence_interval(*, mean: float | None, sd: float | None, n: int,
                             level: float = DEFAULT_LEVEL) -> tuple[float, float] | None:
    """The ``level`` interval mean ± :func:`t_half_width`, clipped to the 0–100 score range;
    None when it is undefined (no mean, no sd, n < 2)."""
    if mean is None or sd is None:
        return None
    half = t_half_width(n, sd, level=level)
    if math.isnan(half):
        return None
    return max(0.0, mean - half), min(100.0, mean + half)


def scale_score(mean: float, *, scale_max: int, scale_min: int = 1) -> float:
    """A mean answer on a scale_min..scale_max rating scale mapped linearly to 0–100 (bottom
    -> 0, top -> 100): the survey indicators (``surveys.results.to_score``), the department
    ratings and the staff pulse all score their answers through here."""
    if scale_max - scale_min < 1:
        raise ValueError("A rating scale needs at least two points.")
    return (float(mean) - scale_min) * 100.0 / (scale_max - scale_min)


def sample_sd(*, n: int, total: float, sum_squares: float) -> float | None:
    """Sample standard deviation from n, Σx and Σx² (None when n < 2)."""
    if n < 2:
        return None
    variance = (sum_squares - total * total / n) / (n - 1)
    return math.sqrt(max(variance, 0.0))


def rounded(value: float | None, decimals: int) -> float | None:
    """``value`` rounded half away from zero to ``decimals``, on its shortest decimal form
    (2.675 → 2.68, as Excel's ROUND and the templates' ``floatformat`` give, where Python's
    round() gives 2.67); None for none or a value that is not finite."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return None
    exact = Decimal(repr(float(value))).quantize(Decimal(1).scaleb(-decimals),
                                                 rounding=ROUND_HALF_UP)
    return float(exact)


@dataclass(frozen=True)
class Correlation:
    """Pearson's r between two paired series, with its n and the ``level`` interval."""

    r: float | None
    n: int
    low: float | None
    high: float | None


def correlation_with_interval(xs: Sequence[float], ys: Sequence[float], *,
                              level: float = DEFAULT_LEVEL) -> Correlation:
    """Pearson's r of the pairs (x, y) where both are known, and its ``level`` interval by
    Fisher's z: tanh(atanh(r) ± z(1 − α/2) / √(n − 3)).

    r is None under 3 pairs or when either series is constant; the interval is None under 4
    pairs (√(n − 3) needs n > 3). The pulse-against-value page and the driver analysis both
    read correlations through here, so the two never disagree on an interval.
    """
    if not 0 < level < 1:
        raise ValueError("The confidence level lies between 0 and 1.")
    if len(xs) != len(ys):
        raise ValueError("Correlation needs paired series of equal length.")
    x = np.asarray(pd.to_numeric(pd.Series(list(xs), dtype="object"), errors="coerce"),
                   dtype="float64")
    y = np.asarray(pd.to_numeric(pd.Series(list(ys), dtype="object"), errors="coerce"),
                   dtype="float64")
    known = np.isfinite(x) & np.isfinite(y)
    x, y = x[known], y[known]
    n = int(known.sum())
    if n < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return Correlation(r=None, n=n, low=None, high=None)
    r = float(np.clip(np.corrcoef(x, y)[0, 1], -1.0, 1.0))
    if n < 4 or abs(r) == 1.0:
        edge = None if n < 4 else r
        return Correlation(r=r, n=n, low=edge, high=edge)
    from scipy.special import ndtri

    half = float(ndtri(0.5 + level / 2)) / math.sqrt(n - 3)
    z = math.atanh(r)
    return Correlation(r=r, n=n, low=math.tanh(z - half), high=math.tanh(z + half))
