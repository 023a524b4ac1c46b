"""What drives satisfaction: pure computation, no ORM, no settings; tested without a database
(``tests/surveys/test_drivers.py``).

Input: one row per response of a campaign with an overall-satisfaction answer
(``Response.overall``) and its indicator ratings, all on the campaign's scale; optionally the
would-recommend answers (0–10). Output (:class:`Drivers`), per indicator:

- **importance**: the weight of the indicator in the least-squares regression of overall
  satisfaction on all the indicators (with an intercept): how many points of overall a point of
  the indicator is worth, the others held equal. With its standard error, its 95% interval
  (Student t on n − k − 1 degrees of freedom, through ``satisfaction.stats.t_half_width``) and
  n. Beside it, Pearson's correlation of the indicator with overall and its Fisher-z interval
  (``satisfaction.stats.correlation_with_interval``): the simple reading, which counts what the
  indicator shares with the others; the weight separates them.
- **performance**: the indicator's mean rating as a 0–100 score (``surveys.results.to_score``)
  over the same responses.
- **quadrant** of the importance–performance chart, split at the mean importance and the mean
  performance of the indicators (the data-centred split of importance–performance analysis:
  "high" and "low" are relative to the other indicators of the same scope, so every scope has
  something to fix first and the split needs no threshold chosen in advance).
- **Kano class** (``surveys.models.kano_class_of``) and the advice in words: basic attributes
  below par first (seed 003: while time, quality or price fall short, respect and care are
  hardly recognised), then the high-importance, low-performance ones.

Also the NPS from the would-recommend answers: promoters (9–10) minus detractors (0–6), as a
percentage of those who answered, with its 95% interval.

Below :func:`minimum_responses` the analysis refuses (``Drivers.enough`` false, no
indicators): a regression of 7 weights on a handful of answers reads noise as advice.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, pgettext

from satisfaction.stats import correlation_with_interval, t_half_width
from surveys.results import to_score

#: Responses with an overall answer needed before the weights are estimated. Green's rule of
#: thumb for a regression (N ≥ 50 + 8m, m predictors) gives 106 for the seven default
#: indicators (:func:`minimum_responses`); this floor keeps it at 100 or more for fewer. At
#: that n a weight's 95% interval is about ±0.15 rating points on typical answers (residual
#: sd ≈ 0.6, correlated indicators): wide enough to be honest, narrow enough to rank.
MIN_DRIVER_RESPONSES = 100
#: At most this many responses are read for one analysis (a deterministic sample by a hash of
#: the response id, ``surveys.selectors.campaign_drivers``): at 20,000 a weight's interval is
#: already about ±0.01, and the page stays fast at a million responses.
MAX_DRIVER_SAMPLE = 20_000
#: Would-recommend answers needed before an NPS is shown (its interval is then about ±30).
MIN_NPS_RESPONSES = 30

FIX_FIRST, KEEP_UP, LOW_PRIORITY, OVERKILL = ("fix_first", "keep_up", "low_priority",
                                              "possible_overkill")
QUADRANTS = (FIX_FIRST, KEEP_UP, LOW_PRIORITY, OVERKILL)
BASIC = "basic"  # surveys.models.KanoClass.BASIC (no model import in a pure module)

PROMOTER_FROM, DETRACTOR_UP_TO = 9, 6


def minimum_responses(indicator_count: int) -> int:
    """Responses with an overall answer the analysis needs for ``indicator_count`` indicators:
    Green's N ≥ 50 + 8m, at least :data:`MIN_DRIVER_RESPONSES`."""
    return max(MIN_DRIVER_RESPONSES, 50 + 8 * indicator_count)


def quadrant_labels() -> dict[str, str]:
    return {FIX_FIRST: _("Fix first"), KEEP_UP: _("Keep up the good work"),
            LOW_PRIORITY: _("Low priority"), OVERKILL: _("Possible overkill")}


@dataclass(frozen=True)
class DriverIndicator:
    """An indicator as the analysis needs it (``kano_class``: basic, performance, delight)."""

    code: str
    name: str
    kano_class: str


@dataclass(frozen=True)
class IndicatorDriver:
    code: str
    name: str
    kano_class: str
    n: int
    importance: float | None  # regression weight: overall points per indicator point
    importance_se: float | None
    importance_low: float | None
    importance_high: float | None
    correlation: float | None
    correlation_low: float | None
    correlation_high: float | None
    performance: float | None  # mean rating as 0–100
    quadrant: str | None
    basic_below_par: bool = False
    fix_first: bool = False


@dataclass(frozen=True)
class Nps:
    """Net promoter score: % promoters (9–10) − % detractors (0–6) of ``n`` answers."""

    score: float
    n: int
    promoters: int
    passives: int
    detractors: int
    low: float | None
    high: float | None


@dataclass(frozen=True)
class Drivers:
    """The analysis of one scope (chain, region or store) of a campaign.

    ``n``: responses used (an overall answer and every indicator rated); ``enough``: n reached
    ``minimum`` (otherwise ``indicators`` is empty and ``advice`` says why); ``read``: the
    responses read; ``sample_of``: the responses of the scope before the cap
    (``MAX_DRIVER_SAMPLE``), equal to ``read`` when nothing was left out.
    """

    n: int
    minimum: int
    enough: bool
    indicators: list[IndicatorDriver] = field(default_factory=list)
    advice: list[str] = field(default_factory=list)
    nps: Nps | None = None
    recommend_n: int = 0
    mean_importance: float | None = None
    mean_performance: float | None = None
    r_squared: float | None = None
    read: int = 0  # responses read: the scope's sample, with or without an overall answer
    sample_of: int = 0

    @property
    def sampled(self) -> bool:
        """Whether the cap left responses out (then ``read`` of ``sample_of`` were used)."""
        return self.sample_of > self.read


def _as_matrix(ratings, rows: int, columns: int) -> np.ndarray:
    matrix = np.array(ratings, dtype="float64") if rows else np.empty((0, columns))
    return matrix.reshape(rows, columns)


def _t_interval(estimates: np.ndarray, se: np.ndarray, df: int) -> np.ndarray:
    """Half-widths t(0.975, df) · se. ``t_half_width(n, sd)`` is t(0.975, n − 1) · sd / √n:
    with n = df + 1 and sd = se · √n it is exactly the coefficient's interval."""
    n = df + 1
    return np.asarray(t_half_width(np.full_like(estimates, n), se * math.sqrt(n)),
                      dtype="float64")


def _regression(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray,
                                                        float | None]:
    """Weights, standard errors and 95% half-widths of y on the columns of x (intercept
    added; NaN for a constant column, which carries no information), and R²."""
    n, k = x.shape
    weights = np.full(k, np.nan)
    se = np.full(k, np.nan)
    half = np.full(k, np.nan)
    varying = np.ptp(x, axis=0) > 0 if n else np.zeros(k, dtype=bool)
    used = np.flatnonzero(varying)
    design = np.column_stack([np.ones(n), x[:, used]])
    df = n - design.shape[1]
    if df < 1 or np.ptp(y) == 0:
        return weights, se, half, None
    beta, *_rest = np.linalg.lstsq(design, y, rcond=None)
    residuals = y - design @ beta
    rss = float(residuals @ residuals)
    covariance = (rss / df) * np.linalg.pinv(design.T @ design)
    errors = np.sqrt(np.clip(np.diag(covariance)[1:], 0.0, None))
    weights[used], se[used] = beta[1:], errors
    half[used] = _t_interval(beta[1:], errors, df)
    tss = float(((y - y.mean()) ** 2).sum())
    return weights, se, half, (1.0 - rss / tss) if tss else None


def _number(value: float) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


def net_promoter_score(recommend: Sequence[float | None]) -> Nps | None:
    """NPS of the 0–10 answers given (None without any): promoters 9–10, detractors 0–6, the
    95% interval from the sd of the per-answer +100 / 0 / −100."""
    values = np.array([np.nan if v is None else v for v in recommend], dtype="float64")
    values = values[np.isfinite(values)]
    n = int(values.size)
    if not n:
        return None
    promoters = int((values >= PROMOTER_FROM).sum())
    detractors = int((values <= DETRACTOR_UP_TO).sum())
    points = np.where(values >= PROMOTER_FROM, 100.0,
                      np.where(values <= DETRACTOR_UP_TO, -100.0, 0.0))
    score = float(points.mean())
    low = high = None
    if n >= 2:
        half = t_half_width(n, float(points.std(ddof=1)))
        if math.isfinite(half):
            low, high = max(-100.0, score - half), min(100.0, score + half)
    return Nps(score=score, n=n, promoters=promoters, passives=n - promoters - detractors,
               detractors=detractors, low=low, high=high)


def driver_analysis(*, indicators: Sequence[DriverIndicator], ratings, overall,
                    scale_max: int, recommend=None, sample_of: int | None = None,
                    minimum: int | None = None) -> Drivers:
    """The analysis of one scope.

    ``ratings``: one row per response, one column per indicator (in ``indicators``' order),
    on 1..``scale_max``, None/NaN where not rated; ``overall``: the response's overall
    satisfaction on the same scale (None/NaN: not answered); ``recommend``: its 0–10 answer
    (None/NaN: not answered), or None. Responses used: an overall answer and every indicator
    rated (the regression needs complete rows). ``minimum``: the responses needed, when not
    :func:`minimum_responses` (a hand-made example; the pages never lower it).
    """
    k = len(indicators)
    overall_values = np.array([np.nan if v is None else v for v in overall], dtype="float64")
    rows = overall_values.size
    matrix = _as_matrix(ratings, rows, k)
    complete = np.isfinite(overall_values) & np.isfinite(matrix).all(axis=1)
    x, y = matrix[complete], overall_values[complete]
    n = int(complete.sum())
    minimum = minimum_responses(k) if minimum is None else minimum
    recommend_list = list(recommend) if recommend is not None else []
    nps = net_promoter_score(recommend_list)
    recommend_n = nps.n if nps else 0
    if nps is not None and nps.n < MIN_NPS_RESPONSES:
        nps = None
    base = {"n": n, "minimum": minimum, "nps": nps, "recommend_n": recommend_n,
            "sample_of": sample_of if sample_of is not None else rows, "read": rows}
    if n < minimum or not k:
        return Drivers(enough=False, advice=[_(
            "Too few answers with overall satisfaction to say what drives it: %(n)s of the "
            "%(minimum)s needed.") % {"n": n, "minimum": minimum}], **base)
    weights, se, half, r_squared = _regression(x, y)
    performance = [to_score(float(x[:, j].mean()), scale_max) for j in range(k)]
    known = [j for j in range(k) if math.isfinite(weights[j])]
    mean_importance = float(np.mean([weights[j] for j in known])) if known else None
    mean_performance = float(np.mean(performance))
    rows_out = []
    for j, spec in enumerate(indicators):
        correlation = correlation_with_interval(x[:, j].tolist(), y.tolist())
        importance = _number(weights[j])
        quadrant = (None if importance is None
                    else _quadrant(importance >= mean_importance,
                                   performance[j] >= mean_performance))
        below_par = spec.kano_class == BASIC and performance[j] < mean_performance
        rows_out.append(IndicatorDriver(
            code=spec.code, name=spec.name, kano_class=spec.kano_class, n=n,
            importance=importance, importance_se=_number(se[j]),
            importance_low=None if importance is None else importance - float(half[j]),
            importance_high=None if importance is None else importance + float(half[j]),
            correlation=correlation.r, correlation_low=correlation.low,
            correlation_high=correlation.high, performance=performance[j], quadrant=quadrant,
            basic_below_par=below_par, fix_first=below_par or quadrant == FIX_FIRST))
    return Drivers(enough=True, indicators=rows_out,
                   advice=advice(rows_out, mean_performance=mean_performance),
                   mean_importance=mean_importance, mean_performance=mean_performance,
                   r_squared=r_squared, **base)


def _quadrant(important: bool, performing: bool) -> str:
    if important:
        return KEEP_UP if performing else FIX_FIRST
    return OVERKILL if performing else LOW_PRIORITY


def _names(items: Sequence[IndicatorDriver]) -> str:
    return pgettext("list separator", ", ").join(f"“{i.name}”" for i in items)


def advice(items: Sequence[IndicatorDriver], *, mean_performance: float) -> list[str]:
    """The advice in words, most urgent first: basic attributes below par (the lowest first),
    then the other high-importance, low-performance indicators (the most important first),
    then what to keep up and where more effort buys little."""
    sentences = []
    basics = sorted((i for i in items if i.basic_below_par), key=lambda i: i.performance)
    if basics:
        sentences.append(ngettext(
            "Fix the basics first: %(names)s is a basic need customers take for granted, and "
            "it scores below the average of the indicators (%(par)s). While a basic need "
            "falls short, warm service and care are hardly noticed.",
            "Fix the basics first: %(names)s are basic needs customers take for granted, and "
            "they score below the average of the indicators (%(par)s). While a basic need "
            "falls short, warm service and care are hardly noticed.", len(basics))
            % {"names": _names(basics), "par": f"{mean_performance:.0f}"})
    others = sorted((i for i in items if i.quadrant == FIX_FIRST and not i.basic_below_par),
                    key=lambda i: -(i.importance or 0.0))
    if others and basics:
        sentences.append(ngettext(
            "Then improve %(names)s: it moves overall satisfaction more than the other "
            "indicators and scores below average.",
            "Then improve %(names)s: they move overall satisfaction more than the other "
            "indicators and score below average.", len(others)) % {"names": _names(others)})
    elif others:
        sentences.append(ngettext(
            "Improve %(names)s first: it moves overall satisfaction more than the other "
            "indicators and scores below average.",
            "Improve %(names)s first: they move overall satisfaction more than the other "
            "indicators and score below average.", len(others)) % {"names": _names(others)})
    elif not basics:
        sentences.append(_("No indicator both matters more than average and scores below "
                           "average: keep the level."))
    keep = [i for i in items if i.quadrant == KEEP_UP]
    if keep:
        sentences.append(ngettext(
            "Keep up %(names)s: it matters much and scores well.",
            "Keep up %(names)s: they matter much and score well.", len(keep))
            % {"names": _names(keep)})
    overkill = [i for i in items if i.quadrant == OVERKILL]
    if overkill:
        sentences.append(ngettext(
            "%(names)s scores well but moves overall satisfaction little: more effort there "
            "buys little.",
            "%(names)s score well but move overall satisfaction little: more effort there "
            "buys little.", len(overkill)) % {"names": _names(overkill)})
    return sentences
