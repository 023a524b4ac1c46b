"""The chain's one confidence interval and its one rounding: pure statistics, no ORM, no
settings.

The 95% interval beside a survey figure is mean ± t(1 − α/2, n − 1) · sd / √n (Student's t, the
sample standard deviation of the per-response scores). The survey results pages
(``surveys.results``) and the store value (``scoring.engine``) both call :func:`t_half_width`,
so the two can never disagree on the interval of the same responses.
"""

from __future__ import annotations

import math
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


def rounded(value: float | None, decimals: int) -> float | None:
    """``value`` rounded half away from zero to ``decimals``, on its shortest decimal form
    (2.675 → 2.68, as Excel's ROUND and the templates' ``floatformat`` give, where Python's
    round() gives 2.67); None for none or a value that is not finite."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return None
    exact = Decimal(repr(float(value))).quantize(Decimal(1).scaleb(-decimals),
                                                 rounding=ROUND_HALF_UP)
    return float(exact)
