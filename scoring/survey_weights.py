"""The scheme's figures that the input apps show: the indicator weights for the survey results
pages (``surveys.weights``) and the deduction points per grade for the complaint grade setup
page (``complaints.selectors.deduction_points``).

The scheme owns them (one owner per rule); the input apps cannot import scoring, so
``settings.SURVEY_INDICATOR_WEIGHTS`` and ``settings.COMPLAINT_GRADE_POINTS`` point them here.
"""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Q

from satisfaction.quarters import Quarter
from scoring.models import Rollup, RollupStatus, Scheme
from scoring.services import scheme_current
from surveys.weights import IndicatorWeights


def indicator_weights_for_quarter(quarter: Quarter) -> IndicatorWeights:
    """The weights the quarter's store values use.

    A published (locked) quarter keeps the scheme its published revision was computed with, so
    its results page agrees with the locked values; any other quarter uses the current scheme,
    the one its next rollup uses (HQ reweights by saving a new scheme version). One query.
    """
    published = Rollup.objects.filter(quarter=quarter, status=RollupStatus.PUBLISHED,
                                      scheme=OuterRef("pk"))
    scheme = (Scheme.objects.annotate(locked=Exists(published))
              .filter(Q(locked=True) | Q(is_current=True))
              .order_by("-locked").first()) or scheme_current()
    return IndicatorWeights(weights=scheme.to_params().indicator_weights,
                            scheme_version=scheme.version)


def grade_points_current() -> dict[str, float]:
    """The current scheme's deduction per complaint grade (the next rollup's)."""
    return scheme_current().to_params().grade_points
