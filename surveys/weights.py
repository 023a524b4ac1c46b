"""Indicator weights for the survey results: the scoring scheme owns them, not this app.

The campaign results (pages, export, API) show a weighted survey score that must be the store
value's survey % for the same responses. The weights are the scheme's
(``scoring.models.Scheme.indicator_weights``, versioned); ``surveys`` sits below ``scoring``
(import-linter) and may not read the scheme itself. The project wiring names the reader in
``settings.SURVEY_INDICATOR_WEIGHTS`` (a dotted path, like Django's backends), and every caller
here asks :func:`indicator_weights`: one owner, no copy in this app.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from satisfaction.quarters import Quarter


@dataclass(frozen=True)
class IndicatorWeights:
    """The weight of each indicator code (codes not listed weigh 0: they do not count) and the
    scheme version they come from, shown beside the figures."""

    weights: dict[str, float]
    scheme_version: int

    def of(self, code: str) -> float:
        return float(self.weights.get(code, 0.0))


WeightsReader = Callable[[Quarter], IndicatorWeights]


def _reader() -> WeightsReader:
    path = settings.SURVEY_INDICATOR_WEIGHTS
    if not path:
        raise ImproperlyConfigured(
            "SURVEY_INDICATOR_WEIGHTS names the function that reads the scheme's indicator "
            "weights (scoring owns them).")
    return import_string(path)


def indicator_weights(*, quarter: Quarter) -> IndicatorWeights:
    """The weights the store values of ``quarter`` use (the rule is the reader's: see
    ``scoring.survey_weights``)."""
    return _reader()(quarter)
