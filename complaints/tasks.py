"""Thin Celery wrappers over the complaint services."""

from __future__ import annotations

from celery import shared_task
from django.db import OperationalError

from complaints import services


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=3)
def sla_sweep() -> dict:
    """Run every minute by beat: ``services.sla_sweep`` records due SLA alerts and recurrence
    checks and hands them over for delivery in batches (in-app rows + e-mail / webhook outbox
    rows, a few bulk INSERTs per batch), plus any recorded alert whose hand-over never completed.

    Idempotent: alerts are recorded under a unique key and handed over under a row lock, so a
    retried, duplicated or concurrent run sends nothing twice. It needs no broker beyond its own
    start: the e-mails and webhooks are sent by the outbox sweep
    (``satisfaction.tasks.send_due_deliveries``)."""
    return services.sla_sweep().as_dict()


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def deliver_sla_alerts(alert_ids: list[int]) -> int:
    """Hand over the given recorded alerts. The sweep does this itself now; kept for the
    batches still queued at deploy time and for a manual run (idempotent: sent alerts are
    skipped)."""
    return services.sla_alerts_deliver(alert_ids=alert_ids)


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=3)
def spike_sweep() -> dict:
    """Run daily by beat (early morning, chain time): ``services.complaint_spike_sweep`` finds
    complaint spikes per store / region and category over the last 7 whole days and alerts the
    region's managers and HQ once per new spike. Idempotent: a rerun the same day alerts
    nothing new."""
    return services.complaint_spike_sweep().as_dict()
