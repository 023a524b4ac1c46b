"""The complaint handling report goes out (投诉处理报告 … 报告给顾客和上级).

Closing a complaint whose grade requires the 8D report (``handling.complaint_close`` decides,
with ``eight_d_required``) sends, in the closing transaction:

- **the customer** a customer-facing summary: ticket, store, when received, what happened (the
  description with phone numbers, e-mail addresses and known names masked), what was done (the
  8D report's ``customer_summary``, which the handler writes for the customer) and the remedy.
  Never the root cause (D4), the D-sections or staff names. By e-mail (an outbox row to the
  customer's address, ``satisfaction.notifications.outbox_email_send``) when the complaint has
  ``customer_email``; otherwise as a printable letter (``complaints:letter``);
- **the handling owner's superior** the full report (every 8D section and the customer summary),
  in the app and by e-mail: the store's region manager(s) for grades B and C, HQ for grade A,
  and HQ when the owner is a region manager or HQ (or the region has no manager).

Each recipient kind is one ``report_sent`` event in the complaint's history (whom: the masked
address or "letter" for the customer, the user names for the superior). A reopened complaint
closed again sends again: the event carries the handling cycle. Grades whose policy does not
require the 8D report send nothing (no closing note to the customer either).

The text is composed by pure functions (``customer_letter_compose``, ``customer_email_compose``,
``superior_report_compose``, ``mask_text``) that tests call directly.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from complaints.models import Complaint, EightDReport
from satisfaction.masking import mask_email, mask_name, mask_text
from satisfaction.models import Employee, Role, User
from satisfaction.notifications import notification_send, outbox_email_send
from satisfaction.quarters import chain_zone

from ._common import _log
from .recipients import _hq_users, _regional_managers

CUSTOMER_KIND = "complaint_report_customer"
SUPERIOR_KIND = "complaint_report_superior"
REPORT_SENT = "report_sent"

# --- Composing the texts (pure) ---------------------------------------------------------------

@dataclass(frozen=True)
class CustomerLetter:
    """What the customer is told: no root cause, no D-sections, no staff names."""

    letterhead: str
    ticket_no: str
    store_name: str
    received_at: datetime
    what_happened: str
    what_was_done: str
    remedy: str
    status_url: str  # the public ticket status page (relative), or "" without a phone

    @property
    def received_local(self) -> str:
        return f"{timezone.localtime(self.received_at, chain_zone()):%Y-%m-%d %H:%M}"


def _letterhead(complaint: Complaint) -> str:
    """The chain's name (``settings.CHAIN_NAME`` when set), else the store's: never the name of
    this software."""
    return settings.CHAIN_NAME or complaint.store.name


def customer_letter_compose(*, complaint: Complaint, report: EightDReport,
                            names: Iterable[str], letterhead: str) -> CustomerLetter:
    """The customer's summary from the complaint and its 8D report, ``names`` masked in every
    free text (the handler's summary and the remedy too: they are written by staff)."""
    names = list(names)
    status_url = ""
    if complaint.customer_phone:
        status_url = f"{reverse('complaints_public:ticket')}?t={complaint.ticket_no}"
    return CustomerLetter(
        letterhead=letterhead, ticket_no=complaint.ticket_no, store_name=complaint.store.name,
        received_at=complaint.received_at,
        what_happened=mask_text(complaint.description, names=names),
        what_was_done=mask_text(report.customer_summary.strip(), names=names),
        remedy=mask_text(complaint.remedy.strip(), names=names), status_url=status_url)


def _field(label: str, value: str | None = None) -> str:
    """``label: value`` (or the heading ``label:``) with the language's colon."""
    if value is None:
        return _("%(label)s:") % {"label": label}
    return _("%(label)s: %(value)s") % {"label": label, "value": value}


def customer_email_compose(letter: CustomerLetter) -> tuple[str, str]:
    """(subject, body) of the customer's e-mail, in the active language."""
    title = _("%(chain)s: the handling report of your complaint %(ticket)s") % {
        "chain": letter.letterhead, "ticket": letter.ticket_no}
    lines = [
        _("Dear customer,"), "",
        _("Thank you for telling us what went wrong. Your complaint has been handled; this is "
          "our report."), "",
        _field(_("Ticket number"), letter.ticket_no),
        _field(_("Store"), letter.store_name),
        _field(_("Received on"), letter.received_local), "",
        _field(_("What you told us")), letter.what_happened, "",
        _field(_("What we have done")), letter.what_was_done, "",
        _field(_("What we offered you")), letter.remedy or "–", "",
    ]
    if letter.status_url:
        lines += [_("You can check your complaint at the link below with the ticket number and "
                    "the last four digits of your phone."), ""]
    lines.append(letter.letterhead)
    return title, "\n".join(lines)


def superior_report_compose(*, complaint: Complaint, report: EightDReport,
                            names: Iterable[str]) -> tuple[str, str]:
    """(title, body) of the full report for the superior: every 8D section and the customer
    summary. The customer's personal data in the description is masked (the body leaves the
    system by e-mail); the page behind the link shows what the reader's role may see."""
    zone = chain_zone()
    owner = complaint.owner
    closed = complaint.closed_at or timezone.now()
    title = _("Complaint %(ticket)s (grade %(grade)s) closed: handling report") % {
        "ticket": complaint.ticket_no, "grade": complaint.grade}
    lines = [
        _field(_("Ticket number"), complaint.ticket_no),
        _field(_("Store"), f"{complaint.store.code} {complaint.store.name}"),
        _field(_("Grade"), f"{complaint.grade} · {complaint.get_category_display()}"),
        _field(_("Received on"),
               f"{timezone.localtime(complaint.received_at, zone):%Y-%m-%d %H:%M}"),
        _field(_("Closed"), f"{timezone.localtime(closed, zone):%Y-%m-%d %H:%M}"),
        _field(_("Handling owner"), _user_name(owner) if owner else "–"), "",
        _field(_("Complaint")), mask_text(complaint.description, names=names), "",
    ]
    for _name, label, text in report.sections():
        lines += [_field(str(label)), text.strip() or "–", ""]
    lines += [_field(_("Summary for the customer")), report.customer_summary.strip() or "–", "",
              _field(_("Remedy")), complaint.remedy.strip() or "–"]
    return title, "\n".join(lines)


# --- Reads ------------------------------------------------------------------------------------

def _names(complaint: Complaint) -> list[str]:
    """Names to mask in free text: the customer's, the store's staff and the complaint's
    people (the employee involved may work elsewhere now; the owner and receiver are users)."""
    names = [complaint.customer_name]
    names += Employee.objects.filter(store_id=complaint.store_id).values_list("name", flat=True)
    if complaint.employee_id:
        names.append(complaint.employee.name)
    for user in (complaint.owner, complaint.received_by):
        if user is not None:
            names += [user.get_full_name(), user.first_name, user.last_name]
    return names


def customer_letter(complaint: Complaint) -> CustomerLetter | None:
    """The customer's letter of a closed complaint whose report has a customer summary (what
    the letter page prints), or None."""
    report = EightDReport.objects.filter(complaint=complaint).first()
    if complaint.closed_at is None or report is None or not report.customer_summary.strip():
        return None
    return customer_letter_compose(complaint=complaint, report=report,
                                   names=_names(complaint), letterhead=_letterhead(complaint))


def report_superiors(complaint: Complaint) -> list[User]:
    """The handling owner's superior: HQ for grade A, and when the owner is a region manager
    or HQ; otherwise the store's region manager(s), or HQ if the region has none."""
    owner = complaint.owner
    if complaint.grade == "A" or (owner is not None and owner.role in (
            Role.REGIONAL_MANAGER, Role.HQ_ADMIN)):
        return _hq_users()
    return _regional_managers({complaint.store_id}).get(complaint.store_id) or _hq_users()


def _user_name(user: User) -> str:
    return user.get_full_name() or user.username


# --- Sending ----------------------------------------------------------------------------------

@transaction.atomic
def complaint_report_send(*, complaint: Complaint, user: User) -> None:
    """Send the handling report of a complaint just closed (``complaint_close`` calls this for
    grades that require the 8D report, which it has checked is complete with a customer
    summary): the customer's summary by e-mail or as a letter, the full report to the superior,
    and one ``report_sent`` event for each."""
    report = EightDReport.objects.get(complaint=complaint)
    names = _names(complaint)
    letter = customer_letter_compose(complaint=complaint, report=report, names=names,
                                     letterhead=_letterhead(complaint))
    if complaint.customer_email:
        # The customer reads the chain's language, whoever closed the complaint.
        with translation.override(settings.LANGUAGE_CODE):
            title, body = customer_email_compose(letter)
        outbox_email_send(address=complaint.customer_email, title=title, body=body,
                          url=letter.status_url, kind=CUSTOMER_KIND)
        customer = {"via": "email", "to": mask_email(complaint.customer_email)}
    else:
        customer = {"via": "letter", "to": mask_name(complaint.customer_name)}
    _log(complaint, actor=user, action=REPORT_SENT,
         changes={"recipient": "customer", **customer, "cycle": complaint.cycle})

    superiors = report_superiors(complaint)
    if superiors:
        title, body = superior_report_compose(complaint=complaint, report=report, names=names)
        notification_send(users=superiors, title=title, body=body,
                          url=reverse("complaints:eight_d_print", args=[complaint.pk]),
                          kind=SUPERIOR_KIND)
    _log(complaint, actor=user, action=REPORT_SENT,
         changes={"recipient": "superior", "via": "app_email",
                  "to": [_user_name(u) for u in superiors], "cycle": complaint.cycle})
