"""Complaints (顾客投诉): intake, grading, the SLA clock, 8D reports, appeals, recurrence checks."""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import get_language, pgettext_lazy
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from satisfaction import history
from satisfaction.models import Department, Employee, Store


class Channel(models.TextChoices):
    IN_STORE = "in_store", _("In store")
    PHONE = "phone", _("Phone")
    LETTER = "letter", _("Letter")
    WEB = "web", _("Web")
    FAX = "fax", _("Fax")
    POS = "pos", _("POS")
    OTHER = "other", _("Other")


class Category(models.TextChoices):
    PRODUCT_QUALITY = "product_quality", _("Product quality")
    SERVICE_ATTITUDE = "service_attitude", _("Service attitude")
    PROFESSIONAL_ADVICE = "professional_advice", _("Professional advice / efficacy")
    PRICE = "price", _("Price")
    ENVIRONMENT = "environment", _("Environment")
    ASSORTMENT = "assortment", _("Assortment")
    OTHER = "other", _("Other")


class Grade(models.TextChoices):
    A = "A", _("A – most serious")
    B = "B", _("B – serious")
    C = "C", _("C – general")


GRADE_DEFINITIONS = {
    Grade.A: _("Medication safety or harm to health (wrong drug or dose, expired or "
               "counterfeit product, adverse reaction), or a complaint to a regulator or the "
               "media."),
    Grade.B: _("A real loss to the customer or a clear breach of service rules: wrong price "
               "charged, refused return, rude or dismissive staff, wrong professional advice "
               "without harm."),
    Grade.C: _("General dissatisfaction: waiting time, environment, out-of-stock items, a "
               "misunderstanding settled on the spot."),
}


class Responsibility(models.TextChoices):
    OWN_STORE = "own_store", _("Own store")
    OTHER_DEPARTMENT = "other_department", _("Another department")
    GREY_ZONE = "grey_zone", _("Grey zone (escalate for a decision)")


class Status(models.TextChoices):
    NEW = "new", _("New")
    ASSIGNED = "assigned", _("Assigned")
    IN_PROGRESS = "in_progress", pgettext_lazy("complaint status", "In progress")
    WAITING_CUSTOMER = "waiting_customer", _("Waiting for customer")
    RESOLVED = "resolved", _("Resolved")
    CLOSED = "closed", _("Closed")
    REOPENED = "reopened", _("Reopened")


OPEN_STATUSES = (Status.NEW, Status.ASSIGNED, Status.IN_PROGRESS, Status.WAITING_CUSTOMER,
                 Status.REOPENED)


class ComplaintKind(models.TextChoices):
    """A customer's complaint about a store, or a store's internal complaint about an HQ
    department (the stores are HQ's internal customers): same clock, owner and closing; an
    internal one has no grade, deducts nothing and counts in no customer figure."""

    CUSTOMER = "customer", pgettext_lazy("complaint kind", "Customer complaint")
    INTERNAL = "internal", pgettext_lazy("complaint kind", "Internal complaint")


class ComplaintQuerySet(models.QuerySet):
    """``Complaint.objects.customer()`` / ``.internal()``: every reader says which kind it
    reads (customer figures, lists, scoring and POS read customer complaints only)."""

    def customer(self) -> ComplaintQuerySet:
        return self.filter(kind=ComplaintKind.CUSTOMER)

    def internal(self) -> ComplaintQuerySet:
        return self.filter(kind=ComplaintKind.INTERNAL)


class Source(models.TextChoices):
    STAFF = "staff", _("Staff")
    PUBLIC = "public", _("Customer web form")
    API = "api", _("Other system (API)")


class ComplaintPolicy(models.Model):
    """The chain-wide complaint settings (one row, pk 1), edited by HQ on the setup page. The
    appeal window is the core's ``satisfaction.AppealWindow`` (kind ``complaint``)."""

    backdate_days = models.PositiveSmallIntegerField(
        _("receipt time at most this many days back"), default=7,
        help_text=_("Only HQ may record a complaint received earlier."))
    pause_while_waiting = models.BooleanField(
        _("pause the clock while waiting for the customer"), default=True)
    business_hours_clock = models.BooleanField(
        _("run the clock on store opening hours"), default=False,
        help_text=_("Stores without opening hours, and 24-hour stores, always run."))
    warn_fraction = models.FloatField(_("warn at this share of the time"), default=0.75)
    ungraded_resolution_hours = models.PositiveIntegerField(
        _("resolution deadline before grading (hours)"), default=24)
    internal_resolution_hours = models.PositiveIntegerField(
        _("resolution deadline of internal complaints (hours)"), default=24,
        help_text=_("A store's complaint to an HQ department: no grade, this deadline."))
    history = HistoricalRecords()  # who changed what (satisfaction/history.py)

    class Meta:
        verbose_name = _("complaint policy")
        verbose_name_plural = _("complaint policy")

    def __str__(self) -> str:
        return str(_("Complaint policy"))

    @classmethod
    def current(cls) -> ComplaintPolicy:
        policy, _created = cls.objects.get_or_create(pk=1)
        return policy


def default_recurrence_days() -> list[int]:
    return [30, 60, 90]


class GradePolicy(models.Model):
    """HQ's rules for one grade, as one version: its definition and examples (shown when
    grading), the SLA hours, the 8D requirement and the recurrence checks after closing.

    Versions are append-only: a change writes the grade's next version, and a graded complaint
    keeps the version it was graded under (``Complaint.grade_policy``), so a later change never
    alters a complaint already received. The current policy of a grade is its highest version.
    The points a graded complaint deducts are the scoring scheme's, not these."""

    grade = models.CharField(_("grade"), max_length=1, choices=Grade.choices)
    version = models.PositiveIntegerField(_("version"), default=1)
    definition_zh = models.TextField(_("definition (Chinese)"), max_length=1000, blank=True)
    definition_en = models.TextField(_("definition (English)"), max_length=1000, blank=True)
    examples_zh = models.TextField(_("examples (Chinese)"), max_length=2000, blank=True)
    examples_en = models.TextField(_("examples (English)"), max_length=2000, blank=True)
    resolution_hours = models.PositiveIntegerField(_("resolution deadline (hours)"), default=24)
    first_response_hours = models.PositiveIntegerField(
        _("first-response deadline (hours)"), null=True, blank=True)
    escalation_interval_hours = models.PositiveIntegerField(
        _("interval between escalation levels (hours)"), default=4)
    requires_8d = models.BooleanField(_("8D report required before closing"), default=False)
    recurrence_days = models.JSONField(
        _("recurrence checks (days after closing)"), default=default_recurrence_days,
        help_text=_("The owner confirms at each of these days after closing that the problem "
                    "has not recurred."))
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                   null=True, blank=True, related_name="+",
                                   verbose_name=_("created by"))
    history = HistoricalRecords()  # who changed what (satisfaction/history.py)

    class Meta:
        ordering = ["grade", "-version"]
        verbose_name = _("grade policy")
        verbose_name_plural = _("grade policies")
        constraints = [models.UniqueConstraint(fields=["grade", "version"],
                                               name="complaints_gradepolicy_version")]

    def __str__(self) -> str:
        return f"{self.grade} v{self.version}"

    @staticmethod
    def _in_language(zh: str, en: str) -> str:
        """HQ's text in the active language, else HQ's text in the other language."""
        chinese = (get_language() or "").lower().startswith("zh")
        first, second = (zh, en) if chinese else (en, zh)
        return first.strip() or second.strip()

    def definition(self) -> str:
        """The definition in the active language (``_in_language``), else the built-in one
        (``GRADE_DEFINITIONS``)."""
        return (self._in_language(self.definition_zh, self.definition_en)
                or str(GRADE_DEFINITIONS.get(self.grade, "")))

    def examples(self) -> str:
        """The examples in the active language (``_in_language``); may be empty."""
        return self._in_language(self.examples_zh, self.examples_en)


class StoreHours(models.Model):
    """A store's daily opening hours, for the optional business-hours SLA clock."""

    store = models.OneToOneField(Store, on_delete=models.CASCADE, related_name="complaint_hours",
                                 verbose_name=_("store"))
    opens_at = models.TimeField(_("opens at"), default="08:00")
    closes_at = models.TimeField(_("closes at"), default="22:00")
    open_24h = models.BooleanField(_("open 24 hours"), default=False)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("store opening hours")
        verbose_name_plural = _("store opening hours")
        constraints = [models.CheckConstraint(
            condition=Q(open_24h=True) | Q(closes_at__gt=models.F("opens_at")),
            name="complaints_storehours_closes_after_opens")]

    def __str__(self) -> str:
        return f"{self.store_id}: {self.opens_at}-{self.closes_at}"


class Complaint(models.Model):
    ticket_no = models.CharField(_("ticket number"), max_length=20, unique=True)
    kind = models.CharField(_("kind"), max_length=10, choices=ComplaintKind.choices,
                            default=ComplaintKind.CUSTOMER)
    department = models.ForeignKey(
        Department, on_delete=models.PROTECT, null=True, blank=True, db_index=False,
        related_name="internal_complaints", verbose_name=_("HQ department"),
        help_text=_("The HQ department an internal complaint is about (internal complaints "
                    "only)."))
    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="complaints",
                              db_index=False, verbose_name=_("store"))
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices)
    source = models.CharField(_("source"), max_length=10, choices=Source.choices,
                              default=Source.STAFF)
    customer_name = models.CharField(_("customer name"), max_length=100, blank=True)
    customer_phone = models.CharField(_("customer phone"), max_length=32, blank=True)
    customer_email = models.EmailField(
        _("customer e-mail"), blank=True,
        help_text=_("The complaint handling report is e-mailed here; without it, it is printed "
                    "as a letter."))
    category = models.CharField(_("category"), max_length=30, choices=Category.choices)
    description = models.TextField(_("description"))
    occurred_at = models.DateTimeField(_("happened at"), null=True, blank=True)
    received_at = models.DateTimeField(_("received at"))
    employee = models.ForeignKey(Employee, on_delete=models.SET_NULL, null=True, blank=True,
                                 db_index=False, related_name="complaints",
                                 verbose_name=_("employee involved"))
    received_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                    null=True, blank=True, db_index=False, related_name="+",
                                    verbose_name=_("first receiver"))

    # Triage by HQ
    grade = models.CharField(_("grade"), max_length=1, choices=Grade.choices, blank=True)
    substantiated = models.BooleanField(_("substantiated"), null=True, blank=True)
    responsibility = models.CharField(_("responsibility"), max_length=20,
                                      choices=Responsibility.choices, blank=True)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                              blank=True, related_name="owned_complaints",
                              verbose_name=_("handling owner"))
    graded_at = models.DateTimeField(_("graded at"), null=True, blank=True)
    grade_policy = models.ForeignKey(
        GradePolicy, on_delete=models.PROTECT, null=True, blank=True, related_name="complaints",
        verbose_name=_("grade policy version"),
        help_text=_("The version of the grade's policy the complaint was graded under."))

    # Handling
    status = models.CharField(_("status"), max_length=20, choices=Status.choices,
                              default=Status.NEW)
    first_response_at = models.DateTimeField(_("first response at"), null=True, blank=True)
    remedy = models.TextField(_("remedy"), blank=True)
    customer_satisfied = models.BooleanField(_("customer satisfied"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    resolved_on_time = models.BooleanField(_("resolved on time"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    is_second = models.BooleanField(_("second complaint"), default=False)
    previous = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True,
                                 db_index=False, related_name="repeats",
                                 verbose_name=_("earlier complaint about the same issue"))
    recurrence_of = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, db_index=False,
        related_name="recurrences",
        verbose_name=_("recurrence of a closed complaint"),
        help_text=_("Same store and category within the recurrence-check window after closing."))
    version = models.PositiveIntegerField(default=1)

    # The SLA clock: time already spent before the running segment, the running segment's
    # start (None while paused or stopped) and the deadlines it gives.
    cycle = models.PositiveSmallIntegerField(default=1)
    sla_spent_seconds = models.FloatField(default=0)
    clock_started_at = models.DateTimeField(null=True, blank=True)
    due_at = models.DateTimeField(_("due at"), null=True, blank=True)
    warn_at = models.DateTimeField(null=True, blank=True)
    first_response_due_at = models.DateTimeField(null=True, blank=True)
    next_alert_at = models.DateTimeField(null=True, blank=True)
    escalation_level = models.PositiveSmallIntegerField(_("escalation level"), default=0)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ComplaintQuerySet.as_manager()

    class Meta:
        ordering = ["-received_at", "-pk"]
        verbose_name = _("complaint")
        verbose_name_plural = _("complaints")
        constraints = [models.CheckConstraint(
            condition=(Q(kind="customer", department__isnull=True)
                       | Q(kind="internal", department__isnull=False)),
            name="complaints_internal_has_department")]
        # Every index is written again whenever the SLA sweep moves a complaint's next alert
        # (``next_alert_at`` is indexed, so no update of it is HOT): 1,000 alerts rewrite
        # 1,000 rows in each of them. So none repeats another's leading column (the store,
        # the department and the receipt time are found through the composite indexes that
        # start with them), and the links most complaints leave empty are indexed only where
        # set (enough for a lookup by that link, and for the checks when the linked row is
        # deleted).
        indexes = [
            # HQ's department figures: a quarter's internal complaints per department.
            models.Index(fields=["department", "received_at"],
                         name="complaint_department_idx",
                         condition=Q(department__isnull=False)),
            # The SLA sweep's scan: only rows with an alert still to come are in the index.
            models.Index(fields=["next_alert_at"], name="complaint_next_alert_idx",
                         condition=Q(next_alert_at__isnull=False)),
            models.Index(fields=["store", "received_at"], name="complaint_store_received_idx"),
            models.Index(fields=["status", "due_at"], name="complaint_status_due_idx"),
            models.Index(fields=["store", "category", "closed_at"],
                         name="complaint_recurrence_idx"),
            # The early-warning sweep's window: complaints per store, category and day.
            models.Index(fields=["received_at", "store", "category"],
                         name="complaint_spike_idx"),
            *(models.Index(fields=[link], name=f"complaint_{link}_idx",
                           condition=Q(**{f"{link}__isnull": False}))
              for link in ("employee", "received_by", "previous", "recurrence_of")),
        ]

    def __str__(self) -> str:
        return self.ticket_no

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def is_internal(self) -> bool:
        return self.kind == ComplaintKind.INTERNAL


class ComplaintAttachment(models.Model):
    complaint = models.ForeignKey(Complaint, on_delete=models.CASCADE,
                                  related_name="attachments")
    file = models.FileField(_("file"), upload_to="complaints/%Y/%m/")
    name = models.CharField(_("name"), max_length=200)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                    null=True, blank=True, related_name="+")
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pk"]
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")

    def __str__(self) -> str:
        return self.name


class AgeBand(models.TextChoices):
    UNDER_1 = "0", _("under 1")
    UNDER_18 = "1-17", _("1–17")
    ADULT = "18-64", _("18–64")
    SENIOR = "65+", _("65 or older")
    UNKNOWN = "unknown", _("unknown")


class Sex(models.TextChoices):
    FEMALE = "female", _("female")
    MALE = "male", _("male")
    UNKNOWN = "unknown", _("unknown")


class ReactionOutcome(models.TextChoices):
    RECOVERED = "recovered", _("Recovered")
    RECOVERING = "recovering", _("Recovering")
    NOT_RECOVERED = "not_recovered", _("Not recovered")
    SEQUELAE = "sequelae", _("Recovered with sequelae")
    DEATH = "death", _("Death")
    UNKNOWN = "unknown", _("Unknown")


def normalise_batch(value: str) -> str:
    """A batch / lot number as stored and searched: trimmed, inner spaces removed,
    upper-case (``ab 123`` and ``AB123`` are the same batch)."""
    return "".join(value.split()).upper()


class ComplaintProduct(models.Model):
    """The medicine a product complaint is about, and whether it may be an adverse drug
    reaction (药品不良反应), which pharmacies report to the national monitoring system. A
    batch problem in one store may be in fifty: HQ groups these by manufacturer and batch."""

    complaint = models.OneToOneField(Complaint, on_delete=models.CASCADE,
                                     related_name="product")
    medicine_name = models.CharField(_("medicine name"), max_length=200)
    specification = models.CharField(_("specification"), max_length=200, blank=True)
    manufacturer = models.CharField(_("manufacturer"), max_length=200, blank=True)
    batch_no = models.CharField(_("batch / lot number"), max_length=64, blank=True)
    supplier = models.CharField(_("supplier"), max_length=200, blank=True)
    suspected_adr = models.BooleanField(_("suspected adverse drug reaction"), default=False)
    patient_age_band = models.CharField(_("patient age"), max_length=10,
                                        choices=AgeBand.choices, blank=True)
    patient_sex = models.CharField(_("patient sex"), max_length=10, choices=Sex.choices,
                                   blank=True)
    reaction_description = models.TextField(_("reaction"), blank=True)
    reaction_started_on = models.DateField(_("reaction began on"), null=True, blank=True)
    reaction_outcome = models.CharField(_("outcome"), max_length=20,
                                        choices=ReactionOutcome.choices, blank=True)
    adr_notified_at = models.DateTimeField(_("HQ alerted at"), null=True, blank=True)
    adr_reported_at = models.DateTimeField(
        _("reported to the monitoring system at"), null=True, blank=True)

    class Meta:
        verbose_name = _("product complained about")
        verbose_name_plural = _("products complained about")
        indexes = [
            models.Index(fields=["manufacturer", "batch_no"], name="complaint_product_batch_idx"),
            models.Index(fields=["batch_no"], name="complaint_product_batchno_idx"),
            models.Index(fields=["suspected_adr"], name="complaint_product_adr_idx",
                         condition=Q(suspected_adr=True)),
        ]

    def __str__(self) -> str:
        return f"{self.medicine_name} {self.batch_no}".strip()


# What each event of a complaint's history says it did (stored as the key, shown translated);
# an event that moves the complaint to a status says so in the status's own words (Status).
EVENT_LABELS = {
    "created": pgettext_lazy("complaint event", "Created"),
    "triaged": pgettext_lazy("complaint event", "Graded and assigned"),
    "start": pgettext_lazy("complaint event", "Handling started"),
    "wait": Status.WAITING_CUSTOMER.label,
    "resume": pgettext_lazy("complaint event", "Handling resumed"),
    "resolve": Status.RESOLVED.label,
    "close": Status.CLOSED.label,
    "reopen": Status.REOPENED.label,
    "eight_d": pgettext_lazy("complaint event", "8D report saved"),
    "appeal_filed": pgettext_lazy("complaint event", "Appeal filed"),
    "appeal_accepted": pgettext_lazy("complaint event", "Appeal accepted"),
    "appeal_rejected": pgettext_lazy("complaint event", "Appeal rejected"),
    "product": pgettext_lazy("complaint event", "Product details changed"),
    "adr_reported": pgettext_lazy("complaint event", "Reported to the ADR monitoring system"),
    "recurred": pgettext_lazy("complaint event", "The problem recurred"),
    "recurrence_linked": pgettext_lazy("complaint event", "Linked as a recurrence"),
    "recurrence_checked": pgettext_lazy("complaint event", "Recurrence check answered"),
    "report_sent": pgettext_lazy("complaint event", "Handling report sent"),
    "store_confirmed": pgettext_lazy("complaint event", "The store answered"),
}


class ComplaintEvent(models.Model):
    """Every change: who, when, what (field: [old, new]), stored raw (field names, values) and
    shown in the reader's language (:attr:`label`, :attr:`fields`)."""

    complaint = models.ForeignKey(Complaint, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(auto_now_add=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                              blank=True, related_name="+")
    action = models.CharField(max_length=30)
    changes = models.JSONField(default=dict, blank=True)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["at", "pk"]
        verbose_name = _("complaint event")
        verbose_name_plural = _("complaint events")

    def __str__(self) -> str:
        return f"{self.complaint_id} {self.action}"

    @property
    def label(self) -> str:
        return str(EVENT_LABELS.get(self.action, self.action))

    @property
    def fields(self) -> tuple[history.FieldChange, ...]:
        """What changed, each field by its name and values in the reader's language (read
        for a whole history at once by :meth:`with_fields`)."""
        shown = getattr(self, "_fields", None)
        if shown is None:
            shown = self._fields = history.event_changes(self.changes, Complaint,
                                                         **_event_keys())
        return shown

    @classmethod
    def with_fields(cls, events: Iterable[ComplaintEvent]) -> list[ComplaintEvent]:
        """``events`` with their :attr:`fields` worked out together: the people and objects
        the history names are read once for all of them, not once per entry."""
        events = list(events)
        keys = _event_keys()
        names = history.event_names((e.changes for e in events), Complaint, **keys)
        for event in events:
            event._fields = history.event_changes(event.changes, Complaint, names=names,
                                                  **keys)
        return events


def _event_keys() -> dict:
    """How a complaint's history names its keys (``history.event_changes``' related/keys)."""
    return {"related": {"product": ComplaintProduct}, "keys": {
        "appeal": (pgettext_lazy("complaint event", "Appeal"),
                   Appeal._meta.get_field("kind")),  # noqa: SLF001
        "sections": (pgettext_lazy("complaint event", "8D sections"), EightDReport),
        "recurrence": (pgettext_lazy("complaint event", "Recurrence"), None),
        "recurrence_of": (pgettext_lazy("complaint event", "Recurrence of"), None),
        "contradicted_by": (pgettext_lazy("complaint event", "Contradicted by"), None),
        "recurred": (pgettext_lazy("complaint event", "Recurred"), None),
        "interval_days": (_("Days after closing"), None)}}


class EightDReport(models.Model):
    """投诉处理报告: the 8D complaint handling report, archived read-only once closed."""

    complaint = models.OneToOneField(Complaint, on_delete=models.CASCADE,
                                     related_name="eight_d")
    d1_team = models.TextField(_("D1 team"), blank=True)
    d2_problem = models.TextField(_("D2 problem"), blank=True)
    d3_containment = models.TextField(_("D3 containment"), blank=True)
    d4_root_cause = models.TextField(_("D4 root cause"), blank=True)
    d5_corrective_action = models.TextField(_("D5 corrective action"), blank=True)
    d6_implementation = models.TextField(_("D6 implementation and verification"), blank=True)
    d7_prevention = models.TextField(_("D7 prevention of recurrence"), blank=True)
    d8_closure = models.TextField(_("D8 closure"), blank=True)
    version = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                   null=True, blank=True, related_name="+")
    archived_at = models.DateTimeField(_("archived at"), null=True, blank=True)
    customer_summary = models.TextField(
        _("summary for the customer"), blank=True,
        help_text=_("What happened and what was done, in words for the customer: it goes into "
                    "the report sent to them. No internal root-cause analysis or staff names."))
    reopened_at = models.DateTimeField(_("reopened at"), null=True, blank=True)
    reopened_for = models.ForeignKey(
        Complaint, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        verbose_name=_("reopened for the recurrence"),
        help_text=_("The new complaint showing the prevention failed: D4 to D7 are open again."))

    SECTIONS = ("d1_team", "d2_problem", "d3_containment", "d4_root_cause",
                "d5_corrective_action", "d6_implementation", "d7_prevention", "d8_closure")

    class Meta:
        verbose_name = _("8D report")
        verbose_name_plural = _("8D reports")

    def __str__(self) -> str:
        return f"8D {self.complaint_id}"

    @property
    def is_complete(self) -> bool:
        return all(getattr(self, name).strip() for name in self.SECTIONS)

    def sections(self) -> list[tuple[str, str, str]]:
        return [(name, self._meta.get_field(name).verbose_name, getattr(self, name))
                for name in self.SECTIONS]


class AppealKind(models.TextChoices):
    GRADE = "grade", _("Grade")
    SUBSTANTIATION = "substantiation", _("Substantiation")


class AppealStatus(models.TextChoices):
    OPEN = "open", pgettext_lazy("appeal status", "Open")
    ACCEPTED = "accepted", _("Accepted")
    REJECTED = "rejected", _("Rejected")


class Appeal(models.Model):
    complaint = models.ForeignKey(Complaint, on_delete=models.CASCADE, related_name="appeals")
    kind = models.CharField(_("appeal against"), max_length=20, choices=AppealKind.choices)
    requested_grade = models.CharField(_("requested grade"), max_length=1, choices=Grade.choices,
                                       blank=True)
    requested_substantiated = models.BooleanField(_("requested substantiation"), null=True,
                                                  blank=True)
    reason = models.TextField(_("reason"))
    filed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                                 related_name="+")
    filed_at = models.DateTimeField(auto_now_add=True)
    status = models.CharField(_("status"), max_length=10, choices=AppealStatus.choices,
                              default=AppealStatus.OPEN)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                   null=True, blank=True, related_name="+")
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_reason = models.TextField(_("reason for the decision"), blank=True)

    class Meta:
        ordering = ["-filed_at", "-pk"]
        verbose_name = _("appeal")
        verbose_name_plural = _("appeals")
        constraints = [models.UniqueConstraint(
            fields=["complaint"], condition=Q(status="open"),
            name="complaints_one_open_appeal")]

    def __str__(self) -> str:
        return f"{self.complaint_id} {self.kind}"


class RecurrenceCheck(models.Model):
    """定期确认不良有无再发生: at each of the grade's intervals after closing (30/60/90 days by
    default) the owner confirms the problem has not recurred.

    ``recurrence`` is a later complaint linked to this one (same store and category, or the
    same product batch) inside the check's window: it marks an open check recurred at once,
    and turns a check answered "not recurred" red."""

    complaint = models.ForeignKey(Complaint, on_delete=models.CASCADE,
                                  related_name="recurrence_checks")
    cycle = models.PositiveSmallIntegerField(default=1)
    interval_days = models.PositiveSmallIntegerField(_("days after closing"), default=30)
    due_at = models.DateTimeField(_("due at"))
    notified_at = models.DateTimeField(null=True, blank=True)
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True)
    confirmed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                     null=True, blank=True, related_name="+")
    recurred = models.BooleanField(_("the problem recurred"), null=True, blank=True)
    note = models.TextField(_("note"), blank=True)
    recurrence = models.ForeignKey(
        Complaint, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        verbose_name=_("recurring complaint"))

    class Meta:
        ordering = ["due_at", "pk"]
        verbose_name = _("recurrence check")
        verbose_name_plural = _("recurrence checks")
        constraints = [models.UniqueConstraint(fields=["complaint", "cycle", "interval_days"],
                                               name="complaints_recurrence_check_once")]
        indexes = [models.Index(fields=["due_at"], name="complaint_recur_due_idx",
                                condition=Q(notified_at__isnull=True))]

    def __str__(self) -> str:
        return f"{self.complaint_id} +{self.interval_days}d"


class AlertKind(models.TextChoices):
    FIRST_RESPONSE = "first_response", _("First response overdue")
    WARN = "warn", _("Deadline approaching")
    ESCALATE = "escalate", _("Deadline passed: escalated")
    RECURRENCE = "recurrence", _("Recurrence check due")


class SlaAlert(models.Model):
    """One alert, recorded under a unique key BEFORE it is sent: never sent twice."""

    # Found through ``complaints_alert_once``, which starts with it.
    complaint = models.ForeignKey(Complaint, on_delete=models.CASCADE, related_name="alerts",
                                  db_index=False)
    cycle = models.PositiveSmallIntegerField(default=1)
    kind = models.CharField(max_length=20, choices=AlertKind.choices)
    level = models.PositiveSmallIntegerField(default=0)
    due_at = models.DateTimeField()
    recorded_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    sweep_token = models.CharField(max_length=32)

    class Meta:
        ordering = ["recorded_at", "pk"]
        verbose_name = _("SLA alert")
        verbose_name_plural = _("SLA alerts")
        constraints = [models.UniqueConstraint(
            fields=["complaint", "cycle", "kind", "level"], name="complaints_alert_once")]
        indexes = [models.Index(fields=["sweep_token"], name="complaint_alert_token_idx"),
                   models.Index(fields=["recorded_at"], name="complaint_alert_unsent_idx",
                                condition=Q(sent_at__isnull=True))]

    def __str__(self) -> str:
        return f"{self.complaint_id} {self.kind} {self.level}"


class SpikeScope(models.TextChoices):
    STORE = "store", _("Store")
    REGION = "region", _("Region")


class ComplaintSpike(models.Model):
    """Early warning: a store's or a region's complaints in one category over the last 7 days
    above the upper bound of its own baseline (the 8 weeks before). One row per spike: it stays
    open (``ended_on`` empty) while the daily sweep still sees it, so it alerts once."""

    scope = models.CharField(_("level"), max_length=10, choices=SpikeScope.choices)
    store = models.ForeignKey(Store, on_delete=models.CASCADE, null=True, blank=True,
                              related_name="+", verbose_name=_("store"))
    region = models.ForeignKey("satisfaction.Region", on_delete=models.CASCADE, null=True,
                               blank=True, related_name="+", verbose_name=_("region"))
    category = models.CharField(_("category"), max_length=30, choices=Category.choices)
    started_on = models.DateField(_("first seen on"))
    last_seen_on = models.DateField(_("last seen on"))
    ended_on = models.DateField(_("ended on"), null=True, blank=True)
    count = models.PositiveIntegerField(_("complaints in 7 days"))
    peak_count = models.PositiveIntegerField(_("most complaints in 7 days"))
    baseline_per_week = models.FloatField(_("baseline per week"))
    threshold = models.PositiveIntegerField(_("alert at"))
    alerted_at = models.DateTimeField(_("alerted at"), null=True, blank=True)

    class Meta:
        ordering = ["-last_seen_on", "-peak_count", "pk"]
        verbose_name = _("complaint spike")
        verbose_name_plural = _("complaint spikes")
        constraints = [
            models.UniqueConstraint(fields=["store", "category"],
                                    condition=Q(ended_on__isnull=True, scope="store"),
                                    name="complaints_one_open_store_spike"),
            models.UniqueConstraint(fields=["region", "category"],
                                    condition=Q(ended_on__isnull=True, scope="region"),
                                    name="complaints_one_open_region_spike"),
            models.CheckConstraint(
                condition=(Q(scope="store", store__isnull=False, region__isnull=True)
                           | Q(scope="region", region__isnull=False, store__isnull=True)),
                name="complaints_spike_scope"),
        ]

    def __str__(self) -> str:
        return f"{self.scope} {self.store_id or self.region_id} {self.category} {self.started_on}"
