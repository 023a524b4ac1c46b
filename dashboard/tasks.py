"""Thin Celery wrappers over the dashboard's services."""

from __future__ import annotations

from celery import shared_task
from django.db import OperationalError
from django.utils import timezone

from dashboard import reports, services


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=3)
def send_monthly_reports() -> int:
    """Run every morning by beat: from the first working day of a month
    (``reports.report_month_due``) send the previous month's reports to whoever has not had
    them (``services.monthly_reports_send``, idempotent). Every day after the first working
    day is a catch-up run that finds no one left unless the send was missed (a beat or worker
    down on the day) or someone became a manager since. Returns how many were sent."""
    month = reports.report_month_due(timezone.localdate())
    if month is None:
        return 0
    return services.monthly_reports_send(month=month, now=timezone.now())

