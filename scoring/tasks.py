"""Celery tasks of the scoring app: thin wrappers over ``scoring.services``."""

from __future__ import annotations

import logging

from celery import shared_task
from django.db import OperationalError

from satisfaction.errors import ApplicationError
from satisfaction.quarters import Quarter
from scoring.services import rollup_quarter

logger = logging.getLogger(__name__)


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=3)
def rollup_quarter_task(quarter: str, reason: str = "") -> str:
    """Recompute one quarter's provisional revision; a locked quarter is skipped."""
    try:
        outcome = rollup_quarter(quarter=Quarter.parse(quarter), reason=reason)
    except ApplicationError as exc:
        if exc.code == "quarter_locked":
            logger.info("scoring: %s is locked; not recomputed", quarter)
            return "locked"
        raise
    return f"{quarter} r{outcome.rollup.revision}: {outcome.stores} stores"


@shared_task
def rollup_running_quarter() -> str:
    """Nightly (beat): the running quarter's provisional values."""
    return rollup_quarter_task(str(Quarter.current()))


@shared_task
def rollup_finished_quarter() -> str:
    """Once after a quarter ends (beat, first day of the next quarter): its final values."""
    return rollup_quarter_task(str(Quarter.current().previous()))
