"""Mystery shopper (情景调查 / 神秘顾客): scorecards, planned visits, reports, evidence, appeals.

A scorecard template is versioned: editing makes a new version, and a visit keeps the version it
was scored on. A visit moves through ``VisitStatus``; every change is a ``VisitEvent`` row with
who and when. Only approved visits count; their scores are stored on the visit when approved
(and again when an appeal changes them), so the scoring rollup reads them in one query.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import get_language, pgettext_lazy
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from mystery_shopper import calc
from satisfaction.quarters import QuarterField, chain_zone


def _localised(zh: str, en: str) -> str:
    language = (get_language() or "zh-hans").lower()
    if language.startswith("en"):
        return en or zh
    return zh or en


class ShopperCity(models.Model):
    """A city where a mystery shopper may be assigned visits."""

    shopper = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                related_name="shopper_cities", verbose_name=_("shopper"))
    city = models.CharField(_("city"), max_length=64)

    class Meta:
        ordering = ["shopper_id", "city"]
        verbose_name = _("shopper city")
        verbose_name_plural = _("shopper cities")
        constraints = [models.UniqueConstraint(fields=["shopper", "city"],
                                               name="ms_shopper_city_unique")]

    def __str__(self) -> str:
        return f"{self.shopper_id} {self.city}"


class ScorecardTemplate(models.Model):
    """One version of a scorecard. Versions of one scorecard share ``code``."""

    code = models.SlugField(_("code"), max_length=50)
    version = models.PositiveIntegerField(_("version"), default=1)
    name_zh = models.CharField(_("name (Chinese)"), max_length=200)
    name_en = models.CharField(_("name (English)"), max_length=200, blank=True)
    red_line_score = models.DecimalField(
        _("score of a red-line failure (%)"), max_digits=5, decimal_places=2,
        default=Decimal(0),
        help_text=_("The visit's score when any red-line item fails, whatever the points."))
    is_current = models.BooleanField(_("current version"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+",
                                   verbose_name=_("created by"))
    # Why this version was saved: the policy history shows it beside who and when.
    note = models.CharField(_("reason for the change"), max_length=200, blank=True)

    class Meta:
        ordering = ["code", "-version"]
        verbose_name = _("scorecard template")
        verbose_name_plural = _("scorecard templates")
        constraints = [
            models.UniqueConstraint(fields=["code", "version"], name="ms_template_version_unique"),
            models.UniqueConstraint(fields=["code"], condition=models.Q(is_current=True),
                                    name="ms_template_one_current"),
        ]

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"

    @property
    def name(self) -> str:
        return _localised(self.name_zh, self.name_en)


class ScorecardPart(models.TextChoices):
    IMAGE = "image", _("Store image")
    PURCHASE = "purchase", _("Purchase evaluation")
    PROCESS = "process", _("Ask-then-dispense process")


class ItemKind(models.TextChoices):
    YES_NO = "yes_no", _("Yes / no")
    POINTS = "points", _("0 to N points")


class EvidenceKind(models.TextChoices):
    NONE = "", _("None")
    PHOTO = "photo", _("Photo")
    AUDIO = "audio", _("Audio")


class ScorecardSection(models.Model):
    template = models.ForeignKey(ScorecardTemplate, on_delete=models.CASCADE,
                                 related_name="sections", verbose_name=_("template"))
    position = models.PositiveIntegerField(_("position"), default=0)
    title_zh = models.CharField(_("title (Chinese)"), max_length=200)
    title_en = models.CharField(_("title (English)"), max_length=200, blank=True)

    class Meta:
        ordering = ["template_id", "position", "pk"]
        verbose_name = _("scorecard section")
        verbose_name_plural = _("scorecard sections")

    def __str__(self) -> str:
        return self.title

    @property
    def title(self) -> str:
        return _localised(self.title_zh, self.title_en)


class ScorecardItem(models.Model):
    section = models.ForeignKey(ScorecardSection, on_delete=models.CASCADE,
                                related_name="items", verbose_name=_("section"))
    position = models.PositiveIntegerField(_("position"), default=0)
    code = models.SlugField(_("code"), max_length=50)
    text_zh = models.CharField(_("text (Chinese)"), max_length=300)
    text_en = models.CharField(_("text (English)"), max_length=300, blank=True)
    kind = models.CharField(_("type"), max_length=10, choices=ItemKind.choices,
                            default=ItemKind.YES_NO)
    max_points = models.DecimalField(_("maximum points"), max_digits=6, decimal_places=2,
                                     default=Decimal(1))
    part = models.CharField(_("part of the score"), max_length=10, choices=ScorecardPart.choices)
    evidence = models.CharField(_("evidence required"), max_length=5, blank=True,
                                choices=EvidenceKind.choices, default=EvidenceKind.NONE)
    is_red_line = models.BooleanField(
        _("red line"), default=False,
        help_text=_("Answering no fails the whole visit, whatever the points."))
    allows_na = models.BooleanField(_("may be not applicable"), default=True)

    class Meta:
        ordering = ["section__position", "position", "pk"]
        verbose_name = _("scorecard item")
        verbose_name_plural = _("scorecard items")

    def __str__(self) -> str:
        return self.text

    @property
    def text(self) -> str:
        return _localised(self.text_zh, self.text_en)


class Scenario(models.Model):
    """A scenario script: the complaint the shopper presents (a cold with a cough, ...)."""

    code = models.SlugField(_("code"), max_length=50, unique=True)
    title_zh = models.CharField(_("title (Chinese)"), max_length=200)
    title_en = models.CharField(_("title (English)"), max_length=200, blank=True)
    script_zh = models.TextField(_("script (Chinese)"), blank=True)
    script_en = models.TextField(_("script (English)"), blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    history = HistoricalRecords()  # who changed which script (satisfaction/history.py)

    class Meta:
        ordering = ["code"]
        verbose_name = _("scenario")
        verbose_name_plural = _("scenarios")

    def __str__(self) -> str:
        return self.title

    @property
    def title(self) -> str:
        return _localised(self.title_zh, self.title_en)

    @property
    def script(self) -> str:
        return _localised(self.script_zh, self.script_en)


class StoreVisitFrequency(models.Model):
    """How many visits a store gets in a quarter (the default applies without a row)."""

    store = models.ForeignKey("satisfaction.Store", on_delete=models.CASCADE,
                              related_name="+", verbose_name=_("store"))
    quarter = QuarterField(_("quarter"))
    visits = models.PositiveSmallIntegerField(_("visits per quarter"))
    history = HistoricalRecords()  # who changed what (satisfaction/history.py)

    class Meta:
        verbose_name = _("visit frequency")
        verbose_name_plural = _("visit frequencies")
        constraints = [models.UniqueConstraint(fields=["store", "quarter"],
                                               name="ms_frequency_store_quarter_unique")]

    def __str__(self) -> str:
        return f"{self.store_id} {self.quarter}: {self.visits}"


class VisitStatus(models.TextChoices):
    UNASSIGNED = "unassigned", _("Unassigned")
    ASSIGNED = "assigned", _("Assigned")
    DRAFT = "draft", pgettext_lazy("report status", "In progress")
    SUBMITTED = "submitted", pgettext_lazy("report status", "Submitted")
    RETURNED = "returned", _("Sent back")
    APPROVED = "approved", _("Approved")
    CANCELLED = "cancelled", _("Cancelled")


SHOPPER_EDITABLE = (VisitStatus.ASSIGNED, VisitStatus.DRAFT, VisitStatus.RETURNED)
#: A visit not reported yet: overdue once its due date has passed.
NOT_REPORTED = (VisitStatus.UNASSIGNED, *SHOPPER_EDITABLE)


class Visit(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    store = models.ForeignKey("satisfaction.Store", on_delete=models.PROTECT,
                              related_name="mystery_visits", verbose_name=_("store"))
    quarter = QuarterField(_("quarter"), db_index=True)
    template = models.ForeignKey(ScorecardTemplate, on_delete=models.PROTECT,
                                 related_name="visits", verbose_name=_("scorecard"))
    scenario = models.ForeignKey(Scenario, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="visits", verbose_name=_("scenario"))
    shopper = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                on_delete=models.PROTECT, related_name="mystery_visits",
                                verbose_name=_("shopper"))
    status = models.CharField(_("status"), max_length=12, choices=VisitStatus.choices,
                              default=VisitStatus.ASSIGNED, db_index=True)
    due_on = models.DateField(_("due on"))
    # The report.
    checked_in_at = models.DateTimeField(_("check-in time"), null=True, blank=True)
    latitude = models.DecimalField(_("latitude"), max_digits=9, decimal_places=6,
                                   null=True, blank=True)
    longitude = models.DecimalField(_("longitude"), max_digits=9, decimal_places=6,
                                    null=True, blank=True)
    visited_on = models.DateField(_("visit date"), null=True, blank=True, db_index=True)
    served_by_badge = models.CharField(_("served by (badge name or number)"), max_length=100,
                                       blank=True)
    employee = models.ForeignKey("satisfaction.Employee", null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="mystery_visits",
                                 verbose_name=_("employee who served"))
    notes = models.TextField(_("notes"), blank=True)
    review_comment = models.TextField(_("reviewer's comment"), blank=True)
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    approved_at = models.DateTimeField(_("approved at"), null=True, blank=True)
    # Scores, stored when approved and when an appeal changes the answers.
    points = models.DecimalField(_("points"), max_digits=8, decimal_places=2, null=True,
                                 blank=True)
    points_possible = models.DecimalField(_("points possible"), max_digits=8, decimal_places=2,
                                          null=True, blank=True)
    score_pct = models.FloatField(_("score (%)"), null=True, blank=True)
    purchase_points = models.FloatField(default=0)
    purchase_max = models.FloatField(default=0)
    process_points = models.FloatField(default=0)
    process_max = models.FloatField(default=0)
    image_points = models.FloatField(default=0)
    image_max = models.FloatField(default=0)
    red_line = models.BooleanField(_("red-line failure"), default=False)
    # The store's follow-up.
    acknowledged_at = models.DateTimeField(_("acknowledged at"), null=True, blank=True)
    acknowledged_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                        on_delete=models.SET_NULL, related_name="+",
                                        verbose_name=_("acknowledged by"))
    coaching = models.TextField(_("coaching given"), blank=True)
    coached_at = models.DateTimeField(_("coached at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["due_on", "pk"]
        verbose_name = _("visit")
        verbose_name_plural = _("visits")
        indexes = [
            models.Index(fields=["status", "visited_on"]),
            models.Index(fields=["store", "quarter"]),
            models.Index(fields=["shopper", "status"]),
        ]

    def __str__(self) -> str:
        return f"{self.store_id} {self.due_on}"

    @property
    def is_editable_by_shopper(self) -> bool:
        return self.status in SHOPPER_EDITABLE

    @property
    def is_overdue(self) -> bool:
        """Past its due date (in the chain's zone) and not reported yet."""
        today = timezone.localdate(timezone=chain_zone())
        return self.status in NOT_REPORTED and self.due_on < today

    @property
    def purchase_process_pct(self) -> float | None:
        """The mystery-shopper score of seed 002 (购药评定分 + 问病卖药流程分) as a % of its
        maximum, from the stored parts: what the store's scenario % and the employee's purchase
        evaluation count (``calc.scenario_pct``). The red-line score on a red-line visit; None
        before the visit is scored."""
        return self._part_figures().purchase_process_pct

    @property
    def image_pct(self) -> float | None:
        """The store-image %, reported beside the mystery-shopper score (``calc.image_pct``)."""
        return self._part_figures().image_pct

    def _part_figures(self) -> calc.PartFigures:
        return calc.part_figures(
            {"purchase": self.purchase_points, "process": self.process_points,
             "image": self.image_points},
            {"purchase": self.purchase_max, "process": self.process_max,
             "image": self.image_max},
            red_line=self.red_line, red_line_pct=self.score_pct)


class VisitAnswer(models.Model):
    visit = models.ForeignKey(Visit, on_delete=models.CASCADE, related_name="answers")
    item = models.ForeignKey(ScorecardItem, on_delete=models.PROTECT, related_name="+")
    # Yes/no items: 1 (yes) or 0 (no); points items: the points given (0..max).
    value = models.DecimalField(_("answer"), max_digits=6, decimal_places=2, null=True,
                                blank=True)
    not_applicable = models.BooleanField(_("not applicable"), default=False)
    comment = models.CharField(pgettext_lazy("shopper note", "comment"), max_length=500,
                               blank=True)

    class Meta:
        verbose_name = _("answer")
        verbose_name_plural = _("answers")
        constraints = [models.UniqueConstraint(fields=["visit", "item"],
                                               name="ms_answer_visit_item_unique")]

    def __str__(self) -> str:
        return f"{self.visit_id}/{self.item_id}"

    @property
    def is_answered(self) -> bool:
        return self.not_applicable or self.value is not None


def evidence_path(instance: Evidence, filename: str) -> str:
    """A non-guessable storage name that says nothing about the visit or who uploaded it."""
    return f"mystery_shopper/{uuid.uuid4().hex}{instance.extension_for_storage}"


class Evidence(models.Model):
    """A photo or audio file: of a scorecard item, of the visit, or of a store's appeal."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    visit = models.ForeignKey(Visit, on_delete=models.CASCADE, related_name="evidence")
    item = models.ForeignKey(ScorecardItem, null=True, blank=True, on_delete=models.PROTECT,
                             related_name="+", verbose_name=_("item"))
    appeal = models.ForeignKey("Appeal", null=True, blank=True, on_delete=models.CASCADE,
                               related_name="evidence", verbose_name=_("appeal"))
    kind = models.CharField(_("kind"), max_length=5,
                            choices=[(EvidenceKind.PHOTO, EvidenceKind.PHOTO.label),
                                     (EvidenceKind.AUDIO, EvidenceKind.AUDIO.label)])
    file = models.FileField(_("file"), upload_to=evidence_path, max_length=200)
    content_type = models.CharField(max_length=100)
    extension = models.CharField(max_length=10)
    size = models.PositiveIntegerField(_("size (bytes)"))
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True,
                                    on_delete=models.SET_NULL, related_name="+")
    uploaded_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)
    # The id the shopper's phone gave the file when it queued it (static/mystery_shopper/
    # offline.js): an upload sent again with the same id is the same file, stored once.
    client_id = models.UUIDField(null=True, blank=True, unique=True, editable=False)

    class Meta:
        ordering = ["uploaded_at", "pk"]
        verbose_name = _("evidence file")
        verbose_name_plural = _("evidence files")

    def __str__(self) -> str:
        return f"{self.kind} {self.public_id}"

    @property
    def extension_for_storage(self) -> str:
        return f".{self.extension}" if self.extension else ""

    @property
    def download_name(self) -> str:
        return f"evidence-{self.public_id.hex[:12]}{self.extension_for_storage}"


# The events that move a visit to a status say so in the status's own words (VisitStatus).
EVENT_LABELS = {
    "planned": _("Planned"), "started": _("Started"),
    "submitted": VisitStatus.SUBMITTED.label,
    "returned": VisitStatus.RETURNED.label, "approved": VisitStatus.APPROVED.label,
    "reassigned": _("Reassigned"),
    "cancelled": VisitStatus.CANCELLED.label, "acknowledged": _("Acknowledged by the store"),
    "coached": _("Coaching recorded"), "appealed": _("Appealed"),
    "appeal_upheld": _("Appeal decided: report upheld"),
    "appeal_changed": _("Appeal decided: report changed"),
}


class VisitEvent(models.Model):
    """Every state change of a visit, with who and when."""

    visit = models.ForeignKey(Visit, on_delete=models.CASCADE, related_name="events")
    action = models.CharField(_("action"), max_length=30)
    from_status = models.CharField(max_length=12, blank=True)
    to_status = models.CharField(max_length=12, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                              related_name="+")
    at = models.DateTimeField(_("at"), auto_now_add=True)
    comment = models.TextField(pgettext_lazy("shopper note", "comment"), blank=True)

    class Meta:
        ordering = ["at", "pk"]
        verbose_name = _("visit event")
        verbose_name_plural = _("visit events")

    def __str__(self) -> str:
        return f"{self.visit_id} {self.action}"

    @property
    def label(self) -> str:
        return str(EVENT_LABELS.get(self.action, self.action))


class AppealStatus(models.TextChoices):
    OPEN = "open", pgettext_lazy("appeal status", "Open")
    UPHELD = "upheld", _("Upheld (report stands)")
    CHANGED = "changed", _("Changed")


class Appeal(models.Model):
    visit = models.ForeignKey(Visit, on_delete=models.CASCADE, related_name="appeals")
    raised_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True,
                                  on_delete=models.SET_NULL, related_name="+")
    raised_at = models.DateTimeField(_("raised at"), auto_now_add=True)
    reason = models.TextField(_("reason"))
    status = models.CharField(_("status"), max_length=10, choices=AppealStatus.choices,
                              default=AppealStatus.OPEN, db_index=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_note = models.TextField(_("decision"), blank=True)
    score_before = models.FloatField(null=True, blank=True)
    score_after = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["-raised_at", "pk"]
        verbose_name = _("appeal")
        verbose_name_plural = _("appeals")
        constraints = [models.UniqueConstraint(
            fields=["visit"], condition=models.Q(status="open"), name="ms_one_open_appeal")]

    def __str__(self) -> str:
        return f"{self.visit_id} {self.status}"


class RedLineAlert(models.Model):
    """Recorded before HQ is alerted about a red-line visit, so the alert is sent once."""

    visit = models.OneToOneField(Visit, on_delete=models.CASCADE, related_name="red_line_alert")
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("red-line alert")
        verbose_name_plural = _("red-line alerts")

    def __str__(self) -> str:
        return f"{self.visit_id}"


class ReminderStage(models.TextChoices):
    DUE_SOON = "due_soon", _("Due within 3 days")
    OVERDUE = "overdue", _("Overdue")


class VisitReminder(models.Model):
    """A reminder a shopper was sent about a visit, one per visit, shopper and stage: written
    (under its unique key) in the transaction that queues the notification, so a sweep run
    twice, or two sweeps at once, remind no one twice. ``sweep`` names the run that wrote the
    row, which is how a run tells its own rows from those another run wrote first."""

    visit = models.ForeignKey(Visit, on_delete=models.CASCADE, related_name="reminders")
    shopper = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                related_name="+", verbose_name=_("shopper"))
    stage = models.CharField(_("stage"), max_length=10, choices=ReminderStage.choices)
    sweep = models.UUIDField(db_index=True)
    sent_at = models.DateTimeField(_("sent at"), auto_now_add=True)

    class Meta:
        verbose_name = _("visit reminder")
        verbose_name_plural = _("visit reminders")
        constraints = [models.UniqueConstraint(fields=["visit", "shopper", "stage"],
                                               name="ms_reminder_once_per_stage")]

    def __str__(self) -> str:
        return f"{self.visit_id} {self.stage}"
