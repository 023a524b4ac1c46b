"""Core tasks: the beat heartbeat and the delivery of notifications (thin wrappers)."""

from celery import shared_task
from django.core.cache import cache
from django.utils import timezone

from satisfaction.delivery import notification_email_send, webhook_post

BEAT_HEARTBEAT_KEY = "satisfaction:beat-heartbeat"


@shared_task
def beat_heartbeat() -> str:
    """Record that beat and a worker are alive; ``/healthz`` reports the last time seen."""
    now = timezone.now().isoformat()
    cache.set(BEAT_HEARTBEAT_KEY, now, timeout=None)
    return now


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def notification_email(notification_id: int) -> None:
    notification_email_send(notification_id=notification_id)


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def notification_webhook(title: str, body: str, url: str) -> None:
    webhook_post(title, body, url)
