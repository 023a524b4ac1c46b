"""The staff pulse: anonymous answers, and apart from them the fact that someone answered.

``PulseResponse`` holds the answers with the quarter and the store (and through it the region),
and nothing that leads back to the person: no user, no employee, no time of day, not even the
date; its key is a random UUID, so no sequence number pairs it with the participation written
in the same transaction. ``PulseParticipation`` holds only (user, quarter), unique, so a person
answers once a quarter: no store, no answers, no time. ``pulse.services.pulse_answer`` writes
both in one transaction; nothing else writes them.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from pulse.statements import SCALE_MAX, SCALE_MIN, STATEMENTS
from satisfaction.models import Store
from satisfaction.quarters import QuarterField

COMMENT_MAX = 1000


def _answer(text) -> models.PositiveSmallIntegerField:
    return models.PositiveSmallIntegerField(
        text, validators=[MinValueValidator(SCALE_MIN), MaxValueValidator(SCALE_MAX)])


class PulseResponse(models.Model):
    """One person's answers to one quarter's pulse, with no link to the person."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    quarter = QuarterField(_("quarter"))
    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="pulse_responses",
                              verbose_name=_("store"))
    equipped = _answer(STATEMENTS[0].text)
    hq_support = _answer(STATEMENTS[1].text)
    recognition = _answer(STATEMENTS[2].text)
    pride = _answer(STATEMENTS[3].text)
    recommend = _answer(STATEMENTS[4].text)
    comment = models.TextField(_("comment"), blank=True, max_length=COMMENT_MAX)

    class Meta:
        verbose_name = _("pulse answer")
        verbose_name_plural = _("pulse answers")
        indexes = [models.Index(fields=["quarter", "store"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(**{f"{s.code}__gte": SCALE_MIN, f"{s.code}__lte": SCALE_MAX}),
                name=f"pulse_{s.code}_on_scale")
            for s in STATEMENTS]

    def __str__(self) -> str:
        return f"{self.quarter} {self.store_id}"


class PulseParticipation(models.Model):
    """That ``user`` has answered ``quarter``'s pulse, and nothing more."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="pulse_participations", verbose_name=_("user"))
    quarter = QuarterField(_("quarter"))

    class Meta:
        verbose_name = _("pulse participation")
        verbose_name_plural = _("pulse participations")
        constraints = [models.UniqueConstraint(fields=["user", "quarter"],
                                               name="pulse_one_answer_per_quarter")]

    def __str__(self) -> str:
        return f"{self.quarter} {self.user_id}"
