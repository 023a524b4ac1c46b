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
