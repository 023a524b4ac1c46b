"""Internal customers (seed 000: every department serves the next one; the stores are HQ's
customers): each quarter the stores' managers and staff rate the HQ departments that serve
them on a short questionnaire."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from satisfaction.models import Department, Store
from satisfaction.quarters import QuarterField

from . import calc

SCALE = range(calc.SCALE_MIN, calc.SCALE_MAX + 1)
_RATING = [MinValueValidator(calc.SCALE_MIN), MaxValueValidator(calc.SCALE_MAX)]

#: The questionnaire: each item's field, its name and the question a store answers (1 to 5).
ITEMS = (
    ("responsiveness", _("Responsiveness"),
     _("Does the department answer and act quickly when the store needs it?")),
    ("support", _("Quality of support"),
     _("Does what the department delivers (goods, prices, systems, people, courses) work "
       "for the store?")),
    ("communication", _("Communication"),
     _("Does the department tell the store in time what is coming and why?")),
    ("overall", _("Overall satisfaction"),
     _("All in all, how satisfied is the store with this department?")),
)
ITEM_FIELDS = tuple(name for name, _label, _question in ITEMS)


class DepartmentRating(models.Model):
    """One rater's answers about one department for one quarter, editable until the quarter
    ends (``services.rating_save``). ``store`` is the store the rater works for, for the
    figures by region."""

    quarter = QuarterField(_("quarter"))
    department = models.ForeignKey(Department, on_delete=models.PROTECT,
                                   related_name="ratings", verbose_name=_("HQ department"))
    rater = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                              related_name="department_ratings", verbose_name=_("rated by"))
    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="+",
                              verbose_name=_("store"))
    responsiveness = models.PositiveSmallIntegerField(_("responsiveness"), validators=_RATING)
    support = models.PositiveSmallIntegerField(_("quality of support"), validators=_RATING)
    communication = models.PositiveSmallIntegerField(_("communication"), validators=_RATING)
    overall = models.PositiveSmallIntegerField(_("overall satisfaction"), validators=_RATING)
    comment = models.TextField(_("comment"), max_length=1000, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["quarter", "department", "pk"]
        verbose_name = _("department rating")
        verbose_name_plural = _("department ratings")
        constraints = [
            models.UniqueConstraint(fields=["quarter", "department", "rater"],
                                    name="internal_service_one_rating_per_quarter"),
            *[models.CheckConstraint(
                condition=Q(**{f"{name}__gte": calc.SCALE_MIN, f"{name}__lte": calc.SCALE_MAX}),
                name=f"internal_service_{name}_1_to_5") for name in ITEM_FIELDS],
        ]
        indexes = [models.Index(fields=["quarter", "department"],
                                name="internal_rating_quarter_idx")]

    def __str__(self) -> str:
        return f"{self.quarter} {self.department_id} {self.rater_id}"

    @property
    def score(self) -> float:
        """The rating's 0–100 score (``calc.rating_score``)."""
        return calc.rating_score([getattr(self, name) for name in ITEM_FIELDS])
