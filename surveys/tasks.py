"""Survey tasks: thin wrappers over services."""

from celery import shared_task

from surveys.services import open_campaigns_scan


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=3)
def scan_open_campaigns() -> int:
    """Flag stores whose answers look manufactured (idempotent: each store once per campaign)."""
    return open_campaigns_scan()
