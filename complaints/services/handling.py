"""Handling a complaint after intake: HQ's triage, the status transitions (start, wait for the
customer, resume, resolve, close, reopen) and the 8D report. The recurrence checks closing
schedules are ``recurrence``'s."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from complaints import rules
from complaints.models import (
    OPEN_STATUSES,
    Complaint,
    ComplaintKind,
    ComplaintPolicy,
    EightDReport,
    Grade,
    RecurrenceCheck,
    Responsibility,
    Status,
)
from complaints.selectors import budget_seconds, department_heads, grade_policies, policy_of
from satisfaction.errors import ApplicationError
from satisfaction.models import Role, User
from satisfaction.notifications import notification_send

from ._common import _clock_fields, _conflict, _forbidden, _graded_version, _log, _save
from .recipients import _detail_url, _hq_users, _regional_managers, _store_managers
from .recurrence import REOPENED_SECTIONS, _recurrence_checks_create
from .reports import complaint_report_send

# --- Triage and handling --------------------------------------------------------------------

@transaction.atomic
def complaint_triage(*, complaint: Complaint, user: User, version: int, grade: str,
                     substantiated: bool | None, responsibility: str,
                     owner: User | None) -> Complaint:
    if not rules.can_triage(user):
        raise _forbidden()
    if complaint.kind == ComplaintKind.INTERNAL:
        raise ApplicationError(_("An internal complaint is not graded: its department's head "
                                 "owns it."), code="internal")
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
    if grade != complaint.grade or complaint.grade_policy_id is None:
        # Graded under the grade's current policy version, kept whatever HQ changes later.
        grades = grade_policies()
        graded_under = _graded_version(grade, grades)
        fields["grade_policy_id"] = graded_under.pk
        if grade != complaint.grade and complaint.clock_started_at is not None:
            fields.update(_clock_fields(complaint, now=timezone.now(), running=True, grade=grade,
                                        policy=ComplaintPolicy.current(), grades=grades,
                                        grade_policy=graded_under))
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
                                    policy=ComplaintPolicy.current(), grades=grade_policies()))
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
                                    policy=policy, grades=grade_policies()))
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
                                    grades=grade_policies()))
    return _save(complaint, version=version, actor=user, action="resume", fields=fields,
                 note=note)


@transaction.atomic
def complaint_resolve(*, complaint: Complaint, user: User, version: int, remedy: str,
                      customer_satisfied: bool | None, note: str = "") -> Complaint:
    """Resolve: the remedy, and whether the customer is satisfied with it. An internal
    complaint's customer is the store that filed it: it answers itself afterwards
    (``internal_complaint_confirm``), so ``customer_satisfied`` is not asked of the
    department and is ignored."""
    target = _check_transition(complaint, user, "resolve")
    internal = complaint.kind == ComplaintKind.INTERNAL
    if internal:
        customer_satisfied = None
    errors = {}
    if not remedy.strip():
        errors["remedy"] = [_("Record the remedy given to the customer.")]
    if customer_satisfied is None and not internal:
        errors["customer_satisfied"] = [_("Ask whether the customer is satisfied.")]
    if errors:
        raise ApplicationError(_("The resolution has invalid fields."), fields=errors)
    policy = ComplaintPolicy.current()
    grades = grade_policies()
    now = timezone.now()
    clock = _clock_fields(complaint, now=now, running=False, grade=complaint.grade,
                          policy=policy, grades=grades)
    on_time = clock["sla_spent_seconds"] <= budget_seconds(
        policy_of(complaint, grades, policy=policy))
    fields = {"status": target, "remedy": remedy.strip(),
              "customer_satisfied": customer_satisfied, "resolved_at": now,
              "resolved_on_time": on_time, **_handling_fields(complaint, now), **clock}
    _save(complaint, version=version, actor=user, action="resolve", fields=fields, note=note)
    if internal:
        notification_send(
            users=_internal_store_users(complaint),
            title=_("Internal complaint %(ticket)s was resolved: are you satisfied?") % {
                "ticket": complaint.ticket_no},
            body=complaint.remedy[:300], url=_detail_url(complaint),
            kind="internal_complaint_resolved")
    return complaint


def _internal_store_users(complaint: Complaint) -> list[User]:
    """Who answers for the store that filed an internal complaint: who filed it and the
    store's managers."""
    users = [*_store_managers({complaint.store_id}).get(complaint.store_id, [])]
    if complaint.received_by_id:
        users.append(complaint.received_by)
    return list({u.pk: u for u in users if u.is_active}.values())


@transaction.atomic
def internal_complaint_confirm(*, complaint: Complaint, user: User, version: int,
                               satisfied: bool | None, note: str = "") -> Complaint:
    """The store that filed an internal complaint says whether it is satisfied with the
    department's resolution (the customer's answer of a customer complaint). Its department
    then closes it (``complaint_close``), or reopens it when the store is not satisfied."""
    if not rules.can_confirm_internal(user, complaint):
        raise _forbidden()
    if satisfied is None:
        raise ApplicationError(_("Say whether the store is satisfied with the resolution."),
                               fields={"satisfied": [_("Answer yes or no.")]})
    if not satisfied and not note.strip():
        raise ApplicationError(_("Say what is still wrong."),
                               fields={"note": [_("A reason is required.")]})
    _save(complaint, version=version, actor=user, action="store_confirmed",
          fields={"customer_satisfied": satisfied}, note=note.strip())
    owners = [complaint.owner] if complaint.owner_id else []
    heads = department_heads([complaint.department_id]).get(complaint.department_id, [])
    notification_send(
        users=list({u.pk: u for u in [*owners, *heads] if u.is_active}.values()) or _hq_users(),
        title=(_("The store is satisfied with internal complaint %(ticket)s: close it")
               if satisfied else
               _("The store is not satisfied with internal complaint %(ticket)s")) % {
            "ticket": complaint.ticket_no},
        body=note.strip()[:300], url=_detail_url(complaint), kind="internal_complaint_answer")
    return complaint


def eight_d_required(complaint: Complaint) -> bool:
    """Whether closing needs a complete 8D report: as the policy version the complaint was
    graded under says (``policy_of``), not the grade's current one."""
    return bool(complaint.grade) and policy_of(complaint).requires_8d


@transaction.atomic
def complaint_close(*, complaint: Complaint, user: User, version: int,
                    note: str = "") -> Complaint:
    target = _check_transition(complaint, user, "close")
    if complaint.kind == ComplaintKind.INTERNAL:
        if complaint.customer_satisfied is None:
            raise ApplicationError(
                _("The store has not said yet whether it is satisfied with the resolution."),
                code="not_confirmed")
    elif not complaint.grade or complaint.substantiated is None:
        raise ApplicationError(_("HQ must grade the complaint before it can be closed."),
                               code="not_graded")
    report = EightDReport.objects.filter(complaint=complaint).first()
    if eight_d_required(complaint) and (report is None or not report.is_complete):
        raise ApplicationError(
            _("Grade %(grade)s complaints need a complete 8D report (D1 to D8) before "
              "closing.") % {"grade": complaint.grade}, code="eight_d_required")
    if eight_d_required(complaint) and not report.customer_summary.strip():
        # It is sent to the customer on closing (services.reports).
        raise ApplicationError(
            _("Write the summary for the customer on the 8D report before closing: it is "
              "sent to the customer."), code="customer_summary_required",
            fields={"customer_summary": [_("The summary for the customer is required.")]})
    now = timezone.now()
    _save(complaint, version=version, actor=user, action="close",
          fields={"status": target, "closed_at": now}, note=note)
    if report is not None:
        EightDReport.objects.filter(pk=report.pk).update(archived_at=now)
    if eight_d_required(complaint):
        complaint_report_send(complaint=complaint, user=user)
    _recurrence_checks_create(complaint=complaint, closed_at=now)
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
                          policy=ComplaintPolicy.current(), grades=grade_policies(),
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
                 sections: dict[str, str], customer_summary: str | None = None) -> EightDReport:
    """Save the 8D report. Archived read-only once the complaint is closed, except when a
    recurrence reopened it (``recurrence_link``): then only D4–D7 are saved (D1–D3 and D8
    describe the original case and keep their archived text, whatever is sent), and the
    report is archived again as soon as it is saved complete. ``customer_summary`` (None: kept)
    is the text for the customer sent on closing (``services.reports``)."""
    if not rules.can_handle(user, complaint):
        raise _forbidden()
    report, _created = EightDReport.objects.get_or_create(complaint=complaint)
    reopened = (report.reopened_at is not None and report.archived_at is None
                and complaint.status == Status.CLOSED)
    if not reopened and (report.archived_at is not None or complaint.status == Status.CLOSED):
        raise ApplicationError(_("The 8D report of a closed complaint is archived read-only."),
                               code="archived")
    values = {name: (sections.get(name) or "").strip() for name in EightDReport.SECTIONS}
    summary = ({"customer_summary": customer_summary.strip()}
               if customer_summary is not None and not reopened else {})
    now = timezone.now()
    extra: dict = {}
    if reopened:
        values.update({name: getattr(report, name) for name in EightDReport.SECTIONS
                       if name not in REOPENED_SECTIONS})
        if all(values.values()):
            extra["archived_at"] = now
    updated = EightDReport.objects.filter(pk=report.pk, version=version).update(
        **values, **summary, **extra, version=version + 1, updated_by=user, updated_at=now)
    if updated != 1:
        raise _conflict()
    changed = [name for name in EightDReport.SECTIONS if getattr(report, name) != values[name]]
    changed += [name for name, text in summary.items() if getattr(report, name) != text]
    _log(complaint, actor=user, action="eight_d", changes={"sections": changed},
         note=_("Revised after a recurrence; archived again.") if extra else "")
    report.refresh_from_db()
    return report
