"""The improvement loop (PDCA, CS经营活动流程): an action meant to move one survey indicator.

Plan: the store (manager, region or HQ) creates an action from a weak indicator, a complaint
pattern or a mystery-shopper finding, with an owner, a deadline and the indicator it should
move; the indicator's value at that time is kept as the baseline. Do: the owner carries it out
and marks it done. Check/Act: once the next quarter has values, it is reviewed against that
indicator's change.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from satisfaction.quarters import QuarterField


class ActionSource(models.TextChoices):
    INDICATOR = "indicator", _("Weak indicator")
    COMPLAINT = "complaint", _("Complaint pattern")
    MYSTERY_SHOPPER = "mystery_shopper", _("Mystery-shopper finding")
    OTHER = "other", _("Other")


class ActionStatus(models.TextChoices):
    OPEN = "open", pgettext_lazy("action status", "Open")
    DONE = "done", _("Done, waiting for review")
    REVIEWED = "reviewed", _("Reviewed")


class ActionOutcome(models.TextChoices):
    IMPROVED = "improved", _("Improved")
    UNCHANGED = "unchanged", _("Unchanged")
    WORSE = "worse", _("Worse")
    NO_DATA = "no_data", _("No data to compare")


class ImprovementAction(models.Model):
    store = models.ForeignKey("satisfaction.Store", on_delete=models.CASCADE,
                              related_name="improvement_actions", verbose_name=_("store"))
    quarter = QuarterField(_("quarter"), db_index=True,
                           help_text=_("The quarter the action was planned in."))
    title = models.CharField(pgettext_lazy("improvement action", "action"), max_length=200)
    description = models.TextField(_("details"), blank=True)
    source = models.CharField(_("found through"), max_length=20, choices=ActionSource.choices,
                              default=ActionSource.INDICATOR)
    source_ref = models.CharField(_("reference"), max_length=100, blank=True,
                                  help_text=_("Complaint ticket, visit date or other note."))
    indicator_code = models.CharField(_("indicator to move"), max_length=40)
    owner = models.ForeignKey("satisfaction.Employee", on_delete=models.PROTECT,
                              related_name="improvement_actions", verbose_name=_("owner"))
    deadline = models.DateField(_("deadline"))
    status = models.CharField(_("status"), max_length=10, choices=ActionStatus.choices,
                              default=ActionStatus.OPEN)
    baseline_score = models.FloatField(_("indicator value when planned"), null=True,
                                       blank=True)
    baseline_quarter = QuarterField(_("baseline quarter"), null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True,
                                   on_delete=models.SET_NULL, related_name="+",
                                   verbose_name=_("created by"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)
    review_score = models.FloatField(_("indicator value at review"), null=True, blank=True)
    review_quarter = QuarterField(_("review quarter"), null=True, blank=True)
    outcome = models.CharField(pgettext_lazy("action outcome", "outcome"), max_length=10,
                               choices=ActionOutcome.choices,
                               blank=True)
    review_note = models.TextField(_("review note"), blank=True)
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+",
                                    verbose_name=_("reviewed by"))
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True)

    class Meta:
        ordering = ["deadline", "pk"]
        verbose_name = _("improvement action")
        verbose_name_plural = _("improvement actions")
        indexes = [models.Index(fields=["store", "status", "deadline"])]

    def __str__(self) -> str:
        return self.title

    @property
    def change(self) -> float | None:
        if self.baseline_score is None or self.review_score is None:
            return None
        return self.review_score - self.baseline_score


class ReportScope(models.TextChoices):
    CHAIN = "chain", pgettext_lazy("report scope", "Chain")
    REGION = "region", pgettext_lazy("report scope", "Region")
    STORE = "store", pgettext_lazy("report scope", "Store")


class MonthlyReportSent(models.Model):
    """A monthly report handed to one recipient (HQ, a region's manager, a store's manager):
    recorded under a unique (month, recipient) in the same transaction as the in-app
    notification and the e-mail outbox row, so a rerun or a second worker sends nothing more
    (``dashboard.services.monthly_reports_send``)."""

    month = models.DateField(_("month"), help_text=_("The first day of the month reported on."))
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                  related_name="+", verbose_name=_("recipient"))
    scope = models.CharField(_("scope"), max_length=10, choices=ReportScope.choices)
    sent_at = models.DateTimeField(_("sent at"))

    class Meta:
        ordering = ["-month", "recipient_id"]
        verbose_name = _("monthly report sent")
        verbose_name_plural = _("monthly reports sent")
        constraints = [models.UniqueConstraint(fields=["month", "recipient"],
                                               name="dashboard_one_monthly_report_each")]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} → {self.recipient_id}"
