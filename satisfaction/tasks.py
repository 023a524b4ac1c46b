"""Core tasks (thin wrappers): the beat heartbeat and the notification outbox's sweep.

Every task here is safe to run twice (``task_reject_on_worker_lost`` gives a lost one back to
the queue): the sweep claims rows under a lock and a lease, the purge deletes what is already
old, the heartbeat writes a time.
"""

import uuid

from celery import shared_task
from django.core.cache import cache
from django.db import OperationalError
from django.utils import timezone

from satisfaction import jobs
from satisfaction.delivery import deliveries_purge_sent, deliveries_send_due, legacy_task_enqueue

BEAT_HEARTBEAT_KEY = "satisfaction:beat-heartbeat"


@shared_task
def beat_heartbeat() -> str:
    """Record that beat and a worker are alive; ``/healthz`` reports the last time seen."""
    now = timezone.now().isoformat()
    cache.set(BEAT_HEARTBEAT_KEY, now, timeout=None)
    return now


@shared_task
def send_due_deliveries(part: int = 0, parts: int = 1) -> dict:
    """Every minute (beat), and kicked after a notification commits (``parts`` senders at
    once for a burst): send the outbox's due e-mails and webhook calls
    (``satisfaction.delivery.deliveries_send_due``)."""
    return deliveries_send_due(part=part, parts=parts).as_dict()


@shared_task
def purge_sent_deliveries() -> int:
    """Nightly (beat): delete sent outbox rows older than ``DELIVERY_KEEP_DAYS``."""
    return deliveries_purge_sent()


def _task_key(task) -> uuid.UUID:
    task_id = getattr(task.request, "id", None)
    return uuid.uuid5(uuid.NAMESPACE_URL, f"celery-task:{task_id}") if task_id else uuid.uuid4()


# The two tasks below were how e-mail and webhooks were sent before the outbox. They stay
# registered so that messages still queued at deploy time are not lost: each moves its message
# into the outbox (under a key made from the task id: a redelivery adds nothing). Nothing queues
# them any more; remove them one release after the outbox.

@shared_task(bind=True)
def notification_email(self, notification_id: int) -> None:
    legacy_task_enqueue(key=_task_key(self), notification_id=notification_id)


@shared_task(bind=True)
def notification_webhook(self, title: str, body: str, url: str) -> None:
    legacy_task_enqueue(key=_task_key(self), title=title, body=body, url=url)


@shared_task(bind=True, max_retries=3)
def job_run(self, job_id: int) -> str | None:
    """Run a background job (``satisfaction.jobs.job_run``). A database that is briefly
    unreachable before the job is claimed retries; the job itself records its own failure."""
    try:
        job = jobs.job_run(job_id=job_id)
    except OperationalError as exc:
        raise self.retry(exc=exc, countdown=10) from exc
    return job.state if job is not None else None


@shared_task
def delete_old_job_files() -> int:
    """Hourly (beat): remove job uploads and result files older than a day."""
    return jobs.jobs_delete_old_files()
