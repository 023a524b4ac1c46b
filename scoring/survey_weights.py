"""The scheme's indicator weights for the survey results pages (``surveys.weights``).

The scheme owns the weights (one owner per rule); the survey app cannot import scoring, so
``settings.SURVEY_INDICATOR_WEIGHTS`` points its results pages, export and API here.
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
