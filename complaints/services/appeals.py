"""Appeals against HQ's grading: the appeal window, filing an appeal and HQ's decision."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from complaints import rules
from complaints.models import (
    Appeal,
    AppealKind,
    AppealStatus,
    Complaint,
    ComplaintPolicy,
    Grade,
)
from complaints.selectors import grade_policies
from satisfaction.errors import ApplicationError
from satisfaction.models import AppealWindowKind, User
from satisfaction.notifications import notification_send
from satisfaction.selectors import appeal_window_days

from ._common import _clock_fields, _forbidden, _graded_version, _log, _save
from .recipients import _detail_url, _hq_users

# --- Appeals --------------------------------------------------------------------------------

def appeal_deadline(complaint: Complaint) -> datetime | None:
    """A grading may be appealed for HQ's window (``satisfaction.AppealWindow``, kind
    ``complaint``) from the moment it was graded; an ungraded complaint has no deadline."""
    if complaint.graded_at is None:
        return None
    days = appeal_window_days(kind=AppealWindowKind.COMPLAINT)
    return complaint.graded_at + timedelta(days=days)


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
        grades = grade_policies()
        if appeal.requested_grade != complaint.grade or complaint.grade_policy_id is None:
            # The new grade's current policy version, as a new grading would get.
            graded_under = _graded_version(appeal.requested_grade, grades)
            fields["grade_policy_id"] = graded_under.pk
            if complaint.clock_started_at is not None:
                fields.update(_clock_fields(complaint, now=now, running=True,
                                            grade=appeal.requested_grade,
                                            policy=ComplaintPolicy.current(), grades=grades,
                                            grade_policy=graded_under))
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
