"""Notifications: in-app (the bell), email, and a webhook for WeCom / DingTalk group robots.

``notification_send`` is the one way any app tells people something. It writes the in-app rows
in the caller's transaction and queues email and webhook delivery with
``transaction.on_commit``, so a rolled-back change never notifies anyone. Callers that must not
notify twice (SLA alerts) record their own unique row first and call this once.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from satisfaction.models import Notification, User
from satisfaction.tasks import notification_email, notification_webhook

logger = logging.getLogger(__name__)


def notification_send(*, users: Iterable[User], title: str, body: str = "", url: str = "",
                      kind: str = "", email: bool = True, webhook: bool = False) -> list[int]:
    """Notify ``users`` in the app, and by email / webhook after the transaction commits."""
    recipients = [u for u in users if u is not None and u.is_active]
    rows = Notification.objects.bulk_create([
        Notification(user=u, title=title[:200], body=body, url=url, kind=kind)
        for u in recipients
    ])
    ids = [row.pk for row in rows if row.pk]
    if not ids:  # backends without RETURNING ids on bulk insert
        ids = list(Notification.objects.filter(
            user__in=recipients, title=title[:200], kind=kind, read_at__isnull=True)
            .values_list("pk", flat=True))
    if email and any(u.email for u in recipients):
        transaction.on_commit(lambda: [notification_email.delay(pk) for pk in ids])
    if webhook and settings.NOTIFICATION_WEBHOOK_URL:
        transaction.on_commit(lambda: notification_webhook.delay(title, body, url))
    return ids


def notification_mark_read(*, user: User, notification_id: int | None = None) -> int:
    """Mark one (or, with no id, every) unread notification of ``user`` as read."""
    unread = Notification.objects.filter(user=user, read_at__isnull=True)
    if notification_id is not None:
        unread = unread.filter(pk=notification_id)
    return unread.update(read_at=timezone.now())
