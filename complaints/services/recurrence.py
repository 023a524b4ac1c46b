"""Recurrence that watches itself (定期确认不良有无再发生).

Closing a complaint schedules one check per interval of its grade policy (30/60/90 days by
default). A later complaint about the same problem — same store and category, or the same
product batch in any store — received inside the closed complaint's window (closing to its last
check) is linked to it at intake (``recurrence_link``): the open checks are marked recurred, a
check already answered "not recurred" turns red, the owner and HQ are told, and the 8D report
is reopened at D4–D7 (the prevention failed). The owner answers the checks with
``recurrence_confirm``; an answer "not recurred" contradicted by a linked complaint in the
check's window is recorded but shown red.

A check's window is cumulative: from closing to its due time (the owner confirms the problem
has not recurred *since closing*).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from complaints import rules
from complaints.models import (
    Complaint,
    ComplaintKind,
    ComplaintProduct,
    EightDReport,
    RecurrenceCheck,
    Status,
)
from complaints.selectors import policy_of
from satisfaction.errors import ApplicationError
from satisfaction.models import User
from satisfaction.notifications import notification_send

from ._common import _forbidden, _log
from .recipients import _detail_url, _hq_users, _store_managers

# The 8D sections a recurrence reopens: root cause, corrective action, its implementation and
# the prevention of recurrence. D1–D3 and D8 describe the original case and stay as archived.
REOPENED_SECTIONS = ("d4_root_cause", "d5_corrective_action", "d6_implementation",
                     "d7_prevention")

def recurrence_days(complaint: Complaint) -> list[int]:
    """The days after closing at which ``complaint`` is checked: as its grade policy's version
    says (``policy_of``: the one it was graded under, else the grade's current one; ascending
    and distinct, as ``services.setup.recurrence_days_errors`` allows them to be written).
    None for an ungraded complaint (it cannot be closed)."""
    if not complaint.grade:
        return []
    return list(policy_of(complaint).recurrence_days)


def _recurrence_checks_create(*, complaint: Complaint, closed_at: datetime) -> None:
    """One check per interval of the complaint's current cycle, due that many days after
    closing (called by ``complaint_close``; reopening deletes the unanswered ones)."""
    RecurrenceCheck.objects.bulk_create(
        [RecurrenceCheck(complaint=complaint, cycle=complaint.cycle, interval_days=days,
                         due_at=closed_at + timedelta(days=days))
         for days in recurrence_days(complaint)], ignore_conflicts=True)


def watched_at(moment: datetime) -> Q:
    """Closed complaints whose recurrence window contains ``moment``: closed at or before it,
    and a check of the current cycle due at or after it (so the window ends at the last
    interval, e.g. 90 days after closing)."""
    return Q(status=Status.CLOSED, closed_at__lte=moment,
             recurrence_checks__cycle=F("cycle"), recurrence_checks__due_at__gte=moment)


def _same_problem(complaint: Complaint) -> list[Q]:
    """Same store and category; or the same batch (and manufacturer, when both name one) of
    the product complained about, in any store. One condition per index (the store-category
    index, the batch index), each queried on its own."""
    same = [Q(store_id=complaint.store_id, category=complaint.category)]
    product = ComplaintProduct.objects.filter(complaint_id=complaint.pk).only(
        "batch_no", "manufacturer").first()
    batch = product.batch_no.strip() if product is not None else ""
    if batch:
        manufacturer = product.manufacturer.strip()
        by_batch = Q(product__batch_no=batch)  # stored normalised (services.products)
        if manufacturer:
            by_batch &= (Q(product__manufacturer="")
                         | Q(product__manufacturer__iexact=manufacturer))
        same.append(by_batch)
    return same


@transaction.atomic
def recurrence_link(*, complaint: Complaint, now: datetime | None = None) -> Complaint | None:
    """Link a new complaint to the closed complaint it shows recurred, and act on it.

    The closed complaint is the most recently closed one about the same problem (same store and
    category, or the same product batch in any store) whose window contains the new
    complaint's receipt time. Then, on the closed complaint: its open checks of the last cycle
    are marked recurred (by the system, with the new complaint), a check answered "not
    recurred" whose window contains the new complaint gets it as ``recurrence`` (red), its owner
    and HQ are notified once each, and its 8D report is reopened at D4–D7 for the new
    complaint. The closed complaint stays closed: its grade and points do not change. Both
    complaints log the link. Returns the closed complaint, or None when there is none (or the
    complaint is already linked)."""
    if complaint.recurrence_of_id is not None or complaint.kind == ComplaintKind.INTERNAL:
        return None  # an internal complaint is watched by no recurrence check
    now = now or timezone.now()
    received = complaint.received_at
    candidates = [Complaint.objects.customer().filter(watched_at(received)).filter(same)
                  .exclude(pk=complaint.pk).select_related("owner")
                  .order_by("-closed_at", "-pk").first() for same in _same_problem(complaint)]
    candidates = [c for c in candidates if c is not None]
    if not candidates:
        return None
    original = max(candidates, key=lambda c: (c.closed_at, c.pk))
    Complaint.objects.filter(pk=complaint.pk).update(recurrence_of=original)
    complaint.recurrence_of = original
    checks = RecurrenceCheck.objects.filter(complaint=original, cycle=original.cycle)
    note = _("Recurred: complaint %(ticket)s was received on %(date)s.") % {
        "ticket": complaint.ticket_no,
        "date": timezone.localtime(received).strftime("%Y-%m-%d")}
    marked = checks.filter(confirmed_at__isnull=True).update(
        recurred=True, confirmed_at=now, confirmed_by=None, recurrence=complaint, note=note)
    contradicted = checks.filter(recurred=False, recurrence__isnull=True,
                                 due_at__gte=received).update(recurrence=complaint)
    reopened = EightDReport.objects.filter(complaint=original).update(
        archived_at=None, reopened_at=now, reopened_for=complaint)
    _log(original, actor=None, action="recurred",
         changes={"recurrence": [None, complaint.ticket_no]},
         note=_("%(marked)s open checks marked recurred, %(red)s answered checks contradicted"
                "%(eight_d)s.") % {
             "marked": marked, "red": contradicted,
             "eight_d": _("; 8D report reopened at D4–D7") if reopened else ""})
    _log(complaint, actor=None, action="recurrence_linked",
         changes={"recurrence_of": [None, original.ticket_no]})
    owners = [original.owner] if original.owner_id else _store_managers(
        {original.store_id}).get(original.store_id, [])
    users = list({u.pk: u for u in [*owners, *_hq_users()]}.values())
    notification_send(
        users=users, title=_("The problem of complaint %(ticket)s recurred: %(new)s") % {
            "ticket": original.ticket_no, "new": complaint.ticket_no},
        body=" ".join(filter(None, [
            _("Revise D4 to D7 of the 8D report.") if reopened else "",
            complaint.description[:300]])),
        url=_detail_url(original), kind="complaint_recurrence")
    return original


def _contradiction(check: RecurrenceCheck, complaint: Complaint) -> Complaint | None:
    """A complaint linked as a recurrence of ``complaint`` inside the check's window."""
    if complaint.closed_at is None:
        return None
    return (Complaint.objects.filter(recurrence_of=complaint,
                                     received_at__gte=complaint.closed_at,
                                     received_at__lte=check.due_at)
            .order_by("received_at", "pk").first())


@transaction.atomic
def recurrence_confirm(*, complaint: Complaint, user: User, recurred: bool, note: str = "",
                       interval_days: int | None = None) -> RecurrenceCheck:
    """The owner's answer to a check of the complaint's last cycle: the one at
    ``interval_days``, else the earliest due one not answered yet. A check may be answered
    before it is due. "Not recurred" is verified against the data: when a complaint linked as a
    recurrence was received in the check's window, the answer is recorded but the check gets
    that complaint as ``recurrence`` and shows red."""
    if not rules.can_handle(user, complaint):
        raise _forbidden()
    checks = RecurrenceCheck.objects.filter(complaint=complaint, cycle=complaint.cycle)
    if interval_days is not None:
        check = checks.filter(interval_days=interval_days).first()
        if check is None:
            raise ApplicationError(
                _("This complaint has no recurrence check at %(days)s days.") % {
                    "days": interval_days},
                fields={"interval_days": [_("No check at this interval.")]}, code="no_check")
    else:
        check = (checks.filter(confirmed_at__isnull=True).order_by("due_at", "pk").first()
                 or checks.order_by("-due_at", "-pk").first())
        if check is None:
            raise ApplicationError(_("This complaint has no recurrence check."),
                                   code="no_check")
    if recurred and not note.strip():
        raise ApplicationError(_("Describe how the problem recurred."),
                               fields={"note": [_("A description is required.")]})
    contradiction = None if recurred else _contradiction(check, complaint)
    confirmed = RecurrenceCheck.objects.filter(pk=check.pk, confirmed_at__isnull=True).update(
        confirmed_at=timezone.now(), confirmed_by=user, recurred=recurred, note=note.strip(),
        recurrence=contradiction)
    if confirmed != 1:
        raise ApplicationError(_("The recurrence check was already confirmed."),
                               code="confirmed", status=409)
    changes: dict = {"recurred": [None, recurred], "interval_days": [None, check.interval_days]}
    if contradiction is not None:
        changes["contradicted_by"] = [None, contradiction.ticket_no]
    _log(complaint, actor=user, action="recurrence_checked", changes=changes,
         note=note.strip())
    if recurred:
        notification_send(users=_hq_users(), title=_(
            "The problem of complaint %(ticket)s recurred") % {"ticket": complaint.ticket_no},
            body=note.strip()[:500], url=_detail_url(complaint), kind="complaint_recurrence")
    check.refresh_from_db()
    return check
