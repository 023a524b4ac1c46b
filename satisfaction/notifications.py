"""Notifications: in-app (the bell), e-mail, and a webhook for WeCom / DingTalk group robots.

``notification_send`` (one message) and ``notifications_send`` (many, set-based) are the one way
any app tells people something. In the caller's transaction they write the in-app rows and, in
the same transaction, the outbox rows (``satisfaction.models.Delivery``) for every e-mail and
webhook call owed: a rolled-back change notifies no one, and a committed one cannot lose its
e-mails to a dead worker or broker. ``satisfaction.delivery`` sends the outbox (the beat sweep
every minute; each commit also kicks the sweep, for latency only). Callers that must not notify
twice (SLA alerts) record their own unique row first and call this once. ``outbox_email_send``
is the one way to e-mail someone who is not a user (a customer): an outbox row with no user.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import partial

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import connection, connections, router, transaction
from django.db.models import CharField, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce, NullIf
from django.utils import timezone
from django.utils.translation import gettext as _

from satisfaction import rules
from satisfaction.compiled import Stand, bind, compile_once
from satisfaction.delivery import senders_for
from satisfaction.errors import ApplicationError
from satisfaction.models import Delivery, DeliveryChannel, DeliveryState, Notification, User
from satisfaction.tasks import send_due_deliveries

logger = logging.getLogger(__name__)

BATCH_SIZE = 5000


@dataclass(frozen=True)
class Message:
    """One thing to tell ``users`` (in the app; by e-mail to those with an address; and once
    to the group-robot webhook when ``webhook`` and one is configured)."""

    users: Sequence[User]
    title: str
    body: str = ""
    url: str = ""
    kind: str = ""
    email: bool = True
    webhook: bool = False


def notification_send(*, users: Iterable[User], title: str, body: str = "", url: str = "",
                      kind: str = "", email: bool = True, webhook: bool = False) -> list[int]:
    """Notify ``users`` in the app, and queue their e-mails / the webhook call in the outbox.
    Returns the ids of the in-app rows."""
    return notifications_send(messages=[Message(users=list(users), title=title, body=body,
                                                 url=url, kind=kind, email=email,
                                                 webhook=webhook)])


def notifications_send(*, messages: Iterable[Message]) -> list[int]:
    """``notification_send`` for many messages, in one transaction (the caller's, when there is
    one). Set-based: on PostgreSQL one ``INSERT … SELECT FROM unnest(…)`` per 5,000 in-app rows
    and per 5,000 outbox rows, built from plain tuples (no model instance per row); bulk_create
    elsewhere."""
    now = timezone.now()
    webhook_url = settings.NOTIFICATION_WEBHOOK_URL
    notes: list[tuple[int, str, str, str, str]] = []  # user, title, body, url, kind
    deliveries: list[tuple[str, int | None, str, str, str, str, str]] = []
    for message in messages:
        recipients = [u for u in message.users if u is not None and u.is_active]
        title = message.title[:200]
        content = (title, message.body, message.url, message.kind)
        notes += [(u.pk, *content) for u in recipients]
        if message.email:
            deliveries += [(DeliveryChannel.EMAIL, u.pk, u.email, *content)
                           for u in recipients if u.email]
        if message.webhook and webhook_url:
            deliveries.append((DeliveryChannel.WEBHOOK, None, webhook_url, *content))
    with transaction.atomic():
        ids = _insert_notifications(notes, now=now)
        _insert_deliveries(deliveries, now=now)
    if deliveries:
        transaction.on_commit(partial(_kick_sweep, rows=len(deliveries)))
    return ids


def _insert_notifications(rows: list[tuple], *, now) -> list[int]:
    if connection.vendor != "postgresql":
        created = Notification.objects.bulk_create(
            [Notification(user_id=user_id, title=title, body=body, url=url, kind=kind)
             for user_id, title, body, url, kind in rows], batch_size=BATCH_SIZE)
        return [row.pk for row in created]  # SQLite returns the ids of bulk inserts
    returned = _insert_from_arrays(
        "INSERT INTO satisfaction_notification (user_id, title, body, url, kind, "
        "created_at) SELECT u, t, b, l, k, %s FROM unnest(%s::bigint[], %s::text[], "
        "%s::text[], %s::text[], %s::text[]) WITH ORDINALITY AS v(u, t, b, l, k, n) "
        "ORDER BY n RETURNING id", [now], rows)
    return [row[0] for row in returned]


def _insert_deliveries(rows: list[tuple], *, now) -> None:
    if connection.vendor != "postgresql":
        Delivery.objects.bulk_create(
            [Delivery(channel=channel, user_id=user_id, address=address, title=title,
                      body=body, url=url, kind=kind, created_at=now, next_attempt_at=now)
             for channel, user_id, address, title, body, url, kind in rows],
            batch_size=BATCH_SIZE)
        return
    _insert_from_arrays(
        "INSERT INTO satisfaction_delivery (channel, user_id, address, title, body, url, "
        "kind, idempotency_key, state, attempts, next_attempt_at, last_error, "
        "created_at) SELECT c, u, a, t, b, l, k, gen_random_uuid(), %s, 0, %s, '', %s "
        "FROM unnest(%s::text[], %s::bigint[], %s::text[], %s::text[], %s::text[], "
        "%s::text[], %s::text[]) AS v(c, u, a, t, b, l, k)",
        [DeliveryState.PENDING, now, now], rows)


def _insert_from_arrays(sql: str, leading: list, rows: list[tuple]) -> list[tuple]:
    """Run an ``INSERT … SELECT FROM unnest(…)`` (PostgreSQL) per ``BATCH_SIZE`` rows: its
    parameters are ``leading`` then one array per column of ``rows``. Returns what the
    statements return (``RETURNING``), in order."""
    returned: list[tuple] = []
    with connection.cursor() as cursor:
        for start in range(0, len(rows), BATCH_SIZE):
            columns = list(zip(*rows[start:start + BATCH_SIZE], strict=True))
            cursor.execute(sql, [*leading, *map(list, columns)])
            if cursor.description is not None:
                returned += cursor.fetchall()
    return returned


def outbox_email_send(*, address: str, title: str, body: str, url: str = "",
                      kind: str = "") -> int:
    """Queue one e-mail to someone who is not a user (a customer): the one way to do so. It
    is an outbox row with no user and ``address``, written in the caller's transaction and sent
    by ``satisfaction.delivery`` like any other; there is no in-app row. ``url``, if given, must
    be a public page (it is appended to the body as an absolute link). Returns the row's id.

    An address that is not a valid e-mail is an ``ApplicationError`` on ``address``; a failed
    row keeps its address when HQ resends it (there is no user whose address could change)."""
    address = address.strip()
    try:
        validate_email(address)
    except ValidationError as error:
        raise ApplicationError(_("Enter a valid e-mail address."),
                               fields={"address": [_("Enter a valid e-mail address.")]},
                               code="invalid_email") from error
    now = timezone.now()
    with transaction.atomic():
        row = Delivery.objects.create(channel=DeliveryChannel.EMAIL, user=None, address=address,
                                      title=" ".join(title.split())[:200], body=body, url=url,
                                      kind=kind, created_at=now, next_attempt_at=now)
    transaction.on_commit(_kick_sweep)
    return row.pk


def _kick_sweep(*, rows: int = 1) -> None:
    """After the commit that wrote ``rows`` outbox rows: ask the alerts worker to send now
    rather than at the next beat run, with as many senders at once as the burst can use
    (``delivery.senders_for``). Only latency depends on this; a broker that is down loses
    nothing (the rows are committed and the beat sweep sends them)."""
    parts = senders_for(rows)
    try:
        for part in range(parts):
            send_due_deliveries.delay(part=part, parts=parts)
    except Exception:  # the change is committed: never fail the caller now
        logger.warning("notifications: could not queue the delivery sweep; the beat sweep "
                       "will send the pending deliveries", exc_info=True)


def _unread(*, user_id: int) -> QuerySet[Notification]:
    """A user's notifications not yet read: what the bell counts and "mark all read" marks."""
    return Notification.objects.filter(user_id=user_id, read_at__isnull=True)


# "How many unread notifications has this user", per database alias (satisfaction.compiled).
_unread_count: dict = {}


def unread_count(*, user: User) -> int:
    """The bell's count: ``user``'s notifications not yet read. Every logged-in page asks it;
    the statement is the ORM's, compiled once (``satisfaction.compiled``)."""
    alias = router.db_for_read(Notification)
    sql, template = compile_once(_unread_count, "unread", alias, lambda: (
        _unread(user_id=Stand.USER_ID).order_by().values("pk")))
    with connections[alias].cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM ({sql}) AS unread",  # noqa: S608 - the ORM's
                       bind(template, {Stand.USER_ID: user.pk}))
        return cursor.fetchone()[0]


def notification_mark_read(*, user: User, notification_id: int | None = None) -> int:
    """Mark one (or, with no id, every) unread notification of ``user`` as read."""
    unread = _unread(user_id=user.pk)
    if notification_id is not None:
        unread = unread.filter(pk=notification_id)
    return unread.update(read_at=timezone.now())


def delivery_resend(*, user: User, delivery_ids: Iterable[int] | None = None) -> int:
    """Put failed deliveries (the given ones, or every failed one) back to pending with fresh
    tries, due now. An e-mail goes to its user's current address and a webhook call to the
    webhook configured now (either may be what made it fail). Returns how many."""
    if not rules.can_manage_deliveries(user):
        raise ApplicationError(_("Only HQ may resend deliveries."), code="forbidden",
                               status=403)
    failed = Delivery.objects.filter(state=DeliveryState.FAILED)
    if delivery_ids is not None:
        failed = failed.filter(pk__in=list(delivery_ids))
    current_email = Subquery(User.objects.filter(pk=OuterRef("user_id")).values("email")[:1])
    with transaction.atomic():
        failed.filter(channel=DeliveryChannel.EMAIL, user__isnull=False).update(
            address=Coalesce(NullIf(current_email, Value("")), "address",
                             output_field=CharField()))
        if settings.NOTIFICATION_WEBHOOK_URL:
            failed.filter(channel=DeliveryChannel.WEBHOOK).update(
                address=settings.NOTIFICATION_WEBHOOK_URL)
        count = failed.update(state=DeliveryState.PENDING, attempts=0,
                              next_attempt_at=timezone.now())
    if count:
        transaction.on_commit(partial(_kick_sweep, rows=count))
    return count
