"""The early-warning arithmetic (complaints.spikes), without a database."""

from __future__ import annotations

import math

import numpy as np
import pytest

from complaints.spikes import (
    ALPHA,
    MIN_COUNT,
    Spike,
    alert_thresholds,
    detect_spikes,
    poisson_upper_bounds,
    roll_up,
)


def exact_bound(rate: float, alpha: float = ALPHA) -> int:
    """The smallest k >= 1 with P(X >= k) <= alpha, by summing the Poisson terms."""
    below, term, k = 0.0, math.exp(-rate), 0
    while True:
        if k >= 1 and 1.0 - below <= alpha:
            return k
        below += term
        k += 1
        term *= rate / k


def test_poisson_bounds_match_an_exact_sum_over_a_range_of_rates():
    rates = np.round(np.arange(0, 40.01, 0.125), 3)
    assert poisson_upper_bounds(rates).tolist() == [exact_bound(r) for r in rates]


def test_hand_checked_bounds_for_some_baselines():
    # λ = 2 a week: P(X >= 8) = 0.0011 > 0.001, P(X >= 9) = 0.00024: alert at 9.
    # λ = 0.5: P(X >= 4) = 0.0018, P(X >= 5) = 0.00017: alert at 5.
    assert poisson_upper_bounds(np.array([2.0, 0.5, 1.0, 5.0])).tolist() == [9, 5, 6, 14]


def test_a_zero_baseline_has_a_poisson_bound_of_one_but_alerts_only_at_the_minimum_count():
    assert poisson_upper_bounds(np.array([0.0])).tolist() == [1]
    assert alert_thresholds(np.array([0, 1, 8, 16])).tolist() == [MIN_COUNT, 3, 6, 9]


def test_a_stricter_alpha_raises_the_threshold():
    assert poisson_upper_bounds(np.array([2.0]), alpha=0.05).tolist() == [6]
    assert poisson_upper_bounds(np.array([2.0]), alpha=0.0001).tolist() == [10]


def test_bad_parameters_are_refused():
    with pytest.raises(ValueError, match="alpha"):
        poisson_upper_bounds(np.array([1.0]), alpha=1.5)
    with pytest.raises(ValueError, match="negative"):
        poisson_upper_bounds(np.array([-1.0]))
    assert poisson_upper_bounds(np.array([])).tolist() == []


def test_spikes_are_counts_that_reach_their_threshold():
    window = {(1, "price"): 9, (2, "price"): 8, (3, "service_attitude"): 3,
              (4, "environment"): 2, (5, "other"): 5}
    baseline = {(1, "price"): 16, (2, "price"): 16, (5, "other"): 40}
    spikes = detect_spikes(window, baseline)
    assert spikes == [
        Spike(key=1, category="price", count=9, baseline_per_week=2.0, threshold=9),
        Spike(key=3, category="service_attitude", count=3, baseline_per_week=0.0,
              threshold=3),
    ]  # 2: 8 is below 9; 4: below the minimum; 5: 5 a week is its normal


def test_one_complaint_at_a_store_with_no_history_is_not_a_spike():
    assert detect_spikes({(7, "price"): 1}, {}) == []
    assert detect_spikes({(7, "price"): 2}, {}) == []
    assert [s.count for s in detect_spikes({(7, "price"): 3}, {})] == [3]


def test_the_minimum_count_is_a_parameter():
    assert detect_spikes({(7, "price"): 2}, {}, min_count=2)[0].threshold == 2
    assert detect_spikes({}, {}) == []


def test_region_counts_are_their_stores_sums_and_catch_a_spread_wave():
    region_of = {1: 10, 2: 10, 3: 10, 4: 20, 5: None}
    window = {(1, "price"): 2, (2, "price"): 2, (3, "price"): 2, (4, "price"): 2,
              (5, "price"): 9}
    assert roll_up(window, region_of) == {(10, "price"): 6, (20, "price"): 2}
    # No store reaches the minimum alone; their region (no history) does.
    assert detect_spikes(window | {(5, "price"): 0}, {}) == []
    assert [(s.key, s.count) for s in detect_spikes(roll_up(window, region_of), {})] == [
        (10, 6)]


def test_thousands_of_pairs_are_decided_quickly():
    rng = np.random.default_rng(3)
    stores, categories = 15_000, ["a", "b", "c", "d", "e", "f", "g"]
    window = {(s, c): int(n) for s in range(stores) for c, n in
              zip(categories, rng.poisson(0.2, len(categories)), strict=True)}
    baseline = {key: int(n) for key, n in zip(window, rng.poisson(1.6, len(window)),
                                               strict=True)}
    window[(42, "c")] = 12
    spikes = detect_spikes(window, baseline)
    assert (42, "c") in {(s.key, s.category) for s in spikes}
    assert all(s.count >= s.threshold >= MIN_COUNT for s in spikes)
    # 105,000 pairs at 0.2 a week: P(X >= 3) is about 0.001, so about a hundred by chance.
    assert len(spikes) < 200


def test_a_regions_spike_must_stand_beyond_its_stores_own_spikes():
    window = {(10, "price"): 7}
    # One store's wave of 6 explains the region's 7: the rest (1) is no spike of the region.
    assert detect_spikes(window, {}, explained={(10, "price"): 6}) == []
    # Three more complaints from other stores are: the region alerts, with its full count.
    assert detect_spikes({(10, "price"): 9}, {}, explained={(10, "price"): 6}) == [
        Spike(key=10, category="price", count=9, baseline_per_week=0.0, threshold=3)]
