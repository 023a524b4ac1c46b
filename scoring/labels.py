"""Human labels of the engine's flags (translated)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

FLAG_LABELS = {
    "no_data": _("no data"),
    "missing_survey": _("no sample survey: the scenario survey carries the value"),
    "missing_scenario": _("no approved visit: the sample survey carries the value"),
    "small_sample": _("fewer responses than the minimum sample"),
    "adjusted": _("small sample shrunk toward the region mean"),
    "clipped": _("clipped to 0–100"),
    "staff_mean": _("store manager: mean of the staff"),
    # "staff_n:<N>": how many staff the manager's mean is over.
    "staff_n": _("mean of %(n)s staff"),
    "manager_deduction": _("store manager: own complaints deducted after the staff mean"),
    "warm_service_from_store": _("warm service: store's value"),
    "efficacy_from_store": _("efficacy: store's value"),
    "price_from_store": _("price: store's value"),
    "purchase_from_store": _("purchase evaluation: store's value"),
    "warm_service_missing": _("warm service: no data"),
    "efficacy_missing": _("efficacy: no data"),
    "price_missing": _("price: no data"),
    "purchase_missing": _("purchase evaluation: no data"),
}


# The seven default perception indicators (docs/domain.md); HQ may add others, shown by code.
INDICATOR_LABELS = {
    "assortment": pgettext_lazy("indicator", "Assortment"),
    "environment": _("Shopping environment"),
    "recommendation": _("Recommended products"),
    "efficacy": _("Efficacy"),
    "warm_service": _("Warm service"),
    "product_quality": _("Product quality"),
    "price": _("Price"),
}


def indicator_label(code: str) -> str:
    return INDICATOR_LABELS.get(code, code)


def flag_label(flag: str) -> str:
    """The label of a flag code; a flag ``code:<n>`` (``staff_n:3``) fills ``n`` in."""
    code, _sep, argument = flag.partition(":")
    label = FLAG_LABELS.get(code)
    if label is None:
        return flag
    return str(label) % {"n": argument} if argument else label
