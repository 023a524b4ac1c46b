"""Thin Celery wrappers over the dashboard's services."""

from __future__ import annotations

from celery import shared_task
from django.db import OperationalError
from django.utils import timezone

from dashboard import loyalty, reports, services


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


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=3)
def refresh_loyalty_figures() -> list[str]:
    """Run every 30 minutes by beat: the chain pass of the store and region pages' loyalty
    figures for the quarters whose trend the pages show by default
    (``loyalty.refresh_figures``: the quarters not yet settled every run, the settled ones
    once a week), so that no page request pays it. Returns the quarters computed."""
    return [str(quarter) for quarter in loyalty.refresh_figures(now=timezone.now())]
