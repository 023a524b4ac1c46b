"""The pure result functions against hand-computed numbers (no database)."""

import math

import pytest

from surveys.results import (
    AbuseThresholds,
    IndicatorSpec,
    StoreAbuseStats,
    StoreAggregate,
    gap_class,
    manufactured_stores,
    max_in_window,
    sample_sd,
    store_result,
    to_score,
    weighted_score,
)


def test_scale_bottom_maps_to_0_and_top_to_100():
    assert to_score(1, 5) == 0
    assert to_score(5, 5) == 100
    assert to_score(4, 5) == 75
    assert to_score(5.5, 10) == 50


def test_sample_sd_from_sums_matches_the_textbook_formula():
    values = [75.0, 50.0, 100.0]
    mean = sum(values) / 3
    expected = math.sqrt(sum((v - mean) ** 2 for v in values) / 2)
    assert sample_sd(n=3, total=sum(values), sum_squares=sum(v * v for v in values)) == \
        pytest.approx(expected)
    assert sample_sd(n=1, total=50, sum_squares=2500) is None


def test_gap_classes_follow_perception_minus_expectation():
    assert gap_class(perception=4.2, expectation=3.9) == "exceeded"
    assert gap_class(perception=4.0, expectation=4.0) == "met"
    assert gap_class(perception=3.5, expectation=4.1) == "below"
    assert gap_class(perception=3.5, expectation=None) is None


def test_weighted_score_ignores_missing_and_zero_weight_indicators():
    scores = {"a": 80.0, "b": 50.0, "c": None, "d": 0.0}
    # (2*80 + 1*50) / 3 = 70; d has weight 0, c no score
    assert weighted_score(scores, {"a": 2, "b": 1, "c": 5, "d": 0}) == pytest.approx(70.0)
    assert weighted_score({"a": None}, {"a": 1}) is None


def test_store_result_puts_the_numbers_together():
    aggregate = StoreAggregate(
        store_id=7, n=4, indicator_n={"price": 4, "warm_service": 4},
        mean_rating={"price": 3.0, "warm_service": 4.5}, bottom_n={"price": 1},
        mean_expectation={"price": 4.0, "warm_service": 4.5},
        weighted_n=4, weighted_total=4 * 62.5, weighted_sum_squares=4 * 62.5 ** 2 + 300.0,
        invitations=10, invited_responses=3)
    specs = [IndicatorSpec("price", "Price", 1.0), IndicatorSpec("warm_service", "Warm", 3.0)]
    result = store_result(aggregate=aggregate, indicators=specs, scale_max=5, target=30)
    price, warm = result.indicators
    assert price.score == 50.0
    assert warm.score == 87.5
    # the weighted score is (1 × 50 + 3 × 87.5) / 4 = 78.125
    assert result.weighted_score == pytest.approx(78.125)
    assert price.gap == -1.0
    assert price.gap_class == "below"
    assert warm.gap_class == "met"
    # sd = sqrt(300 / 3) = 10; CI = 78.125 ± t(0.975, 3) · 10 / 2 = 78.125 ± 3.18245 · 5
    assert result.sd == pytest.approx(10.0)
    assert result.ci == pytest.approx((78.125 - 15.91223, 78.125 + 15.91223))
    assert [i.weight for i in result.indicators] == [1.0, 3.0]
    assert result.response_rate == pytest.approx(30.0)
    assert result.below_target


def test_max_in_window_finds_the_densest_cluster():
    minutes = [0, 1, 2, 3, 30, 31, 120]
    assert max_in_window([m * 60.0 for m in minutes], 600) == 4
    assert max_in_window([], 600) == 0


def _stats(store_id, region_id=1, **kw):
    defaults = {"responses": 20, "public_responses": 20, "ratings": 140, "top_ratings": 40,
                "max_one_device": 1, "max_in_window": 2}
    defaults.update(kw)
    return StoreAbuseStats(store_id=store_id, region_id=region_id, **defaults)


def test_a_store_with_far_more_top_ratings_than_its_region_is_flagged():
    stats = [_stats(1, top_ratings=133), _stats(2), _stats(3)]
    flagged = manufactured_stores(stats)
    assert list(flagged) == [1]
    reason = flagged[1][0]
    assert reason["kind"] == "top_ratings"
    assert reason["store_share"] == 0.95
    assert reason["region_share"] == pytest.approx(round(80 / 280, 3))


def test_many_answers_from_one_device_or_in_minutes_are_flagged():
    stats = [_stats(1, max_one_device=8), _stats(2, max_in_window=12), _stats(3)]
    flagged = manufactured_stores(stats)
    assert [r["kind"] for r in flagged[1]] == ["one_device"]
    assert [r["kind"] for r in flagged[2]] == ["clustered"]
    assert 3 not in flagged


def test_small_stores_are_not_judged():
    stats = [_stats(1, responses=5, public_responses=5, ratings=35, top_ratings=35,
                    max_one_device=5, max_in_window=5), _stats(2)]
    assert manufactured_stores(stats, AbuseThresholds(min_responses=10)) == {}
