"""Sending a notification out of the app: e-mail and the group-robot webhook.

Plain I/O functions, called by the tasks in ``satisfaction.tasks``; ``satisfaction.notifications``
decides what is sent and queues those tasks. Keeping the sending here, below both, is what lets
the service import its tasks without the tasks importing the service back.
"""

from __future__ import annotations

import json
import urllib.request

from django.conf import settings
from django.core.mail import send_mail

from satisfaction.models import Notification


def notification_email_send(*, notification_id: int) -> None:
    """E-mail one in-app notification to its user (nothing when the user has no address)."""
    note = Notification.objects.select_related("user").filter(pk=notification_id).first()
    if note is None or not note.user.email:
        return
    send_mail(note.title, f"{note.body}\n\n{note.url}".strip(), None, [note.user.email])


def webhook_payload(title: str, body: str, url: str) -> dict:
    """Markdown message that both WeCom and DingTalk group robots accept."""
    link = f"{settings.PUBLIC_BASE_URL}{url}" if url.startswith("/") else url
    text = f"**{title}**\n\n{body}" + (f"\n\n[{link}]({link})" if link else "")
    return {"msgtype": "markdown", "markdown": {"title": title, "text": text, "content": text}}


def webhook_post(title: str, body: str, url: str) -> None:
    data = json.dumps(webhook_payload(title, body, url)).encode()
    request = urllib.request.Request(  # noqa: S310 - the URL is the operator's configured robot
        settings.NOTIFICATION_WEBHOOK_URL, data=data,
        headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        response.read()
