"""The pulse's figures and the rule that hides small groups: pure, no database."""

from __future__ import annotations

import pytest

from pulse import calc
from pulse.statements import CODES


def _sums(n: int, answer: int) -> dict[str, int]:
    return dict.fromkeys(CODES, n * answer)


def test_the_threshold_is_five():
    assert calc.MIN_GROUP == 5


def test_the_agreement_scale_maps_to_zero_to_a_hundred():
    assert [calc.to_score(a) for a in (1, 2, 3, 4, 5)] == [0, 25, 50, 75, 100]


def test_a_group_of_four_is_hidden_whole():
    figure = calc.group_pulse(n=4, sums=_sums(4, 5), ended=True)
    assert figure.hidden == calc.HIDDEN_SMALL
    assert (figure.n, figure.score, figure.statements) == (None, None, {})


def test_a_group_of_five_is_shown_with_its_count_and_each_statement():
    sums = _sums(5, 4) | {"hq_support": 5 * 2}
    figure = calc.group_pulse(n=5, sums=sums, ended=True)
    assert figure.shown
    assert figure.n == 5
    assert figure.statements["hq_support"] == 25
    assert figure.statements["pride"] == 75
    assert figure.score == pytest.approx((75 * 4 + 25) / 5)


def test_a_quarter_still_running_hides_even_a_large_group():
    figure = calc.group_pulse(n=40, sums=_sums(40, 4), ended=False)
    assert figure.hidden == calc.HIDDEN_RUNNING
    assert figure.score is None
    assert figure.n is None


@pytest.mark.parametrize(("r", "low", "high", "words"), [
    (None, None, None, "none"), (0.5, None, None, "unclear"), (0.3, -0.1, 0.6, "unclear"),
    (0.6, 0.2, 0.85, "positive"), (-0.6, -0.85, -0.2, "negative")])
def test_a_correlation_is_put_in_words_only_when_its_interval_excludes_zero(r, low, high,
                                                                             words):
    assert calc.correlation_strength(r, low, high) == words
