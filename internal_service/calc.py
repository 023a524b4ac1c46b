"""The internal satisfaction figures as plain functions: no ORM, tested without a database."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from satisfaction import stats
from satisfaction.stats import mean_confidence_interval, rounded

SCALE_MIN, SCALE_MAX = 1, 5
ITEM_COUNT = 4


def rating_score(answers: Sequence[int]) -> float:
    """A rating's 0–100 score: the mean of its answers mapped linearly (1 → 0, 5 → 100), as a
    survey rating is (``satisfaction.stats.scale_score``)."""
    if not answers:
        raise ValueError("A rating has answers.")
    return stats.scale_score(sum(answers) / len(answers), scale_min=SCALE_MIN,
                             scale_max=SCALE_MAX)


#: The same score from the sum of a rating's ``ITEM_COUNT`` answers, score = (sum − SUM_OFFSET)
#: × SUM_FACTOR: what the selectors compute in the database.
SUM_OFFSET = float(ITEM_COUNT * SCALE_MIN)
SUM_FACTOR = 100.0 / (ITEM_COUNT * (SCALE_MAX - SCALE_MIN))


def sample_sd(*, n: int, mean: float | None, mean_sq: float | None) -> float | None:
    """The sample standard deviation of ``n`` values from their mean and the mean of their
    squares (the database's ``AVG`` of each; ``satisfaction.stats.sample_sd`` on n·mean and
    n·mean_sq); None below two values."""
    if mean is None or mean_sq is None:
        return None
    return stats.sample_sd(n=n, total=mean * n, sum_squares=mean_sq * n)


@dataclass(frozen=True)
class Satisfaction:
    """A department's internal satisfaction in one group (a region, or the chain): how many
    ratings, their mean 0–100 score and its 95% interval (``satisfaction.stats``; None below
    two ratings)."""

    n: int
    mean: float | None
    low: float | None
    high: float | None

    @property
    def interval(self) -> str:
        return "" if self.low is None else f"{self.low:.1f}–{self.high:.1f}"


def satisfaction(*, n: int, mean: float | None, sd: float | None) -> Satisfaction:
    """The figure shown for ``n`` ratings of ``mean`` and sample standard deviation ``sd``."""
    if not n or mean is None:
        return Satisfaction(0, None, None, None)
    interval = mean_confidence_interval(mean=mean, sd=sd, n=n)
    low, high = interval if interval is not None else (None, None)
    return Satisfaction(n, rounded(mean, 1), rounded(low, 1), rounded(high, 1))
