"""The only functions that write complaints, their reports, appeals and alerts."""

from __future__ import annotations

import logging
import secrets
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from satisfaction.errors import ApplicationError
from satisfaction.models import Employee, Role, Store, User
from satisfaction.notifications import notification_send
from satisfaction.quarters import chain_zone
from satisfaction.uploads import AUDIO, PDF, PHOTO, VIDEO, sniff

from . import rules, sla
from .models import (
    OPEN_STATUSES,
    AlertKind,
    Appeal,
    AppealKind,
    AppealStatus,
    Category,
    Channel,
    Complaint,
    ComplaintAttachment,
    ComplaintEvent,
    ComplaintPolicy,
    EightDReport,
    Grade,
    GradePolicy,
    RecurrenceCheck,
    Responsibility,
    SlaAlert,
    Source,
    Status,
    StoreHours,
)

logger = logging.getLogger(__name__)

TICKET_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
MAX_ATTACHMENTS = 5
ATTACHMENT_KINDS = frozenset({PHOTO, AUDIO, PDF, VIDEO})
DEFAULT_ESCALATION_HOURS = 4
# Changes to these are bookkeeping of the clock, not something a person did: not logged.
UNLOGGED_FIELDS = frozenset({"sla_spent_seconds", "clock_started_at", "warn_at",
                             "first_response_due_at", "next_alert_at", "updated_at"})


def _forbidden() -> ApplicationError:
    return ApplicationError(_("You may not do this with this complaint."), code="forbidden",
                            status=403)


def _conflict() -> ApplicationError:
    return ApplicationError(
        _("Someone else changed this complaint while you were editing it. Reload the page to "
          "see their change, then try again."), code="conflict", status=409)


# --- Policy and the clock -----------------------------------------------------------------------

def _grade_policies() -> dict[str, GradePolicy]:
    policies = {p.grade: p for p in GradePolicy.objects.all()}
    for grade in Grade.values:
        policies.setdefault(grade, GradePolicy(grade=grade, requires_8d=grade in ("A", "B")))
    return policies


def _budget_seconds(grade: str, policy: ComplaintPolicy,
                    grades: dict[str, GradePolicy]) -> float:
    hours = grades[grade].resolution_hours if grade else policy.ungraded_resolution_hours
    return hours * 3600.0


def _escalation_interval(grade: str, grades: dict[str, GradePolicy]) -> timedelta:
    if grade:
        return timedelta(hours=grades[grade].escalation_interval_hours)
    return timedelta(hours=min((p.escalation_interval_hours for p in grades.values()),
                               default=DEFAULT_ESCALATION_HOURS))


def _opening_hours(store_id: int, policy: ComplaintPolicy) -> sla.OpeningHours | None:
    if not policy.business_hours_clock:
        return None
    hours = StoreHours.objects.filter(store_id=store_id).first()
    if hours is None or hours.open_24h:
        return None
    return sla.OpeningHours(hours.opens_at, hours.closes_at, chain_zone())


def _clock_fields(complaint: Complaint, *, now: datetime, running: bool, grade: str,
                  policy: ComplaintPolicy, grades: dict[str, GradePolicy],
                  restart: bool = False) -> dict:
    """The clock after a change at ``now``: time already spent is kept (unless ``restart``),
    the running segment restarts at ``now`` (or the clock pauses), deadlines recomputed."""
    hours = _opening_hours(complaint.store_id, policy)
    spent = 0.0 if restart else complaint.sla_spent_seconds
    if complaint.clock_started_at is not None and not restart:
        spent += sla.work_seconds_between(complaint.clock_started_at, now, hours)
    started = now if running else None
    budget = _budget_seconds(grade, policy, grades)
    due = sla.deadlines(spent_seconds=spent, running_since=started, budget_seconds=budget,
                        warn_fraction=policy.warn_fraction, hours=hours)
    first_response_due = None
    if grade and grades[grade].first_response_hours and complaint.first_response_at is None \
            and complaint.cycle == 1:
        first_response_due = sla.add_work_seconds(
            complaint.received_at, grades[grade].first_response_hours * 3600.0, hours)
    schedule = sla.alert_schedule(
        warn_at=due.warn_at, due_at=due.due_at, first_response_due_at=first_response_due,
        responded=complaint.first_response_at is not None,
        escalation_interval=_escalation_interval(grade, grades)) if running else []
    return {
        "sla_spent_seconds": spent, "clock_started_at": started, "due_at": due.due_at,
        "warn_at": due.warn_at, "first_response_due_at": first_response_due,
        "next_alert_at": min((a.at for a in schedule), default=None),
    }


# --- Saving with an optimistic lock ---------------------------------------------------------

def _json_value(value: object) -> object:
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _log(complaint: Complaint, *, actor: User | None, action: str, changes: dict | None = None,
         note: str = "") -> None:
    ComplaintEvent.objects.create(complaint=complaint, actor=actor, action=action,
                                  changes=changes or {}, note=note)


def _save(complaint: Complaint, *, version: int, actor: User | None, action: str,
          fields: dict, note: str = "") -> Complaint:
    """Write ``fields`` only if nobody saved since ``version`` was read (else a 409)."""
    if complaint.version != version:
        raise _conflict()
    old = {name: getattr(complaint, name) for name in fields}
    updated = Complaint.objects.filter(pk=complaint.pk, version=version).update(
        **fields, version=version + 1, updated_at=timezone.now())
    if updated != 1:
        raise _conflict()
    for name, value in fields.items():
        setattr(complaint, name, value)
    complaint.version = version + 1
    changes = {name.removesuffix("_id"): [_json_value(old[name]), _json_value(value)]
               for name, value in fields.items()
               if name not in UNLOGGED_FIELDS and old[name] != value}
    _log(complaint, actor=actor, action=action, changes=changes, note=note)
    return complaint


# --- Intake ---------------------------------------------------------------------------------

def _new_ticket_no(now: datetime) -> str:
    suffix = "".join(secrets.choice(TICKET_ALPHABET) for _ in range(6))
    return f"C{timezone.localtime(now, chain_zone()):%y%m%d}{suffix}"


def _validate_attachment(upload: UploadedFile) -> str:
    if upload.size > settings.UPLOAD_MAX_BYTES:
        raise ApplicationError(
            _("The file %(name)s is too large.") % {"name": upload.name},
            fields={"attachments": [_("Files may be at most %(mb)s MB.") % {
                "mb": settings.UPLOAD_MAX_BYTES // (1024 * 1024)}]}, code="file_too_large")
    head = upload.read(8192)
    upload.seek(0)
    sniffed = sniff(head)
    if sniffed is None or sniffed.kind not in ATTACHMENT_KINDS:
        raise ApplicationError(
            _("The file %(name)s is not a photo, PDF, audio or video file.") % {
                "name": upload.name},
            fields={"attachments": [_("Attach photos, PDF, audio or video files.")]},
            code="unsupported_file")
    return sniffed.content_type


def attachment_add(*, complaint: Complaint, upload: UploadedFile,
                   user: User | None = None) -> ComplaintAttachment:
    if complaint.attachments.count() >= MAX_ATTACHMENTS:
        raise ApplicationError(
            _("A complaint may have at most %(n)s attachments.") % {"n": MAX_ATTACHMENTS},
            fields={"attachments": [_("Too many files.")]}, code="too_many_files")
    mime = _validate_attachment(upload)
    attachment = ComplaintAttachment(complaint=complaint, name=upload.name[:200],
                                     content_type=mime, size=upload.size,
                                     uploaded_by=user if user and user.is_authenticated else None)
    attachment.file.save(upload.name, upload, save=False)
    attachment.save()
    return attachment


def _find_related(*, store: Store, category: str, phone: str, now: datetime,
                  policy: ComplaintPolicy, previous_ticket: str
                  ) -> tuple[Complaint | None, Complaint | None]:
    """(the earlier complaint this one repeats, the closed complaint it is a recurrence of)."""
    window_start = now - timedelta(days=policy.recurrence_check_days)
    previous = None
    if previous_ticket:
        previous = Complaint.objects.filter(ticket_no=previous_ticket.strip().upper(),
                                            store=store).first()
        if previous is None:
            raise ApplicationError(
                _("No earlier complaint with this ticket number at this store."),
                fields={"previous_ticket": [_("Unknown ticket number.")]}, code="unknown_ticket")
    elif phone:
        previous = (Complaint.objects
                    .filter(store=store, category=category, customer_phone=phone)
                    .filter(Q(status__in=(*OPEN_STATUSES, Status.RESOLVED))
                            | Q(closed_at__gte=window_start))
                    .order_by("-received_at").first())
    recurrence_of = (Complaint.objects
                     .filter(store=store, category=category, status=Status.CLOSED,
                             closed_at__gte=window_start, closed_at__lte=now)
                     .order_by("-closed_at").first())
    return previous, recurrence_of


def _validate_intake(*, store: Store, channel: str, category: str, description: str,
                     customer_phone: str, occurred_at: datetime | None, received_at: datetime,
                     now: datetime, employee: Employee | None, source: str,
                     attachment_count: int) -> None:
    errors: dict[str, list[str]] = {}
    if channel not in Channel.values:
        errors["channel"] = [_("Choose a channel.")]
    if category not in Category.values:
        errors["category"] = [_("Choose a category.")]
    if not description.strip():
        errors["description"] = [_("Describe what happened.")]
    if received_at > now + timedelta(minutes=5):
        errors["received_at"] = [_("The receipt time cannot be in the future.")]
    if occurred_at is not None and occurred_at > received_at + timedelta(minutes=5):
        errors["occurred_at"] = [_("It cannot have happened after the complaint was received.")]
    if source == Source.PUBLIC and len("".join(c for c in customer_phone if c.isdigit())) < 7:
        errors["customer_phone"] = [_("Enter your phone number so that we can reach you.")]
    if employee is not None and employee.store_id != store.pk:
        errors["employee"] = [_("This employee does not work at this store.")]
    if not store.is_active:
        errors["store"] = [_("This store is closed.")]
    if attachment_count > MAX_ATTACHMENTS:
        errors["attachments"] = [_("Attach at most %(n)s files.") % {"n": MAX_ATTACHMENTS}]
    if errors:
        raise ApplicationError(_("The complaint has invalid fields."), fields=errors)


@transaction.atomic
def complaint_create(*, store: Store, channel: str, category: str, description: str,
                     customer_name: str = "", customer_phone: str = "",
                     occurred_at: datetime | None = None, received_at: datetime | None = None,
                     employee: Employee | None = None, received_by: User | None = None,
                     source: str = Source.STAFF, attachments: Sequence[UploadedFile] = (),
                     previous_ticket: str = "") -> Complaint:
    now = timezone.now()
    received_at = received_at or now
    _validate_intake(store=store, channel=channel, category=category, description=description,
                     customer_phone=customer_phone, occurred_at=occurred_at,
                     received_at=received_at, now=now, employee=employee, source=source,
                     attachment_count=len(attachments))
    policy = ComplaintPolicy.current()
    grades = _grade_policies()
    previous, recurrence_of = _find_related(
        store=store, category=category, phone=customer_phone.strip(), now=now, policy=policy,
        previous_ticket=previous_ticket)
    complaint = Complaint(
        store=store, channel=channel, source=source, category=category,
        customer_name=customer_name.strip(), customer_phone=customer_phone.strip(),
        description=description.strip(), occurred_at=occurred_at, received_at=received_at,
        employee=employee, received_by=received_by if received_by and received_by.pk else None,
        is_second=previous is not None, previous=previous, recurrence_of=recurrence_of)
    complaint.clock_started_at = received_at
    for name, value in _clock_fields(complaint, now=received_at, running=True, grade="",
                                     policy=policy, grades=grades).items():
        setattr(complaint, name, value)
    for _attempt in range(5):
        complaint.ticket_no = _new_ticket_no(now)
        try:
            with transaction.atomic():
                complaint.save()
            break
        except IntegrityError:
            if Complaint.objects.filter(ticket_no=complaint.ticket_no).exists():
                complaint.pk = None
                continue
            raise
    for upload in attachments:
        attachment_add(complaint=complaint, upload=upload, user=received_by)
    _log(complaint, actor=received_by if received_by and received_by.pk else None,
         action="created", changes={"status": [None, Status.NEW]},
         note=_("Second complaint about %(ticket)s") % {"ticket": previous.ticket_no}
         if previous else "")
    notification_send(
        users=_hq_users() + _store_managers({store.pk}).get(store.pk, []),
        title=_("New complaint %(ticket)s at %(store)s") % {
            "ticket": complaint.ticket_no, "store": store.name},
        body=complaint.get_category_display(), url=_detail_url(complaint),
        kind="complaint_new", email=False)
    return complaint


# --- Triage and handling --------------------------------------------------------------------

@transaction.atomic
def complaint_triage(*, complaint: Complaint, user: User, version: int, grade: str,
                     substantiated: bool | None, responsibility: str,
                     owner: User | None) -> Complaint:
    if not rules.can_triage(user):
        raise _forbidden()
    errors: dict[str, list[str]] = {}
    if grade not in Grade.values:
        errors["grade"] = [_("Choose grade A, B or C.")]
    if substantiated is None:
        errors["substantiated"] = [_("Say whether the complaint is substantiated.")]
    if responsibility not in Responsibility.values:
        errors["responsibility"] = [_("Choose who is responsible.")]
    if owner is not None and (not owner.is_active or owner.role not in (
            Role.HQ_ADMIN, Role.REGIONAL_MANAGER, Role.STORE_MANAGER, Role.CLERK)):
        errors["owner"] = [_("This user cannot own a complaint.")]
    if errors:
        raise ApplicationError(_("The grading has invalid fields."), fields=errors)
    if complaint.status == Status.CLOSED:
        raise ApplicationError(_("A closed complaint can only be changed through an appeal."),
                               code="closed")
    fields: dict = {"grade": grade, "substantiated": substantiated,
                    "responsibility": responsibility,
                    "owner_id": owner.pk if owner else None}
    if (grade, substantiated) != (complaint.grade, complaint.substantiated):
        fields["graded_at"] = timezone.now()
    if complaint.status == Status.NEW and owner is not None:
        fields["status"] = Status.ASSIGNED
    if grade != complaint.grade and complaint.clock_started_at is not None:
        fields.update(_clock_fields(complaint, now=timezone.now(), running=True, grade=grade,
                                    policy=ComplaintPolicy.current(), grades=_grade_policies()))
    previous_owner = complaint.owner_id
    _save(complaint, version=version, actor=user, action="triaged", fields=fields)
    url = _detail_url(complaint)
    if owner is not None and owner.pk != previous_owner:
        notification_send(users=[owner], title=_("You own complaint %(ticket)s") % {
            "ticket": complaint.ticket_no}, body=complaint.description[:200], url=url,
            kind="complaint_assigned")
    if responsibility == Responsibility.GREY_ZONE:
        notification_send(
            users=_hq_users() + _regional_managers({complaint.store_id}).get(
                complaint.store_id, []),
            title=_("Complaint %(ticket)s is in a grey zone: decide who is responsible") % {
                "ticket": complaint.ticket_no}, url=url, kind="complaint_grey_zone")
    return complaint


TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    "start": (frozenset({Status.NEW, Status.ASSIGNED, Status.REOPENED}), Status.IN_PROGRESS),
    "wait": (frozenset({Status.IN_PROGRESS}), Status.WAITING_CUSTOMER),
    "resume": (frozenset({Status.WAITING_CUSTOMER}), Status.IN_PROGRESS),
    "resolve": (frozenset(OPEN_STATUSES), Status.RESOLVED),
    "close": (frozenset({Status.RESOLVED}), Status.CLOSED),
    "reopen": (frozenset({Status.RESOLVED, Status.CLOSED}), Status.REOPENED),
}


def allowed_actions(complaint: Complaint) -> list[str]:
    return [name for name, (sources, _target) in TRANSITIONS.items()
            if complaint.status in sources]


def _check_transition(complaint: Complaint, user: User, action: str) -> str:
    if not rules.can_handle(user, complaint):
        raise _forbidden()
    sources, target = TRANSITIONS[action]
    if complaint.status not in sources:
        raise ApplicationError(
            _("A complaint that is %(status)s cannot be changed this way.") % {
                "status": complaint.get_status_display()}, code="invalid_transition")
    return target


def _handling_fields(complaint: Complaint, now: datetime) -> dict:
    return {"first_response_at": now} if complaint.first_response_at is None else {}


@transaction.atomic
def complaint_start(*, complaint: Complaint, user: User, version: int,
                    note: str = "") -> Complaint:
    target = _check_transition(complaint, user, "start")
    now = timezone.now()
    fields = {"status": target, **_handling_fields(complaint, now)}
    if complaint.first_response_due_at is not None:
        complaint.first_response_at = now
        fields.update(_clock_fields(complaint, now=now, running=True, grade=complaint.grade,
                                    policy=ComplaintPolicy.current(), grades=_grade_policies()))
        complaint.first_response_at = None
    return _save(complaint, version=version, actor=user, action="start", fields=fields,
                 note=note)


@transaction.atomic
def complaint_wait_for_customer(*, complaint: Complaint, user: User, version: int,
                                note: str = "") -> Complaint:
    target = _check_transition(complaint, user, "wait")
    policy = ComplaintPolicy.current()
    now = timezone.now()
    fields = {"status": target, **_handling_fields(complaint, now)}
    if policy.pause_while_waiting:
        fields.update(_clock_fields(complaint, now=now, running=False, grade=complaint.grade,
                                    policy=policy, grades=_grade_policies()))
    return _save(complaint, version=version, actor=user, action="wait", fields=fields,
                 note=note)


@transaction.atomic
def complaint_resume(*, complaint: Complaint, user: User, version: int,
                     note: str = "") -> Complaint:
    target = _check_transition(complaint, user, "resume")
    fields: dict = {"status": target}
    if complaint.clock_started_at is None:
        fields.update(_clock_fields(complaint, now=timezone.now(), running=True,
                                    grade=complaint.grade, policy=ComplaintPolicy.current(),
                                    grades=_grade_policies()))
    return _save(complaint, version=version, actor=user, action="resume", fields=fields,
                 note=note)


@transaction.atomic
def complaint_resolve(*, complaint: Complaint, user: User, version: int, remedy: str,
                      customer_satisfied: bool | None, note: str = "") -> Complaint:
    target = _check_transition(complaint, user, "resolve")
    errors = {}
    if not remedy.strip():
        errors["remedy"] = [_("Record the remedy given to the customer.")]
    if customer_satisfied is None:
        errors["customer_satisfied"] = [_("Ask whether the customer is satisfied.")]
    if errors:
        raise ApplicationError(_("The resolution has invalid fields."), fields=errors)
    policy = ComplaintPolicy.current()
    grades = _grade_policies()
    now = timezone.now()
    clock = _clock_fields(complaint, now=now, running=False, grade=complaint.grade,
                          policy=policy, grades=grades)
    on_time = clock["sla_spent_seconds"] <= _budget_seconds(complaint.grade, policy, grades)
    fields = {"status": target, "remedy": remedy.strip(),
              "customer_satisfied": customer_satisfied, "resolved_at": now,
              "resolved_on_time": on_time, **_handling_fields(complaint, now), **clock}
    return _save(complaint, version=version, actor=user, action="resolve", fields=fields,
                 note=note)


def eight_d_required(complaint: Complaint) -> bool:
    return bool(complaint.grade) and _grade_policies()[complaint.grade].requires_8d


@transaction.atomic
def complaint_close(*, complaint: Complaint, user: User, version: int,
                    note: str = "") -> Complaint:
    target = _check_transition(complaint, user, "close")
    if not complaint.grade or complaint.substantiated is None:
        raise ApplicationError(_("HQ must grade the complaint before it can be closed."),
                               code="not_graded")
    report = EightDReport.objects.filter(complaint=complaint).first()
    if eight_d_required(complaint) and (report is None or not report.is_complete):
        raise ApplicationError(
            _("Grade %(grade)s complaints need a complete 8D report (D1 to D8) before "
              "closing.") % {"grade": complaint.grade}, code="eight_d_required")
    now = timezone.now()
    _save(complaint, version=version, actor=user, action="close",
          fields={"status": target, "closed_at": now}, note=note)
    if report is not None:
        EightDReport.objects.filter(pk=report.pk).update(archived_at=now)
    policy = ComplaintPolicy.current()
    RecurrenceCheck.objects.update_or_create(
        complaint=complaint,
        defaults={"due_at": now + timedelta(days=policy.recurrence_check_days),
                  "notified_at": None, "confirmed_at": None, "confirmed_by": None,
                  "recurred": None, "note": ""})
    return complaint


@transaction.atomic
def complaint_reopen(*, complaint: Complaint, user: User, version: int,
                     note: str = "") -> Complaint:
    """Reopening makes it a second complaint (二次投诉) and starts a fresh clock cycle."""
    target = _check_transition(complaint, user, "reopen")
    if not note.strip():
        raise ApplicationError(_("Say why the complaint is reopened."),
                               fields={"note": [_("A reason is required.")]})
    now = timezone.now()
    complaint.cycle += 1
    clock = _clock_fields(complaint, now=now, running=True, grade=complaint.grade,
                          policy=ComplaintPolicy.current(), grades=_grade_policies(),
                          restart=True)
    complaint.cycle -= 1
    fields = {"status": target, "is_second": True, "cycle": complaint.cycle + 1,
              "resolved_at": None, "resolved_on_time": None, "closed_at": None,
              "customer_satisfied": None, "escalation_level": 0, **clock}
    _save(complaint, version=version, actor=user, action="reopen", fields=fields, note=note)
    EightDReport.objects.filter(complaint=complaint).update(archived_at=None)
    RecurrenceCheck.objects.filter(complaint=complaint, confirmed_at__isnull=True).delete()
    return complaint


ACTIONS = {
    "start": complaint_start,
    "wait": complaint_wait_for_customer,
    "resume": complaint_resume,
    "close": complaint_close,
    "reopen": complaint_reopen,
}


# --- 8D report ----------------------------------------------------------------------------

@transaction.atomic
def eight_d_save(*, complaint: Complaint, user: User, version: int,
                 sections: dict[str, str]) -> EightDReport:
    if not rules.can_handle(user, complaint):
        raise _forbidden()
    report, _created = EightDReport.objects.get_or_create(complaint=complaint)
    if report.archived_at is not None or complaint.status == Status.CLOSED:
        raise ApplicationError(_("The 8D report of a closed complaint is archived read-only."),
                               code="archived")
    values = {name: (sections.get(name) or "").strip() for name in EightDReport.SECTIONS}
    updated = EightDReport.objects.filter(pk=report.pk, version=version).update(
        **values, version=version + 1, updated_by=user, updated_at=timezone.now())
    if updated != 1:
        raise _conflict()
    changed = [name for name in EightDReport.SECTIONS if getattr(report, name) != values[name]]
    _log(complaint, actor=user, action="eight_d", changes={"sections": changed})
    report.refresh_from_db()
    return report


# --- Appeals --------------------------------------------------------------------------------

def appeal_deadline(complaint: Complaint, policy: ComplaintPolicy | None = None
                    ) -> datetime | None:
    if complaint.graded_at is None:
        return None
    policy = policy or ComplaintPolicy.current()
    return complaint.graded_at + timedelta(days=policy.appeal_window_days)


@transaction.atomic
def appeal_file(*, complaint: Complaint, user: User, kind: str, reason: str,
                requested_grade: str = "", requested_substantiated: bool | None = None
                ) -> Appeal:
    if not rules.can_appeal(user):
        raise _forbidden()
    deadline = appeal_deadline(complaint)
    if deadline is None:
        raise ApplicationError(_("Only a graded complaint can be appealed."), code="not_graded")
    if timezone.now() > deadline:
        raise ApplicationError(_("The appeal window closed on %(date)s.") % {
            "date": timezone.localtime(deadline).strftime("%Y-%m-%d %H:%M")},
            code="appeal_window_closed")
    errors: dict[str, list[str]] = {}
    if kind not in AppealKind.values:
        errors["kind"] = [_("Choose what you appeal against.")]
    if kind == AppealKind.GRADE and (requested_grade not in Grade.values
                                     or requested_grade == complaint.grade):
        errors["requested_grade"] = [_("Choose the grade you ask for.")]
    if kind == AppealKind.SUBSTANTIATION and (requested_substantiated is None
                                              or requested_substantiated
                                              == complaint.substantiated):
        errors["requested_substantiated"] = [_("Choose the substantiation you ask for.")]
    if not reason.strip():
        errors["reason"] = [_("Give the reason for the appeal.")]
    if errors:
        raise ApplicationError(_("The appeal has invalid fields."), fields=errors)
    if Appeal.objects.filter(complaint=complaint, status=AppealStatus.OPEN).exists():
        raise ApplicationError(_("This complaint already has an open appeal."),
                               code="appeal_open")
    try:
        with transaction.atomic():
            appeal = Appeal.objects.create(
                complaint=complaint, kind=kind, reason=reason.strip(), filed_by=user,
                requested_grade=requested_grade if kind == AppealKind.GRADE else "",
                requested_substantiated=requested_substantiated
                if kind == AppealKind.SUBSTANTIATION else None)
    except IntegrityError:
        raise ApplicationError(_("This complaint already has an open appeal."),
                               code="appeal_open") from None
    _log(complaint, actor=user, action="appeal_filed", changes={"appeal": [None, kind]},
         note=reason.strip())
    notification_send(users=_hq_users(), title=_("Appeal on complaint %(ticket)s") % {
        "ticket": complaint.ticket_no}, body=reason.strip()[:500],
        url=_detail_url(complaint), kind="complaint_appeal")
    return appeal


@transaction.atomic
def appeal_decide(*, appeal: Appeal, user: User, accept: bool, reason: str) -> Appeal:
    if not rules.can_decide_appeal(user):
        raise _forbidden()
    if not reason.strip():
        raise ApplicationError(_("Give the reason for the decision."),
                               fields={"decision_reason": [_("A reason is required.")]})
    now = timezone.now()
    status = AppealStatus.ACCEPTED if accept else AppealStatus.REJECTED
    decided = Appeal.objects.filter(pk=appeal.pk, status=AppealStatus.OPEN).update(
        status=status, decided_by=user, decided_at=now, decision_reason=reason.strip())
    if decided != 1:
        raise ApplicationError(_("This appeal has already been decided."), code="decided",
                               status=409)
    appeal.refresh_from_db()
    complaint = Complaint.objects.select_for_update().get(pk=appeal.complaint_id)
    fields: dict = {}
    if accept and appeal.kind == AppealKind.GRADE:
        fields["grade"] = appeal.requested_grade
        if complaint.clock_started_at is not None:
            fields.update(_clock_fields(complaint, now=now, running=True,
                                        grade=appeal.requested_grade,
                                        policy=ComplaintPolicy.current(),
                                        grades=_grade_policies()))
    elif accept:
        fields["substantiated"] = appeal.requested_substantiated
    _save(complaint, version=complaint.version, actor=user,
          action="appeal_accepted" if accept else "appeal_rejected", fields=fields,
          note=reason.strip())
    if appeal.filed_by is not None:
        notification_send(users=[appeal.filed_by], title=_(
            "Appeal on complaint %(ticket)s: %(decision)s") % {
            "ticket": complaint.ticket_no, "decision": appeal.get_status_display()},
            body=reason.strip()[:500], url=_detail_url(complaint), kind="complaint_appeal")
    return appeal


# --- Recurrence check -----------------------------------------------------------------------

@transaction.atomic
def recurrence_confirm(*, complaint: Complaint, user: User, recurred: bool,
                       note: str = "") -> RecurrenceCheck:
    if not rules.can_handle(user, complaint):
        raise _forbidden()
    check = RecurrenceCheck.objects.filter(complaint=complaint).first()
    if check is None:
        raise ApplicationError(_("This complaint has no recurrence check."), code="no_check")
    if recurred and not note.strip():
        raise ApplicationError(_("Describe how the problem recurred."),
                               fields={"note": [_("A description is required.")]})
    confirmed = RecurrenceCheck.objects.filter(pk=check.pk, confirmed_at__isnull=True).update(
        confirmed_at=timezone.now(), confirmed_by=user, recurred=recurred, note=note.strip())
    if confirmed != 1:
        raise ApplicationError(_("The recurrence check was already confirmed."),
                               code="confirmed", status=409)
    _log(complaint, actor=user, action="recurrence_checked",
         changes={"recurred": [None, recurred]}, note=note.strip())
    if recurred:
        notification_send(users=_hq_users(), title=_(
            "The problem of complaint %(ticket)s recurred") % {"ticket": complaint.ticket_no},
            body=note.strip()[:500], url=_detail_url(complaint), kind="complaint_recurrence")
    check.refresh_from_db()
    return check


# --- Recipients -----------------------------------------------------------------------------

def _detail_url(complaint: Complaint) -> str:
    return reverse("complaints:detail", args=[complaint.pk])


def _hq_users() -> list[User]:
    return list(User.objects.filter(role=Role.HQ_ADMIN, is_active=True).order_by("pk"))


def _store_managers(store_ids: set[int]) -> dict[int, list[User]]:
    pairs = set(User.stores.through.objects.filter(
        store_id__in=store_ids, user__role=Role.STORE_MANAGER, user__is_active=True)
        .values_list("store_id", "user_id"))
    pairs |= set(User.objects.filter(role=Role.STORE_MANAGER, is_active=True,
                                     employee__store_id__in=store_ids)
                 .values_list("employee__store_id", "pk"))
    users = User.objects.in_bulk({user_id for _s, user_id in pairs})
    result: dict[int, list[User]] = defaultdict(list)
    for store_id, user_id in sorted(pairs):
        result[store_id].append(users[user_id])
    return result


def _regional_managers(store_ids: set[int]) -> dict[int, list[User]]:
    region_of = dict(Store.objects.filter(pk__in=store_ids).values_list("pk", "region_id"))
    pairs = User.regions.through.objects.filter(
        region_id__in=set(region_of.values()), user__role=Role.REGIONAL_MANAGER,
        user__is_active=True).values_list("region_id", "user_id")
    by_region: dict[int, list[int]] = defaultdict(list)
    for region_id, user_id in pairs:
        by_region[region_id].append(user_id)
    users = User.objects.in_bulk({u for ids in by_region.values() for u in ids})
    return {store_id: [users[u] for u in sorted(by_region.get(region_id, []))]
            for store_id, region_id in region_of.items()}


@dataclass
class _Recipients:
    owners: dict[int, User]
    store_managers: dict[int, list[User]]
    regional_managers: dict[int, list[User]]
    hq: list[User]

    def for_alert(self, complaint: Complaint, kind: str, level: int) -> list[User]:
        owner = self.owners.get(complaint.owner_id) if complaint.owner_id else None
        managers = self.store_managers.get(complaint.store_id, [])
        if kind == AlertKind.ESCALATE and level == 1:
            users = [*managers, *([owner] if owner else [])]
        elif kind == AlertKind.ESCALATE and level == 2:
            users = list(self.regional_managers.get(complaint.store_id, []))
        elif kind == AlertKind.ESCALATE:
            users = list(self.hq)
        else:
            users = [owner] if owner else list(managers)
        unique = list({u.pk: u for u in users if u is not None and u.is_active}.values())
        return unique or list(self.hq)


def _recipients(complaints: Iterable[Complaint]) -> _Recipients:
    complaints = list(complaints)
    store_ids = {c.store_id for c in complaints}
    return _Recipients(
        owners=User.objects.in_bulk({c.owner_id for c in complaints if c.owner_id}),
        store_managers=_store_managers(store_ids),
        regional_managers=_regional_managers(store_ids), hq=_hq_users())


def _alert_message(complaint: Complaint, kind: str, level: int) -> tuple[str, str]:
    due = timezone.localtime(complaint.due_at).strftime("%Y-%m-%d %H:%M") \
        if complaint.due_at else "-"
    context = {"ticket": complaint.ticket_no, "store": complaint.store.name, "due": due,
               "level": level}
    titles = {
        AlertKind.FIRST_RESPONSE: _("Complaint %(ticket)s has had no first response yet"),
        AlertKind.WARN: _("Complaint %(ticket)s is due at %(due)s"),
        AlertKind.ESCALATE: _("Complaint %(ticket)s is overdue: escalation level %(level)s"),
        AlertKind.RECURRENCE: _("Complaint %(ticket)s: confirm the problem has not recurred"),
    }
    body = _("%(store)s · %(category)s · grade %(grade)s · due %(due)s") % {
        **context, "category": complaint.get_category_display(),
        "grade": complaint.grade or "-"}
    return titles[kind] % context, body


# --- The SLA sweep ------------------------------------------------------------------------

@dataclass
class SweepResult:
    scanned: int = 0
    recorded: int = 0
    recurrence_checks: int = 0
    delivered: int = 0
    alert_ids: list[int] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if k != "alert_ids"}


SWEEP_FIELDS = ("id", "store_id", "owner_id", "grade", "cycle", "warn_at", "due_at",
                "first_response_due_at", "first_response_at", "next_alert_at",
                "escalation_level", "status")
DELIVERY_BATCH = 200


def sla_sweep(*, now: datetime | None = None, deliver: bool = True) -> SweepResult:
    """Record every alert that has come due, each exactly once; then deliver them.

    Set-based: one indexed scan of ``next_alert_at``, one INSERT .. ON CONFLICT DO NOTHING of
    the due alerts (the unique key (complaint, cycle, kind, level) makes a second sweep, a
    retried task or a restarted worker a no-op), one read-back of the rows THIS sweep inserted
    (by its token). Alerts that came due while no sweep ran are all found by the scan
    (catch-up). Delivery (``sla_alerts_deliver``) runs in batches after the recording commits;
    the Celery task queues those batches instead (``deliver=False``).
    """
    now = now or timezone.now()
    token = uuid.uuid4().hex
    grades = _grade_policies()
    result = SweepResult()
    with transaction.atomic():
        rows = list(Complaint.objects.select_for_update()
                    .filter(next_alert_at__lte=now, status__in=OPEN_STATUSES)
                    .only(*SWEEP_FIELDS).order_by("pk"))
        result.scanned = len(rows)
        alerts: list[SlaAlert] = []
        for row in rows:
            schedule = sla.alert_schedule(
                warn_at=row.warn_at, due_at=row.due_at,
                first_response_due_at=row.first_response_due_at,
                responded=row.first_response_at is not None,
                escalation_interval=_escalation_interval(row.grade, grades))
            due, row.next_alert_at = sla.split_due(schedule, now)
            alerts.extend(SlaAlert(complaint_id=row.pk, cycle=row.cycle, kind=a.kind,
                                   level=a.level, due_at=a.at, sweep_token=token)
                          for a in due)
            row.escalation_level = max([row.escalation_level]
                                       + [a.level for a in due if a.kind == sla.ESCALATE])
        _store_next_alerts(rows)
        checks = list(RecurrenceCheck.objects.select_for_update(of=("self",))
                      .select_related("complaint")
                      .filter(due_at__lte=now, notified_at__isnull=True,
                              confirmed_at__isnull=True).order_by("pk"))
        alerts.extend(SlaAlert(complaint_id=check.complaint_id, cycle=check.complaint.cycle,
                               kind=AlertKind.RECURRENCE, level=0, due_at=check.due_at,
                               sweep_token=token) for check in checks)
        if checks:
            RecurrenceCheck.objects.filter(pk__in=[c.pk for c in checks]).update(notified_at=now)
        result.recurrence_checks = len(checks)
        if alerts:
            SlaAlert.objects.bulk_create(alerts, ignore_conflicts=True, batch_size=1000)
            result.alert_ids = list(SlaAlert.objects.filter(sweep_token=token)
                                    .order_by("pk").values_list("pk", flat=True))
        result.recorded = len(result.alert_ids)
    if deliver:
        for start in range(0, len(result.alert_ids), DELIVERY_BATCH):
            result.delivered += sla_alerts_deliver(
                alert_ids=result.alert_ids[start:start + DELIVERY_BATCH])
    return result


def sla_alerts_unsent(*, older_than: timedelta = timedelta(minutes=2)) -> list[int]:
    """Recorded alerts whose delivery never completed (a lost task, a crashed worker)."""
    return list(SlaAlert.objects.filter(sent_at__isnull=True,
                                        recorded_at__lt=timezone.now() - older_than)
                .order_by("pk").values_list("pk", flat=True)[:10_000])


@transaction.atomic
def sla_alerts_deliver(*, alert_ids: Sequence[int]) -> int:
    """Notify for the given recorded alerts that are not sent yet; returns how many.

    The in-app notifications and the alert's ``sent_at`` are written in one transaction, on
    rows locked by this call (others skip them): each alert is delivered exactly once, and a
    failure leaves it unsent for the next sweep to retry."""
    claimed = list(SlaAlert.objects.select_for_update(skip_locked=True)
                   .filter(pk__in=list(alert_ids), sent_at__isnull=True)
                   .order_by("pk").values_list("pk", "complaint_id", "kind", "level"))
    if not claimed:
        return 0
    _deliver(claimed)
    SlaAlert.objects.filter(pk__in=[row[0] for row in claimed]).update(sent_at=timezone.now())
    return len(claimed)


def _store_next_alerts(rows: list[Complaint]) -> None:
    """One UPDATE .. FROM (VALUES ..) per 1,000 rows on PostgreSQL (bulk_update elsewhere)."""
    if not rows:
        return
    if connection.vendor != "postgresql":
        Complaint.objects.bulk_update(rows, ["next_alert_at", "escalation_level"],
                                      batch_size=500)
        return
    table = "complaints_complaint"
    for start in range(0, len(rows), 1000):
        batch = rows[start:start + 1000]
        values = ", ".join(["(%s, %s::timestamptz, %s)"] * len(batch))
        params = [v for row in batch for v in (row.pk, row.next_alert_at, row.escalation_level)]
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} AS c SET next_alert_at = v.next_alert_at, "  # noqa: S608
                f"escalation_level = v.level FROM (VALUES {values}) "
                "AS v(id, next_alert_at, level) WHERE c.id = v.id", params)


def _deliver(recorded: list[tuple[int, int, str, int]]) -> None:
    complaints = Complaint.objects.select_related("store").in_bulk(
        {complaint_id for _pk, complaint_id, _kind, _level in recorded})
    recipients = _recipients(complaints.values())
    for _pk, complaint_id, kind, level in recorded:
        complaint = complaints[complaint_id]
        title, body = _alert_message(complaint, kind, level)
        notification_send(users=recipients.for_alert(complaint, kind, level), title=title,
                          body=body, url=_detail_url(complaint), kind=f"complaint_{kind}",
                          webhook=kind == AlertKind.ESCALATE)
