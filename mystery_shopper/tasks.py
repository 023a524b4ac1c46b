"""Thin Celery wrappers over the mystery-shopper services."""

from __future__ import annotations

from celery import shared_task
from django.db import OperationalError

from mystery_shopper import services


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=3)
def send_visit_reminders() -> dict:
    """Run daily by beat: ``services.visit_reminders_send`` reminds each shopper of their visits
    due within 3 days and of the overdue ones, once per visit and stage, through the
    notification outbox. Idempotent: a retried, repeated or concurrent run reminds no one
    twice (the reminder rows' unique key)."""
    return services.visit_reminders_send().as_dict()
