"""The chain's core: regions, stores, employees, and the people who log in."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from urllib.parse import urlsplit

from django.contrib.auth.models import AbstractUser
from django.core.validators import RegexValidator
from django.db import models
from django.db.models.functions import Upper
from django.utils import timezone
from django.utils.translation import get_language, pgettext_lazy
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

#: Store codes and employee numbers (and the POS API's store and cashier fields): 1-32 ASCII
#: letters, digits, ``-``, ``_`` and ``.``, starting with a letter or digit; no ``/``, no
#: spaces. A store code is part of URLs (``/stores/<code>/``, ``/q/<code>``), so anything
#: else would make its links impossible to build.
CODE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}\Z")
CODE_RULE = _("1-32 letters, digits, '-', '_' or '.', starting with a letter or digit "
              "(no '/' or spaces)")
code_validator = RegexValidator(CODE_PATTERN, CODE_RULE, code="invalid_code")


class Region(models.Model):
    code = models.CharField(_("region code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=100)

    class Meta:
        ordering = ["code"]
        verbose_name = _("region")
        verbose_name_plural = _("regions")

    def __str__(self) -> str:
        return self.name


class Store(models.Model):
    code = models.CharField(_("store code"), max_length=32, unique=True,
                            validators=[code_validator])
    name = models.CharField(_("name"), max_length=100)
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="stores",
                               verbose_name=_("region"))
    city = models.CharField(_("city"), max_length=64, db_index=True)
    address = models.CharField(_("address"), max_length=255, blank=True)
    opened_on = models.DateField(_("opened on"), null=True, blank=True)
    closed_on = models.DateField(_("closed on"), null=True, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("store")
        verbose_name_plural = _("stores")
        indexes = [models.Index(fields=["region", "city"])]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class EmployeeRole(models.TextChoices):
    CLERK = "clerk", _("Clerk")
    PHARMACIST = "pharmacist", _("Pharmacist")
    STORE_MANAGER = "store_manager", _("Store manager")


class Employee(models.Model):
    number = models.CharField(_("employee number"), max_length=32, unique=True,
                              validators=[code_validator])
    name = models.CharField(_("name"), max_length=100)
    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="employees",
                              verbose_name=_("store"))
    role = models.CharField(pgettext_lazy("employee", "role"), max_length=20,
                            choices=EmployeeRole.choices,
                            default=EmployeeRole.CLERK)
    hired_on = models.DateField(_("hired on"), null=True, blank=True)
    left_on = models.DateField(_("left on"), null=True, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["store__code", "number"]
        verbose_name = _("employee")
        verbose_name_plural = _("employees")
        indexes = [models.Index(fields=["store", "is_active"])]

    def __str__(self) -> str:
        return f"{self.number} {self.name}"


class Department(models.Model):
    """An HQ department that serves the stores (internal customers, seed 000): logistics,
    merchandising, pricing, IT, HR, training by default (a data migration makes them); HQ
    renames, reorders, adds or retires them in the admin. The stores rate them each quarter
    (``internal_service``) and file internal complaints to them (``complaints``)."""

    code = models.CharField(_("department code"), max_length=32, unique=True,
                            validators=[code_validator])
    name_zh = models.CharField(_("name (Chinese)"), max_length=100)
    name_en = models.CharField(_("name (English)"), max_length=100, blank=True)
    is_active = models.BooleanField(
        _("active"), default=True,
        help_text=_("Inactive departments are no longer rated and take no new complaints."))
    order = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        ordering = ["order", "code"]
        verbose_name = _("HQ department")
        verbose_name_plural = _("HQ departments")

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        """The name in the active language, else the other one."""
        chinese = (get_language() or "").lower().startswith("zh")
        first, second = (self.name_zh, self.name_en) if chinese else (self.name_en, self.name_zh)
        return first.strip() or second.strip() or self.code


class Role(models.TextChoices):
    """What a login may see and do; which stores it sees is ``satisfaction.scoping``'s rule."""

    HQ_ADMIN = "hq_admin", _("HQ customer relations")
    REGIONAL_MANAGER = "regional_manager", _("Regional manager")
    STORE_MANAGER = "store_manager", _("Store manager")
    CLERK = "clerk", _("Clerk / pharmacist")
    MYSTERY_SHOPPER = "mystery_shopper", _("Mystery shopper")
    HR = "hr", _("HR")
    DEPARTMENT_HEAD = "department_head", _("HQ department head")


class User(AbstractUser):
    role = models.CharField(_("role"), max_length=20, choices=Role.choices, default=Role.CLERK)
    regions = models.ManyToManyField(Region, blank=True, related_name="users",
                                     verbose_name=_("regions"),
                                     help_text=_("Regions a regional manager may see."))
    stores = models.ManyToManyField(Store, blank=True, related_name="users",
                                    verbose_name=_("stores"),
                                    help_text=_("Stores a store manager or clerk may see."))
    employee = models.OneToOneField(Employee, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="user", verbose_name=_("employee record"))
    departments = models.ManyToManyField(
        Department, blank=True, related_name="heads", verbose_name=_("HQ departments"),
        help_text=_("Departments an HQ department head answers for."))

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [
            models.UniqueConstraint(Upper("username"), name="user_username_ci_unique"),
        ]

    def has_perm(self, perm, obj=None) -> bool:
        # HQ customer relations configures everything (docs/domain.md: "sees everything"); the role,
        # not a hand-kept permission list, decides that.
        if self.is_active and self.role == Role.HQ_ADMIN:
            return True
        return super().has_perm(perm, obj)

    def has_module_perms(self, app_label) -> bool:
        if self.is_active and self.role == Role.HQ_ADMIN:
            return True
        return super().has_module_perms(app_label)

    @property
    def is_hq(self) -> bool:
        return self.is_superuser or self.role == Role.HQ_ADMIN

    @property
    def is_hr(self) -> bool:
        return self.role == Role.HR

    @property
    def is_regional_manager(self) -> bool:
        return self.role == Role.REGIONAL_MANAGER

    @property
    def is_store_manager(self) -> bool:
        return self.role == Role.STORE_MANAGER

    @property
    def is_shopper(self) -> bool:
        return self.role == Role.MYSTERY_SHOPPER

    @property
    def is_department_head(self) -> bool:
        return self.role == Role.DEPARTMENT_HEAD


class Notification(models.Model):
    """An in-app message for one user (the bell with its unread count)."""

    # Found through the (user, read_at) index, which starts with it.
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="notifications",
                             db_index=False)
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("message"), blank=True)
    url = models.CharField(_("link"), max_length=500, blank=True)
    # Which service sent it (e.g. "complaint_warn"); no query reads by it, so no index: a burst
    # of alerts writes 1,000 rows at once.
    kind = models.CharField(_("kind"), max_length=50, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        indexes = [models.Index(fields=["user", "read_at"])]

    def __str__(self) -> str:
        return self.title


class AppealWindowKind(models.TextChoices):
    """What can be appealed within a window (the apps read their own kind's row)."""

    COMPLAINT = "complaint", _("Complaint grading")
    MYSTERY_SHOPPER = "mystery_shopper", _("Mystery-shopper report")


DEFAULT_APPEAL_DAYS = 7


class AppealWindow(models.Model):
    """How many days after a decision a store may appeal it: one row per kind, edited by HQ
    in the admin (``satisfaction.services.appeal_window_set``). A complaint's window runs from
    its grading, a mystery-shopper report's from its approval."""

    kind = models.CharField(_("appeal against"), max_length=20,
                            choices=AppealWindowKind.choices, unique=True)
    days = models.PositiveSmallIntegerField(_("days to appeal"), default=DEFAULT_APPEAL_DAYS)
    # The history's own user and date say who changed it and when (satisfaction/history.py).
    history = HistoricalRecords()

    class Meta:
        ordering = ["kind"]
        verbose_name = _("appeal window")
        verbose_name_plural = _("appeal windows")

    def __str__(self) -> str:
        return str(self.get_kind_display())

    def _updated_by(self) -> User | None:
        last = self.history.first()  # the newest change
        return last.history_user if last is not None else None

    def _updated_at(self) -> datetime | None:
        last = self.history.first()
        return last.history_date if last is not None else None

    _updated_by.short_description = _("updated by")  # the admin's column and field labels
    _updated_at.short_description = _("updated at")
    updated_by = property(_updated_by)
    updated_at = property(_updated_at)


class DeliveryChannel(models.TextChoices):
    EMAIL = "email", pgettext_lazy("delivery", "E-mail")
    WEBHOOK = "webhook", pgettext_lazy("delivery", "Webhook")


class DeliveryState(models.TextChoices):
    PENDING = "pending", pgettext_lazy("delivery", "Pending")
    SENT = "sent", pgettext_lazy("delivery", "Sent")
    FAILED = "failed", pgettext_lazy("delivery", "Failed")


class Delivery(models.Model):
    """The outbox: one e-mail or webhook call a notification owes, written in the same
    transaction as the in-app rows (``satisfaction.notifications``) and sent by the sweep
    (``satisfaction.delivery.deliveries_send_due``), at least once, under its idempotency key.

    ``pending`` rows are due at ``next_attempt_at`` (also the lease of a row being sent: a
    worker that dies mid-send leaves it pending, and it is due again when the lease runs out);
    ``sent`` is final; ``failed`` after the last attempt, until HQ resends it."""

    channel = models.CharField(_("channel"), max_length=10, choices=DeliveryChannel.choices)
    user = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="deliveries", verbose_name=_("user"))
    address = models.CharField(_("address"), max_length=500,
                               help_text=_("E-mail address or webhook URL when written."))
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("message"), blank=True)
    url = models.CharField(_("link"), max_length=500, blank=True)
    kind = models.CharField(_("kind"), max_length=50, blank=True)
    idempotency_key = models.UUIDField(_("idempotency key"), default=uuid.uuid4, unique=True,
                                       editable=False)
    state = models.CharField(_("state"), max_length=10, choices=DeliveryState.choices,
                             default=DeliveryState.PENDING)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"), default=timezone.now)
    last_error = models.TextField(_("last error"), blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta:
        ordering = ["-pk"]
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        indexes = [
            # The sweep's claim (due pending rows in order) and the pending counts.
            models.Index(fields=["next_attempt_at"], name="delivery_pending_due_idx",
                         condition=models.Q(state=DeliveryState.PENDING)),
            # HQ's list of failed rows, newest first.
            models.Index(fields=["created_at"], name="delivery_failed_idx",
                         condition=models.Q(state=DeliveryState.FAILED)),
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} → {self.recipient_display}: {self.title}"

    @property
    def recipient_display(self) -> str:
        """The e-mail address, or the webhook's host only (its URL carries the robot's key)."""
        if self.channel == DeliveryChannel.WEBHOOK:
            return urlsplit(self.address).hostname or "-"
        return self.address


class JobState(models.TextChoices):
    QUEUED = "queued", pgettext_lazy("job", "Waiting")
    RUNNING = "running", pgettext_lazy("job", "Running")
    DONE = "done", pgettext_lazy("job", "Done")
    FAILED = "failed", pgettext_lazy("job", "Failed")


ACTIVE_JOB_STATES = (JobState.QUEUED, JobState.RUNNING)


def job_file_path(instance: Job, file_name: str) -> str:
    return f"jobs/{instance.public_id}/{file_name}"


class Job(models.Model):
    """Work too long for a request (a rollup, publishing, an import, a large export), run by
    Celery (or at once in eager mode) and watched on its page: who started it, its progress,
    its result or its error (``satisfaction.jobs``).

    ``key`` names what the job works on (a quarter, a campaign): a database constraint keeps
    one queued-or-running job per (kind, key), so a double click or a second user gets the
    running one. Uploaded input and the result file are kept for ``JOB_FILE_HOURS``."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    kind = models.CharField(_("kind"), max_length=50)
    key = models.CharField(_("works on"), max_length=100, blank=True)
    created_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL,
                                   related_name="jobs", verbose_name=_("started by"))
    created_at = models.DateTimeField(_("started at"), default=timezone.now)
    language = models.CharField(max_length=10, blank=True)
    params = models.JSONField(default=dict, blank=True)
    state = models.CharField(_("state"), max_length=10, choices=JobState.choices,
                             default=JobState.QUEUED)
    started_at = models.DateTimeField(_("running since"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    done = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    result = models.JSONField(default=dict, blank=True)
    error = models.TextField(_("error"), blank=True)
    input_file = models.FileField(upload_to=job_file_path, max_length=200, blank=True)
    input_name = models.CharField(max_length=200, blank=True)
    output_file = models.FileField(upload_to=job_file_path, max_length=200, blank=True)
    output_name = models.CharField(max_length=200, blank=True)
    files_deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("background job")
        verbose_name_plural = _("background jobs")
        constraints = [
            models.UniqueConstraint(fields=["kind", "key"], name="one_active_job_per_key",
                                    condition=models.Q(state__in=ACTIVE_JOB_STATES)),
        ]
        indexes = [models.Index(fields=["created_by", "-created_at"], name="job_user_idx")]

    def __str__(self) -> str:
        return f"{self.kind} {self.key}".strip()

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("job", kwargs={"public_id": self.public_id})

    @property
    def is_active(self) -> bool:
        return self.state in ACTIVE_JOB_STATES

    @property
    def percent(self) -> int:
        if self.state == JobState.DONE:
            return 100
        return int(100 * self.done / self.total) if self.total else 0
