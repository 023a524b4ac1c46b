"""Intake: ticket numbers, attachments (recognised by ``satisfaction.uploads``, like
mystery-shopper evidence), linking a new complaint to the one it repeats and to the closed one
it is a recurrence of, and ``complaint_create``."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from complaints import rules
from complaints.models import (
    OPEN_STATUSES,
    Category,
    Channel,
    Complaint,
    ComplaintAttachment,
    ComplaintKind,
    ComplaintPolicy,
    Source,
    Status,
)
from complaints.selectors import department_heads, grade_policies
from satisfaction.errors import ApplicationError
from satisfaction.models import Department, Employee, Role, Store, User
from satisfaction.notifications import notification_send
from satisfaction.quarters import chain_zone, earliest_request_moment
from satisfaction.scoping import visible_stores
from satisfaction.uploads import AUDIO, PDF, PHOTO, VIDEO, sniff

from ._common import _clock_fields, _forbidden, _log
from .products import ProductInput, product_save, product_validate, received_on
from .recipients import _detail_url, _hq_users, _store_managers
from .recurrence import recurrence_link, watched_at

TICKET_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
CLOCK_SKEW = timedelta(minutes=5)  # a receiving system's clock may run a little ahead
MAX_ATTACHMENTS = 5
ATTACHMENT_KINDS = frozenset({PHOTO, AUDIO, PDF, VIDEO})
MAX_EMAIL_LENGTH = 254  # Complaint.customer_email


# --- Intake ---------------------------------------------------------------------------------

def _new_ticket_no(now: datetime, prefix: str = "C") -> str:
    """C (a customer's complaint) or I (a store's internal complaint), the chain's date and
    six random characters."""
    suffix = "".join(secrets.choice(TICKET_ALPHABET) for _ in range(6))
    return f"{prefix}{timezone.localtime(now, chain_zone()):%y%m%d}{suffix}"


def _insert_with_ticket(complaint: Complaint, now: datetime, prefix: str = "C") -> None:
    """Save a new complaint under a fresh ticket number (another on the rare collision)."""
    for _attempt in range(5):
        complaint.ticket_no = _new_ticket_no(now, prefix)
        try:
            with transaction.atomic():
                complaint.save()
        except IntegrityError:
            if Complaint.objects.filter(ticket_no=complaint.ticket_no).exists():
                complaint.pk = None
                continue
            raise
        else:
            return


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
                  previous_ticket: str) -> Complaint | None:
    """The earlier complaint this one repeats: the ticket named, else the same customer's
    complaint at the store in the category that is open, resolved, or closed and still watched
    for recurrence. (The closed complaint it is a recurrence of is ``recurrence_link``'s.)"""
    previous = None
    if previous_ticket:
        previous = Complaint.objects.customer().filter(
            ticket_no=previous_ticket.strip().upper(), store=store).first()
        if previous is None:
            raise ApplicationError(
                _("No earlier complaint with this ticket number at this store."),
                fields={"previous_ticket": [_("Unknown ticket number.")]}, code="unknown_ticket")
    elif phone:
        previous = (Complaint.objects.customer()
                    .filter(store=store, category=category, customer_phone=phone)
                    .filter(Q(status__in=(*OPEN_STATUSES, Status.RESOLVED)) | watched_at(now))
                    .order_by("-received_at").first())
    return previous


def _received_at_error(*, received_at: datetime, now: datetime, policy: ComplaintPolicy,
                       received_by: User | None) -> str | None:
    """A complaint is dated when the chain received it: not in the future (a few minutes of
    clock skew aside), not before 2000, and, unless HQ records it, at most
    ``ComplaintPolicy.backdate_days`` back: a late entry by a store (or a POS / call-centre
    system) cannot quietly land in a quarter that is already being scored. A complaint dated
    inside a published quarter is still accepted; it never changes the published values."""
    if received_at > now + CLOCK_SKEW:
        return _("The receipt time cannot be in the future.")
    earliest = earliest_request_moment()
    if received_at < earliest:
        return _("The receipt time cannot be before %(year)s.") % {"year": earliest.year}
    if (received_at < now - timedelta(days=policy.backdate_days)
            and not (received_by is not None and rules.can_backdate(received_by))):
        return _("The receipt time may be at most %(days)s days back; HQ records complaints "
                 "received earlier.") % {"days": policy.backdate_days}
    return None


def _validate_intake(*, store: Store, channel: str, category: str, description: str,
                     customer_phone: str, occurred_at: datetime | None, received_at: datetime,
                     now: datetime, employee: Employee | None, source: str,
                     attachment_count: int, policy: ComplaintPolicy,
                     received_by: User | None) -> None:
    errors: dict[str, list[str]] = {}
    if channel not in Channel.values:
        errors["channel"] = [_("Choose a channel.")]
    if category not in Category.values:
        errors["category"] = [_("Choose a category.")]
    if not description.strip():
        errors["description"] = [_("Describe what happened.")]
    received_error = _received_at_error(received_at=received_at, now=now, policy=policy,
                                        received_by=received_by)
    if received_error:
        errors["received_at"] = [received_error]
    if occurred_at is not None and occurred_at > received_at + CLOCK_SKEW:
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


def _customer_email_valid(address: str) -> str:
    """The customer's e-mail address, trimmed (the handling report is e-mailed there when the
    complaint is closed, ``services.reports``); one that is not valid is a field error."""
    address = address.strip()
    if address:
        try:
            validate_email(address)
            valid = len(address) <= MAX_EMAIL_LENGTH
        except ValidationError:
            valid = False
        if not valid:
            raise ApplicationError(_("The complaint has invalid fields."), fields={
                "customer_email": [_("Enter a valid e-mail address.")]})
    return address


@transaction.atomic
def complaint_create(*, store: Store, channel: str, category: str, description: str,
                     customer_name: str = "", customer_phone: str = "",
                     occurred_at: datetime | None = None, received_at: datetime | None = None,
                     employee: Employee | None = None, received_by: User | None = None,
                     source: str = Source.STAFF, attachments: Sequence[UploadedFile] = (),
                     previous_ticket: str = "",
                     product: ProductInput | None = None,
                     customer_email: str = "") -> Complaint:
    now = timezone.now()
    received_at = received_at or now
    policy = ComplaintPolicy.current()
    _validate_intake(store=store, channel=channel, category=category, description=description,
                     customer_phone=customer_phone, occurred_at=occurred_at,
                     received_at=received_at, now=now, employee=employee, source=source,
                     attachment_count=len(attachments), policy=policy,
                     received_by=received_by)
    customer_email = _customer_email_valid(customer_email)
    # The medicine of a product complaint (``services.products``): checked before any write.
    product_values = product_validate(category=category, product=product,
                                      received_on=received_on(received_at))
    grades = grade_policies()
    previous = _find_related(
        store=store, category=category, phone=customer_phone.strip(), now=now,
        previous_ticket=previous_ticket)
    complaint = Complaint(
        store=store, channel=channel, source=source, category=category,
        customer_name=customer_name.strip(), customer_phone=customer_phone.strip(),
        customer_email=customer_email, description=description.strip(),
        occurred_at=occurred_at, received_at=received_at,
        employee=employee, received_by=received_by if received_by and received_by.pk else None,
        is_second=previous is not None, previous=previous)
    complaint.clock_started_at = received_at
    for name, value in _clock_fields(complaint, now=received_at, running=True, grade="",
                                     policy=policy, grades=grades).items():
        setattr(complaint, name, value)
    _insert_with_ticket(complaint, now)
    if product_values is not None:
        product_save(complaint=complaint, values=product_values)
    for upload in attachments:
        attachment_add(complaint=complaint, upload=upload, user=received_by)
    _log(complaint, actor=received_by if received_by and received_by.pk else None,
         action="created", changes={"status": [None, Status.NEW]},
         note=_("Second complaint about %(ticket)s") % {"ticket": previous.ticket_no}
         if previous else "")
    # After the product is saved: a recurrence may be the same batch in another store.
    recurrence_link(complaint=complaint, now=now)
    notification_send(
        users=_hq_users() + _store_managers({store.pk}).get(store.pk, []),
        title=_("New complaint %(ticket)s at %(store)s") % {
            "ticket": complaint.ticket_no, "store": store.name},
        body=complaint.get_category_display(), url=_detail_url(complaint),
        kind="complaint_new", email=False)
    return complaint


# --- Internal complaints: a store's complaint to an HQ department ---------------------------

def internal_owner(department: Department) -> User | None:
    """The owner an internal complaint gets at once: of the department's active heads, the one
    with the fewest open internal complaints of the department, the earliest account on a tie
    (one query). None when the department has no head: HQ is told and handles it."""
    open_ones = Q(owned_complaints__kind=ComplaintKind.INTERNAL,
                  owned_complaints__department=department,
                  owned_complaints__status__in=OPEN_STATUSES)
    return (User.objects.filter(role=Role.DEPARTMENT_HEAD, is_active=True,
                                departments=department)
            .annotate(open_count=Count("owned_complaints", filter=open_ones))
            .order_by("open_count", "pk").first())


@transaction.atomic
def internal_complaint_create(*, user: User, store: Store, department: Department,
                              description: str,
                              attachments: Sequence[UploadedFile] = ()) -> Complaint:
    """A store's manager or staff member files a complaint to an HQ department. It runs the
    customer complaint's clock (``policy_of``: ``internal_policy``, 24 hours by default, with
    its alerts and escalation: the owner and the department's heads, then HQ) and is handled
    and closed by the same services; it is never graded, deducts nothing and counts in no
    customer figure. Its owner is ``internal_owner``; the store says whether it is satisfied
    with the resolution (``internal_complaint_confirm``)."""
    if not rules.can_file_internal(user):
        raise _forbidden()
    errors: dict[str, list[str]] = {}
    if not department.is_active:
        errors["department"] = [_("This department no longer takes complaints.")]
    if not description.strip():
        errors["description"] = [_("Describe what happened.")]
    if not store.is_active:
        errors["store"] = [_("This store is closed.")]
    elif not visible_stores(user).filter(pk=store.pk).exists():
        errors["store"] = [_("You may only file complaints for your own store.")]
    if len(attachments) > MAX_ATTACHMENTS:
        errors["attachments"] = [_("Attach at most %(n)s files.") % {"n": MAX_ATTACHMENTS}]
    if errors:
        raise ApplicationError(_("The complaint has invalid fields."), fields=errors)
    now = timezone.now()
    owner = internal_owner(department)
    complaint = Complaint(
        kind=ComplaintKind.INTERNAL, department=department, store=store, channel=Channel.WEB,
        source=Source.STAFF, category=Category.OTHER, description=description.strip(),
        received_at=now, received_by=user, owner=owner,
        status=Status.ASSIGNED if owner is not None else Status.NEW)
    complaint.clock_started_at = now
    for name, value in _clock_fields(complaint, now=now, running=True, grade="",
                                     policy=ComplaintPolicy.current(),
                                     grades=grade_policies()).items():
        setattr(complaint, name, value)
    _insert_with_ticket(complaint, now, prefix="I")
    for upload in attachments:
        attachment_add(complaint=complaint, upload=upload, user=user)
    _log(complaint, actor=user, action="created",
         changes={"status": [None, complaint.status], "department": [None, department.pk],
                  **({"owner": [None, owner.pk]} if owner else {})})
    heads = department_heads([department.pk]).get(department.pk, [])
    notification_send(
        users=heads or _hq_users(),
        title=_("New internal complaint %(ticket)s from %(store)s to %(department)s") % {
            "ticket": complaint.ticket_no, "store": store.name, "department": department.name},
        body=complaint.description[:200], url=_detail_url(complaint),
        kind="internal_complaint_new")
    return complaint
