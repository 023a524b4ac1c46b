"""What drives satisfaction (``surveys.drivers``): pure, against hand-computed numbers and a
synthetic data set made from known weights (no database)."""

import math
import statistics

import numpy as np
import pytest
from django.utils import translation

from surveys.drivers import (
    FIX_FIRST,
    KEEP_UP,
    LOW_PRIORITY,
    MIN_DRIVER_RESPONSES,
    MIN_NPS_RESPONSES,
    OVERKILL,
    DriverIndicator,
    driver_analysis,
    minimum_responses,
    net_promoter_score,
)


@pytest.fixture(autouse=True)
def default_indicators():
    """No database here (the package's conftest loads the indicators into one)."""


@pytest.fixture(autouse=True)
def _in_english():
    with translation.override("en"):
        yield


# t(0.975, 3) and t(0.975, 8), from a table.
T_975_3, T_975_8 = 3.182446305284263, 2.306004135033371


def _indicators(*kano_classes: str) -> list[DriverIndicator]:
    return [DriverIndicator(code=f"i{n}", name=f"Indicator {n}", kano_class=kano)
            for n, kano in enumerate(kano_classes)]


def test_a_hand_made_example_gives_the_weight_interval_and_correlation_computed_by_hand():
    # One indicator x, overall y. By hand: mean x = mean y = 3, Sxx = Syy = 10, Sxy = 8:
    # weight 0.8, r = 0.8; residuals 0.6 −1.2 1.0 −0.8 0.4, RSS 3.6, σ² = 3.6 / 3 = 1.2,
    # se = √(1.2 / 10); the interval ± t(0.975, 3) · se. Performance: mean 3 on 1–5 → 50.
    result = driver_analysis(indicators=_indicators("basic"), ratings=[[1], [2], [3], [4], [5]],
                             overall=[2, 1, 4, 3, 5], scale_max=5, minimum=5)
    [item] = result.indicators
    se = math.sqrt(1.2 / 10)
    assert result.enough
    assert result.n == item.n == 5
    assert item.importance == pytest.approx(0.8)
    assert item.importance_se == pytest.approx(se)
    assert item.importance_low == pytest.approx(0.8 - T_975_3 * se)
    assert item.importance_high == pytest.approx(0.8 + T_975_3 * se)
    assert item.correlation == pytest.approx(0.8)
    # Fisher z: tanh(atanh(0.8) ± 1.959964 / √2)
    assert item.correlation_low == pytest.approx(math.tanh(math.atanh(0.8) - 1.959964 / 2 ** .5),
                                                 abs=1e-6)
    assert item.performance == pytest.approx(50.0)
    assert result.r_squared == pytest.approx(0.64)  # 1 − 3.6 / 10


def test_an_exact_linear_overall_gives_back_its_weights():
    # overall = 1 + 0.5·a + 0.25·b exactly: the weights are 0.5 and 0.25 with no uncertainty.
    ratings = [[1, 2], [2, 5], [3, 1], [4, 4], [5, 3], [2, 2], [4, 1]]
    overall = [1 + 0.5 * a + 0.25 * b for a, b in ratings]
    result = driver_analysis(indicators=_indicators("basic", "delight"), ratings=ratings,
                             overall=overall, scale_max=5, minimum=7)
    weights = [i.importance for i in result.indicators]
    assert weights == pytest.approx([0.5, 0.25])
    assert [i.importance_se for i in result.indicators] == pytest.approx([0.0, 0.0], abs=1e-9)


def _synthetic(seed: int, n: int, weights: np.ndarray, means: np.ndarray | None = None,
               noise: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """Ratings that share a customer's mood (correlated, as real answers are) and an overall
    made from the known weights plus noise."""
    rng = np.random.default_rng(seed)
    k = weights.size
    means = np.full(k, 3.8) if means is None else means
    mood = rng.normal(0.0, 0.5, (n, 1))
    ratings = means + mood + rng.normal(0.0, 0.7, (n, k))
    overall = 0.4 + ratings @ weights + rng.normal(0.0, noise, n)
    return ratings, overall


KNOWN_WEIGHTS = np.array([0.30, 0.22, 0.16, 0.12, 0.08, 0.05, 0.0])


def test_the_estimated_weights_recover_the_known_weights_within_their_95_percent_interval():
    ratings, overall = _synthetic(seed=2026, n=4000, weights=KNOWN_WEIGHTS)
    result = driver_analysis(indicators=_indicators(*["basic"] * 7), ratings=ratings,
                             overall=overall, scale_max=5)
    assert result.enough
    assert result.n == 4000
    for item, known in zip(result.indicators, KNOWN_WEIGHTS, strict=True):
        assert item.importance_low <= known <= item.importance_high, (item.code, known)
        assert item.importance_high - item.importance_low < 0.05  # and the band is narrow
    # The ranking of the weights is the known one.
    ranked = [i.code for i in sorted(result.indicators, key=lambda i: -i.importance)]
    assert ranked == [f"i{n}" for n in range(7)]


def test_the_weight_intervals_cover_the_known_weights_about_95_times_in_100():
    covered = total = 0
    for seed in range(120):
        ratings, overall = _synthetic(seed=seed, n=150, weights=KNOWN_WEIGHTS, noise=0.8)
        result = driver_analysis(indicators=_indicators(*["delight"] * 7), ratings=ratings,
                                 overall=overall, scale_max=5)
        for item, known in zip(result.indicators, KNOWN_WEIGHTS, strict=True):
            covered += item.importance_low <= known <= item.importance_high
            total += 1
    assert 0.92 <= covered / total <= 0.98


def test_the_quadrants_and_the_advice_put_basics_below_par_first():
    # Performance (mean rating → 0–100): 37.5, 40, 80, 82.5, 45 → mean 57;
    # weights 0.40, 0.35, 0.30, 0.02, 0.03 → mean 0.22.
    means = np.array([2.5, 2.6, 4.2, 4.3, 2.8])
    weights = np.array([0.40, 0.35, 0.30, 0.02, 0.03])
    rng = np.random.default_rng(11)
    ratings = means + rng.normal(0.0, 0.6, (3000, 5))
    overall = 0.5 + ratings @ weights + rng.normal(0.0, 0.2, 3000)
    indicators = [DriverIndicator("a", "Waiting time", "basic"),
                  DriverIndicator("b", "Recommendations", "delight"),
                  DriverIndicator("c", "Quality", "basic"),
                  DriverIndicator("d", "Environment", "delight"),
                  DriverIndicator("e", "Price", "basic")]
    result = driver_analysis(indicators=indicators, ratings=ratings, overall=overall,
                             scale_max=5)
    by_code = {i.code: i for i in result.indicators}
    assert {code: i.quadrant for code, i in by_code.items()} == {
        "a": FIX_FIRST, "b": FIX_FIRST, "c": KEEP_UP, "d": OVERKILL, "e": LOW_PRIORITY}
    assert {code for code, i in by_code.items() if i.basic_below_par} == {"a", "e"}
    # A basic need below par is fixed first even where it moves overall little (seed 003).
    assert {code for code, i in by_code.items() if i.fix_first} == {"a", "b", "e"}
    assert result.mean_performance == pytest.approx(57.0, abs=1.0)
    first, then, keep, overkill = result.advice
    assert first.startswith("Fix the basics first: “Waiting time”, “Price” are basic needs")
    assert then.startswith("Then improve “Recommendations”: it moves overall satisfaction")
    assert keep == "Keep up “Quality”: it matters much and scores well."
    assert overkill.startswith("“Environment” scores well but moves overall satisfaction")


def test_without_anything_to_fix_the_advice_says_keep_the_level():
    # Two indicators: the more important one also performs better.
    means, weights = np.array([4.5, 3.0]), np.array([0.6, 0.1])
    rng = np.random.default_rng(5)
    ratings = means + rng.normal(0.0, 0.5, (500, 2))
    overall = ratings @ weights + rng.normal(0.0, 0.2, 500)
    result = driver_analysis(indicators=_indicators("delight", "delight"), ratings=ratings,
                             overall=overall, scale_max=5)
    assert [i.quadrant for i in result.indicators] == [KEEP_UP, LOW_PRIORITY]
    assert result.advice[0].startswith("No indicator both matters more than average")


def test_below_the_minimum_it_refuses_and_says_how_many_answers_it_has():
    assert minimum_responses(7) == 106  # Green: 50 + 8 · 7
    assert minimum_responses(2) == MIN_DRIVER_RESPONSES
    ratings, overall = _synthetic(seed=1, n=106, weights=KNOWN_WEIGHTS)
    short = driver_analysis(indicators=_indicators(*["basic"] * 7), ratings=ratings[:105],
                            overall=overall[:105], scale_max=5)
    assert not short.enough
    assert short.indicators == []
    assert short.n == 105
    assert short.advice == [("Too few answers with overall satisfaction to say what drives it: "
                            "105 of the 106 needed.")]
    enough = driver_analysis(indicators=_indicators(*["basic"] * 7), ratings=ratings,
                             overall=overall, scale_max=5)
    assert enough.enough
    assert len(enough.indicators) == 7


def test_only_responses_with_overall_and_every_rating_are_used():
    ratings = [[1, 2], [2, None], [3, 1], [4, 4], [5, 3], [2, 2], [4, 1], [3, 3]]
    overall = [2.5, 3.0, 2.75, 4.0, 4.25, 2.5, 3.25, None]
    result = driver_analysis(indicators=_indicators("basic", "basic"), ratings=ratings,
                             overall=overall, scale_max=5, minimum=6)
    assert result.n == 6
    assert result.read == 8
    # Performance over the six used rows: mean of 1 3 4 5 2 4 = 19/6 on 1–5.
    assert result.indicators[0].performance == pytest.approx((19 / 6 - 1) * 25)


def test_an_indicator_everyone_rated_the_same_has_no_weight_and_no_quadrant():
    ratings, overall = _synthetic(seed=3, n=300, weights=np.array([0.5, 0.3, 0.0]))
    ratings[:, 2] = 4.0
    result = driver_analysis(indicators=_indicators("basic", "basic", "delight"),
                             ratings=ratings, overall=overall, scale_max=5)
    constant = result.indicators[2]
    assert constant.importance is None
    assert constant.quadrant is None
    assert constant.correlation is None
    assert constant.performance == pytest.approx(75.0)
    assert result.indicators[0].importance == pytest.approx(0.5, abs=0.1)


def test_the_net_promoter_score_counts_promoters_minus_detractors_by_hand():
    answers = [10, 9, 9, 8, 7, 6, 0, 5, 10, None]
    nps = net_promoter_score(answers)
    # 9 answers: promoters 10 9 9 10, passives 8 7, detractors 6 0 5 → (4 − 3) / 9 = 11.1%.
    assert (nps.n, nps.promoters, nps.passives, nps.detractors) == (9, 4, 2, 3)
    assert nps.score == pytest.approx(100 / 9)
    points = [100] * 4 + [0] * 2 + [-100] * 3
    half = T_975_8 * statistics.stdev(points) / 3
    assert nps.low == pytest.approx(100 / 9 - half)
    assert nps.high == pytest.approx(100 / 9 + half)
    assert net_promoter_score([None, None]) is None


def test_the_analysis_shows_the_nps_only_from_enough_answers():
    ratings, overall = _synthetic(seed=4, n=200, weights=KNOWN_WEIGHTS)
    few = [9] * (MIN_NPS_RESPONSES - 1) + [None] * (200 - MIN_NPS_RESPONSES + 1)
    result = driver_analysis(indicators=_indicators(*["basic"] * 7), ratings=ratings,
                             overall=overall, recommend=few, scale_max=5)
    assert result.nps is None
    assert result.recommend_n == MIN_NPS_RESPONSES - 1
    enough = [9, 3] * 100
    result = driver_analysis(indicators=_indicators(*["basic"] * 7), ratings=ratings,
                             overall=overall, recommend=enough, scale_max=5)
    assert result.nps.score == pytest.approx(0.0)
    assert result.nps.n == 200
