"""Sample surveys (抽样调查): indicators, campaigns, invitations, responses and their answers."""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import get_language, pgettext_lazy
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from satisfaction.models import Employee, Store
from satisfaction.quarters import QuarterField


class KanoTag(models.TextChoices):
    """What the indicator speaks to (Kano): basic needs time/quality/price, attractive ones
    respect/care."""

    TIME = "time", _("Time (basic)")
    QUALITY = "quality", _("Quality (basic)")
    PRICE = "price", _("Price (basic)")
    RESPECT = "respect", _("Respect (attractive)")
    CARE = "care", _("Care (attractive)")


BASIC_TAGS = frozenset({KanoTag.TIME, KanoTag.QUALITY, KanoTag.PRICE})


class KanoClass(models.TextChoices):
    """Kano's classes of an attribute. Basic (must-be): missing it dissatisfies, having it goes
    unnoticed; performance (one-dimensional): the better, the more satisfied; delight
    (attractive): unexpected, it pleases when present and is not missed when absent. The seeds'
    pyramid (seed 003) names basic needs (time, quality, price) and attractive ones (respect,
    care): an indicator's class follows its tag unless HQ sets it (``Indicator.kano_class``)."""

    BASIC = "basic", pgettext_lazy("Kano class", "Basic")
    PERFORMANCE = "performance", pgettext_lazy("Kano class", "Performance")
    DELIGHT = "delight", pgettext_lazy("Kano class", "Delight")


def kano_class_of(*, tag: str, chosen: str = "") -> str:
    """An indicator's Kano class: the one HQ chose, else basic for a basic tag, delight for an
    attractive one."""
    if chosen in KanoClass.values:
        return chosen
    return KanoClass.BASIC if tag in BASIC_TAGS else KanoClass.DELIGHT


class IndicatorGroup(models.TextChoices):
    """One questionnaire screen per group."""

    GOODS = "goods", _("Goods")
    STORE = "store", _("Store")
    SERVICE = "service", _("Service")


class Indicator(models.Model):
    """A question of the survey. It has no weight of its own: the scoring scheme weighs each
    code (``scoring.models.Scheme.indicator_weights``), for the store value and the results
    pages alike; a new indicator counts once the scheme gives its code a weight."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name_zh = models.CharField(_("name (Chinese)"), max_length=100)
    name_en = models.CharField(_("name (English)"), max_length=100)
    question_zh = models.CharField(_("question (Chinese)"), max_length=300)
    question_en = models.CharField(_("question (English)"), max_length=300)
    kano = models.CharField(_("Kano tag"), max_length=10, choices=KanoTag.choices)
    # HQ's choice of Kano class; empty: the tag's (basic for time/quality/price, delight for
    # respect/care). Only "performance" has no tag of its own in the seeds' pyramid.
    kano_class = models.CharField(
        _("Kano class"), max_length=12, choices=KanoClass.choices, blank=True,
        help_text=_("Empty: from the Kano tag (time, quality, price: basic; respect, care: "
                    "delight)."))
    group = models.CharField(_("screen group"), max_length=10, choices=IndicatorGroup.choices,
                             default=IndicatorGroup.SERVICE)
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    is_active = models.BooleanField(_("active"), default=True)
    history = HistoricalRecords()  # who changed what (satisfaction/history.py)

    class Meta:
        ordering = ["order", "code"]
        verbose_name = _("survey indicator")
        verbose_name_plural = _("survey indicators")

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        return self.name_en if (get_language() or "").startswith("en") else self.name_zh

    @property
    def question(self) -> str:
        return self.question_en if (get_language() or "").startswith("en") else self.question_zh

    @property
    def kano_category(self) -> str:
        return "basic" if self.kano in BASIC_TAGS else "attractive"

    @property
    def effective_kano_class(self) -> str:
        """The Kano class the results show: HQ's, else the tag's."""
        return kano_class_of(tag=self.kano, chosen=self.kano_class)

    @property
    def effective_kano_label(self) -> str:
        return str(KanoClass(self.effective_kano_class).label)


class SelectionKind(models.TextChoices):
    """How HQ chooses a campaign's stores."""

    ALL = "", _("All stores")
    REGION = "region", _("By region")
    CITY = "city", _("By city")
    STORE = "store", _("By store code")


_SEPARATORS = re.compile(r"[\s,;，；、]+")


@dataclass(frozen=True)
class StoreSelection:
    """Which stores a campaign asks: all, the active stores of regions (by region code) or of
    cities, or a list of store codes. Written to ``Campaign.store_selection`` as
    ``kind: value value``."""

    kind: str = SelectionKind.ALL
    values: tuple[str, ...] = ()

    @classmethod
    def of(cls, kind: str, values: str | list[str] | tuple[str, ...] = ()) -> StoreSelection:
        """A selection from a kind and its values (a list, or text separated by spaces, commas
        or 、), in the order given and without repeats."""
        items = _SEPARATORS.split(values) if isinstance(values, str) else list(values)
        unique = tuple(dict.fromkeys(str(v).strip() for v in items if str(v).strip()))
        return cls(kind or SelectionKind.ALL, unique if kind else ())

    @classmethod
    def parse(cls, text: str) -> StoreSelection:
        kind, _sep, values = (text or "").partition(":")
        kind = kind.strip()
        if kind not in SelectionKind.values or not kind:
            return cls()
        return cls.of(kind, values)

    def __str__(self) -> str:
        return f"{self.kind}: {' '.join(self.values)}" if self.kind else ""


class Campaign(models.Model):
    name = models.CharField(_("name"), max_length=120)
    quarter = QuarterField(_("quarter"), db_index=True)
    all_stores = models.BooleanField(_("all stores"), default=True)
    stores = models.ManyToManyField(Store, blank=True, related_name="survey_campaigns",
                                    verbose_name=_("stores"))
    scale_max = models.PositiveSmallIntegerField(
        _("rating scale"), default=5, choices=[(5, _("1–5")), (10, _("1–10"))])
    ask_expectation = models.BooleanField(
        _("ask expectation first"), default=False,
        help_text=_("Ask what the customer expected before what they experienced (ES vs PS)."))
    ask_overall = models.BooleanField(
        _("ask overall satisfaction"), default=False,
        help_text=_("One more question, on the campaign's scale: how satisfied overall. It "
                    "tells which indicators move satisfaction most."))
    ask_recommend = models.BooleanField(
        _("ask whether they would recommend us"), default=False,
        help_text=_("0–10: how likely the customer is to recommend the store (NPS)."))
    target_per_store = models.PositiveIntegerField(_("target sample per store"), default=30)
    opens_on = models.DateField(_("opens on"))
    closes_on = models.DateField(_("closes on"))
    # How HQ chose the stores, as ``kind: value value`` (``region: EAST``, ``city: 上海 杭州``,
    # ``store: S0001 S0002``; empty: all stores). ``stores`` holds the stores it meant when it
    # was saved (a store opened later joins only when the campaign is saved again); this says
    # what to show on the setup page and, being a field, appears in the campaign's history.
    store_selection = models.TextField(_("store selection"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    history = HistoricalRecords(excluded_fields=["created_at"])  # satisfaction/history.py

    class Meta:
        ordering = ["-quarter", "-opens_on", "name"]
        verbose_name = _("survey campaign")
        verbose_name_plural = _("survey campaigns")
        constraints = [
            models.CheckConstraint(condition=Q(scale_max__in=[5, 10]),
                                   name="survey_campaign_scale_5_or_10"),
            models.CheckConstraint(condition=Q(closes_on__gte=models.F("opens_on")),
                                   name="survey_campaign_closes_after_opening"),
        ]

    def __str__(self) -> str:
        return f"{self.quarter} {self.name}"

    def is_open_on(self, day) -> bool:
        return self.opens_on <= day <= self.closes_on

    @property
    def is_open(self) -> bool:
        return self.is_open_on(timezone.localdate())


class Channel(models.TextChoices):
    QR = "qr", _("Store QR code")
    RECEIPT = "receipt", _("Receipt invitation")
    PAPER = "paper", _("Paper (trade area)")
    PHONE = "phone", _("Phone interview")


PUBLIC_CHANNELS = (Channel.QR, Channel.RECEIPT)


class InvitationChannel(models.TextChoices):
    RECEIPT = "receipt", _("Printed receipt")
    SMS = "sms", _("SMS")
    WECHAT = "wechat", _("WeChat")
    STAFF = "staff", _("Handed out by staff")


class Invitation(models.Model):
    """A single-use survey link for one transaction (a receipt QR code)."""

    token = models.CharField(_("token"), max_length=64, unique=True)
    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="survey_invitations",
                              verbose_name=_("store"))
    campaign = models.ForeignKey(Campaign, null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="invitations", verbose_name=_("campaign"))
    transaction_ref = models.CharField(_("transaction reference"), max_length=64, blank=True)
    channel = models.CharField(_("channel"), max_length=10, choices=InvitationChannel.choices,
                               default=InvitationChannel.RECEIPT)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires at"))
    used_at = models.DateTimeField(_("used at"), null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("survey invitation")
        verbose_name_plural = _("survey invitations")
        constraints = [models.UniqueConstraint(
            fields=["store", "transaction_ref"], condition=~Q(transaction_ref=""),
            name="survey_invitation_one_per_transaction")]
        indexes = [models.Index(fields=["campaign", "store"])]

    def __str__(self) -> str:
        return f"{self.store.code} {self.transaction_ref or self.token[:6]}"

    @property
    def short_path(self) -> str:
        return f"/s/{self.token}"

    @property
    def short_url(self) -> str:
        return f"{settings.PUBLIC_BASE_URL}{self.short_path}"

    @property
    def qr_payload(self) -> str:
        """What the receipt's QR code encodes: the absolute short link."""
        return self.short_url

    @property
    def is_expired(self) -> bool:
        return self.expires_at <= timezone.now()


class ResponseStatus(models.TextChoices):
    """FLAGGED holds a response back (it does not count) until HQ clears or rejects it: a
    suspicious public answer, or one keyed in by the store's own staff."""

    COUNTED = "counted", _("Counted")
    FLAGGED = "flagged", _("Flagged, waiting for HQ")
    CLEARED = "cleared", _("Cleared by HQ")
    REJECTED = "rejected", _("Rejected by HQ")


COUNTED_STATUSES = (ResponseStatus.COUNTED, ResponseStatus.CLEARED)

#: A trade-area survey team (商圈调查): users or groups HQ gives this permission in the admin
#: key in questionnaires that count at once, except at a store they work in
#: (``surveys.rules.entry_held_for_review``). HQ has it through its role.
TRADE_AREA_PERMISSION_CODENAME = "enter_trade_area_survey"
TRADE_AREA_PERMISSION = f"surveys.{TRADE_AREA_PERMISSION_CODENAME}"


class FlagReason(models.TextChoices):
    SPEEDER = "speeder", _("Answered too fast")
    UNTIMED = "untimed", _("Answering time unknown")
    BURST = "burst", _("Burst from one device")
    STORE = "store", _("Store looks manufactured")
    STAFF_ENTERED = "staff_entered", _("Entered by the store's own staff")
    SELF_SERVED = "self_served", _("Names who entered it as the one who served")


class PaperBatch(models.Model):
    """Trade-area questionnaires (商圈调查) keyed in together."""

    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="paper_batches")
    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="+")
    entered_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                                   related_name="+")
    entered_at = models.DateTimeField(_("entered at"), default=timezone.now)
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        ordering = ["-entered_at"]
        verbose_name = _("paper batch")
        verbose_name_plural = _("paper batches")

    def __str__(self) -> str:
        return f"{self.store_id} {self.entered_at:%Y-%m-%d}"


class Response(models.Model):
    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="responses",
                                 verbose_name=_("campaign"))
    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="survey_responses",
                              verbose_name=_("store"))
    employee = models.ForeignKey(Employee, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="survey_responses", verbose_name=_("employee"))
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    invitation = models.OneToOneField(Invitation, null=True, blank=True, on_delete=models.PROTECT,
                                      related_name="response")
    paper_batch = models.ForeignKey(PaperBatch, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="responses")
    submitted_at = models.DateTimeField(_("submitted at"), default=timezone.now)
    duration_seconds = models.PositiveIntegerField(_("seconds taken"), null=True, blank=True)
    comment = models.TextField(_("comment"), blank=True)
    language = models.CharField(_("language"), max_length=10, blank=True)
    device_hash = models.CharField(max_length=64, blank=True, db_index=True)
    status = models.CharField(_("status"), max_length=10, choices=ResponseStatus.choices,
                              default=ResponseStatus.COUNTED)
    flag_reasons = models.CharField(_("flag reasons"), max_length=100, blank=True)
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    reviewed_at = models.DateTimeField(null=True, blank=True)
    entered_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+",
                                   verbose_name=_("entered by"))
    # A paper questionnaire uploaded in a file (``surveys.services.paper_import``): which form
    # it was, so that uploading the same file again changes nothing. The form's number when the
    # file gives one, else a digest of its answers and its place among identical forms.
    paper_key = models.CharField(_("paper form key"), max_length=80, blank=True)
    # Fixed when the response is keyed in: the person who entered it is the employee it names
    # as the one who served. It then never counts for that employee (seed 002: 商圈调查真实),
    # only, once HQ clears it, for the store.
    self_served = models.BooleanField(_("names who entered it"), default=False)
    # The response's weighted 0–100 score (Σ w·score / Σ w over the weighted indicators it
    # rated; empty when it rated none), kept by the services when it is written so that a
    # rollup reads one row per response instead of its answers (docs/architecture.md, "Survey
    # tallies"). ``score_key`` names the weights it was computed with
    # (``surveys.tallies.weights_key``); a reweight rescores (``response_scores_refresh``).
    score = models.FloatField(_("weighted score"), null=True, blank=True, editable=False)
    score_key = models.BigIntegerField(null=True, blank=True, editable=False)
    # The campaign's extra questions (``Campaign.ask_overall`` / ``ask_recommend``), optional
    # for the customer: overall satisfaction on the campaign's scale, and 0–10 "would you
    # recommend us". The driver analysis (``surveys.drivers``) reads them.
    overall = models.PositiveSmallIntegerField(_("overall satisfaction"), null=True, blank=True)
    recommend = models.PositiveSmallIntegerField(_("would recommend (0–10)"), null=True,
                                                 blank=True)

    class Meta:
        ordering = ["-submitted_at"]
        verbose_name = _("survey response")
        verbose_name_plural = _("survey responses")
        permissions = [(TRADE_AREA_PERMISSION_CODENAME,
                        _("Can key in trade-area questionnaires that count at once"))]
        indexes = [models.Index(fields=["campaign", "store", "status"]),
                   models.Index(fields=["store", "submitted_at"])]
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "store", "paper_key"], condition=~Q(paper_key=""),
                name="survey_response_paper_form_once"),
            models.CheckConstraint(
                condition=Q(overall__isnull=True) | Q(overall__gte=1, overall__lte=10),
                name="survey_response_overall_range"),
            models.CheckConstraint(
                condition=Q(recommend__isnull=True) | Q(recommend__gte=0, recommend__lte=10),
                name="survey_response_recommend_range"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.store_id}"

    @property
    def is_counted(self) -> bool:
        return self.status in COUNTED_STATUSES

    @property
    def reasons(self) -> list[str]:
        labels = dict(FlagReason.choices)
        return [str(labels.get(r, r)) for r in self.flag_reasons.split(",") if r]


class Answer(models.Model):
    response = models.ForeignKey(Response, on_delete=models.CASCADE, related_name="answers")
    indicator = models.ForeignKey(Indicator, on_delete=models.PROTECT, related_name="answers")
    rating = models.PositiveSmallIntegerField(_("rating"))
    expectation = models.PositiveSmallIntegerField(_("expectation"), null=True, blank=True)

    class Meta:
        verbose_name = _("answer")
        verbose_name_plural = _("answers")
        constraints = [
            models.UniqueConstraint(fields=["response", "indicator"],
                                    name="survey_answer_one_per_indicator"),
            models.CheckConstraint(condition=Q(rating__gte=1, rating__lte=10),
                                   name="survey_answer_rating_range"),
        ]

    def __str__(self) -> str:
        return f"{self.indicator_id}={self.rating}"


class IndicatorTally(models.Model):
    """The counted answers of a campaign summed per store, employee and indicator.

    Kept current by the services that change what counts (a response counted, cleared after
    review, or held back by the anomaly scan) in the same transaction, with increments that
    two writers cannot lose (``INSERT … ON CONFLICT DO UPDATE SET n = n + excluded.n``). The
    results pages and the rollup read these rows (stores × indicators) instead of every
    answer; ``manage.py survey_tallies_rebuild`` recomputes them from the answers.

    ``employee_key``: the employee the answers count for, 0 when they count for the store
    only (the response names no one, or names the person who keyed it in).
    """

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="+")
    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="+")
    employee_key = models.BigIntegerField(default=0)
    indicator = models.ForeignKey(Indicator, on_delete=models.CASCADE, related_name="+")
    n = models.IntegerField(default=0)
    rating_sum = models.BigIntegerField(default=0)
    bottom_n = models.IntegerField(default=0)
    expectation_n = models.IntegerField(default=0)
    expectation_sum = models.BigIntegerField(default=0)

    class Meta:
        verbose_name = _("survey tally")
        verbose_name_plural = _("survey tallies")
        constraints = [models.UniqueConstraint(
            fields=["campaign", "store", "employee_key", "indicator"],
            name="survey_tally_one_per_key")]

    def __str__(self) -> str:
        return f"{self.campaign_id}/{self.store_id}/{self.employee_key}/{self.indicator_id}"


class StoreFlagStatus(models.TextChoices):
    OPEN = "open", pgettext_lazy("flag status", "Open")
    CLEARED = "cleared", _("Cleared")
    CONFIRMED = "confirmed", _("Confirmed as manufactured")


class StoreFlag(models.Model):
    """A store whose answers in a campaign look manufactured, for HQ to review once."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="store_flags")
    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="+")
    reasons = models.JSONField(_("reasons"), default=list)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    status = models.CharField(_("status"), max_length=10, choices=StoreFlagStatus.choices,
                              default=StoreFlagStatus.OPEN)
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    reviewed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("suspicious store")
        verbose_name_plural = _("suspicious stores")
        constraints = [models.UniqueConstraint(fields=["campaign", "store"],
                                               name="survey_store_flag_once")]

    def __str__(self) -> str:
        return f"{self.campaign_id} {self.store_id}"
