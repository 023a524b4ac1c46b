"""The pulse's figures: pure computation, no ORM (tested without a database).

The one rule of what may be shown: a group (a store, a region) shows its pulse only with at
least ``MIN_GROUP`` answers in an ended quarter. Under that, or while the quarter runs, the
group's figure is hidden whole: no mean, no statement, no count (``GroupPulse.hidden``).
The selectors apply it to every read, so no page, chart or table can show less.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from pulse.statements import CODES, SCALE_MAX, SCALE_MIN
from satisfaction.stats import scale_score

#: The smallest group whose pulse is shown (store or region). The one place it is set.
MIN_GROUP = 5

HIDDEN_SMALL = "small"  # fewer than MIN_GROUP answers
HIDDEN_RUNNING = "running"  # the quarter has not ended: answers are still coming in


def to_score(mean: float) -> float:
    """A mean agreement on the 1–5 scale as 0–100 (1 → 0, 5 → 100), as every rating scale
    is scored (``satisfaction.stats.scale_score``)."""
    return scale_score(mean, scale_min=SCALE_MIN, scale_max=SCALE_MAX)


def group_shown(n: int) -> bool:
    return n >= MIN_GROUP


@dataclass(frozen=True)
class GroupPulse:
    """A group's pulse as it may be shown. ``hidden`` is why not (``HIDDEN_SMALL`` /
    ``HIDDEN_RUNNING``); a hidden figure carries nothing else, not even its count."""

    n: int | None = None
    score: float | None = None
    statements: dict[str, float] = field(default_factory=dict)
    hidden: str = ""

    @property
    def shown(self) -> bool:
        return not self.hidden


def group_pulse(*, n: int, sums: Mapping[str, int | None], ended: bool) -> GroupPulse:
    """The figure of a group with ``n`` answers whose answers to each statement add up to
    ``sums[code]``: each statement's mean as 0–100 and the overall score (the mean of the five,
    every answer answering all five), or a hidden figure."""
    if not ended:
        return GroupPulse(hidden=HIDDEN_RUNNING)
    if not group_shown(n):
        return GroupPulse(hidden=HIDDEN_SMALL)
    statements = {code: to_score((sums[code] or 0) / n) for code in CODES}
    return GroupPulse(n=n, score=sum(statements.values()) / len(statements),
                      statements=statements)


def correlation_strength(r: float | None, low: float | None, high: float | None) -> str:
    """How the page puts a correlation in words: ``none`` (no r), ``unclear`` (the interval
    is unknown or includes 0), else ``positive`` / ``negative``."""
    if r is None:
        return "none"
    if low is None or high is None or low <= 0 <= high:
        return "unclear"
    return "positive" if r > 0 else "negative"
