"""Core periodic tasks."""

from celery import shared_task
from django.core.cache import cache
from django.utils import timezone

BEAT_HEARTBEAT_KEY = "satisfaction:beat-heartbeat"


@shared_task
def beat_heartbeat() -> str:
    """Record that beat and a worker are alive; ``/healthz`` reports the last time seen."""
    now = timezone.now().isoformat()
    cache.set(BEAT_HEARTBEAT_KEY, now, timeout=None)
    return now


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def notification_email(notification_id: int) -> None:
    from django.core.mail import send_mail

    from satisfaction.models import Notification

    note = Notification.objects.select_related("user").filter(pk=notification_id).first()
    if note is None or not note.user.email:
        return
    send_mail(note.title, f"{note.body}\n\n{note.url}".strip(), None, [note.user.email])


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def notification_webhook(title: str, body: str, url: str) -> None:
    from satisfaction.notifications import webhook_post

    webhook_post(title, body, url)
