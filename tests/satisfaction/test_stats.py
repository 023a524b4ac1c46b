"""The one confidence interval (satisfaction.stats) against hand-computed Student t numbers."""

import math

import numpy as np
import pandas as pd
import pytest

from satisfaction.stats import mean_confidence_interval, t_half_width

# Student t quantiles from the tables: t(0.975, 3), t(0.975, 9), t(0.975, 99), t(0.95, 3).
T_975_3, T_975_9, T_975_99, T_95_3 = 3.182446, 2.262157, 1.984217, 2.353363


def test_the_half_width_is_t_times_sd_over_root_n():
    assert t_half_width(4, 10.0) == pytest.approx(T_975_3 * 10 / 2)  # 15.912
    assert t_half_width(10, 10.0) == pytest.approx(T_975_9 * 10 / math.sqrt(10))  # 7.154


def test_large_samples_use_the_exact_t_not_the_normal_1_96():
    # The hand table the results page had switched to 1.96 beyond 30 answers.
    assert t_half_width(100, 10.0) == pytest.approx(T_975_99 * 10 / 10)
    assert t_half_width(100, 10.0) > 1.96 * 10 / 10 + 0.02


def test_another_level_takes_its_own_quantile():
    assert t_half_width(4, 10.0, level=0.90) == pytest.approx(T_95_3 * 10 / 2)
    with pytest.raises(ValueError, match="between 0 and 1"):
        t_half_width(4, 10.0, level=95)


def test_fewer_than_two_values_or_no_sd_have_no_interval():
    assert math.isnan(t_half_width(1, 10.0))
    assert math.isnan(t_half_width(0, 10.0))
    assert math.isnan(t_half_width(5, None))
    assert mean_confidence_interval(mean=60.0, sd=10.0, n=1) is None
    assert mean_confidence_interval(mean=60.0, sd=None, n=5) is None
    assert mean_confidence_interval(mean=None, sd=10.0, n=5) is None


def test_the_interval_is_mean_plus_minus_the_half_width_clipped_to_the_score_range():
    low, high = mean_confidence_interval(mean=60.0, sd=10.0, n=4)
    assert (low, high) == pytest.approx((60 - 15.912232, 60 + 15.912232))
    low, high = mean_confidence_interval(mean=98.0, sd=10.0, n=4)
    assert (low, high) == pytest.approx((98 - 15.912232, 100.0))


def test_one_call_serves_every_store_and_keeps_a_series_index():
    n = pd.Series([4, 1, 10, 7], index=[11, 12, 13, 14])
    sd = pd.Series([10.0, 5.0, 10.0, np.nan], index=[11, 12, 13, 14])
    half = t_half_width(n, sd)
    assert list(half.index) == [11, 12, 13, 14]
    assert half[11] == pytest.approx(15.912232)
    assert math.isnan(half[12])
    assert math.isnan(half[14])
    assert half[13] == pytest.approx(T_975_9 * 10 / math.sqrt(10))
    as_array = t_half_width([4, 10], [10.0, 10.0])
    assert as_array == pytest.approx([15.912232, T_975_9 * 10 / math.sqrt(10)])


def test_the_engine_and_the_results_pages_share_this_function():
    from scoring import engine
    from surveys import results

    assert engine.t_half_width is t_half_width
    assert results.mean_confidence_interval is mean_confidence_interval
    assert not hasattr(results, "t_critical")


def test_correlation_matches_hand_computed_r_and_fisher_interval():
    from satisfaction.stats import correlation_with_interval

    xs = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
    ys = [2, 1, 4, 3, 7, 8, 6, 9, 10, 9]
    result = correlation_with_interval(xs, ys)
    # r by hand: Sxy / sqrt(Sxx Syy) = 80.5 / sqrt(82.5 * 92.9) (means 5.5 and 5.9).
    r = 80.5 / math.sqrt(82.5 * 92.9)
    assert result.n == 10
    assert result.r == pytest.approx(r, abs=1e-12)
    half = 1.959963984540054 / math.sqrt(7)
    assert result.low == pytest.approx(math.tanh(math.atanh(r) - half), abs=1e-9)
    assert result.high == pytest.approx(math.tanh(math.atanh(r) + half), abs=1e-9)


def test_correlation_leaves_out_unpaired_values_and_refuses_constant_series():
    from satisfaction.stats import correlation_with_interval

    assert correlation_with_interval([1, None, 3, 4, 5], [2, 5, None, 8, 10]).n == 3
    flat = correlation_with_interval([1, 2, 3, 4], [5, 5, 5, 5])
    assert flat.r is None
    assert flat.low is None
    assert flat.n == 4
    assert correlation_with_interval([1, 2], [3, 4]).r is None
