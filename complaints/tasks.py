"""Thin Celery wrappers over the complaint services."""

from __future__ import annotations

from celery import shared_task
from django.db import OperationalError

from complaints import services

DELIVERY_BATCH = 200


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=3)
def sla_sweep() -> dict:
    """Run every minute by beat: record due SLA alerts and recurrence checks, then queue their
    delivery in batches (plus any recorded alert whose delivery was lost).

    Idempotent: alerts are recorded under a unique key and delivered under a row lock, so a
    retried, duplicated or concurrent run sends nothing twice."""
    result = services.sla_sweep(deliver=False)
    ids = sorted(set(result.alert_ids) | set(services.sla_alerts_unsent()))
    for start in range(0, len(ids), DELIVERY_BATCH):
        deliver_sla_alerts.delay(ids[start:start + DELIVERY_BATCH])
    return result.as_dict()


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def deliver_sla_alerts(alert_ids: list[int]) -> int:
    return services.sla_alerts_deliver(alert_ids=alert_ids)
