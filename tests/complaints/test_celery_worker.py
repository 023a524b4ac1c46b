"""End to end with a real Celery worker and Redis: a complaint is created, time passes (its
receipt lies 30 hours back), the sweep task runs in the worker, the alerts are recorded once."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from complaints.models import SlaAlert
from complaints.tasks import sla_sweep
from tests.complaints.factories import make_complaint

pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]


def _database_url() -> str:
    s = connection.settings_dict
    auth = s["USER"] + (f":{s['PASSWORD']}" if s.get("PASSWORD") else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def _wait_for(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.25)
    return False


def test_a_real_worker_records_the_overdue_alerts_exactly_once(store, store_manager, hq,
                                                               region_manager):
    complaint = make_complaint(store, received_at=timezone.now() - timedelta(hours=30))
    env = {**os.environ, "DATABASE_URL": _database_url(), "DB_CONN_MAX_AGE": "0"}
    worker = subprocess.Popen(  # noqa: S603 - fixed argv, our own venv
        [str(Path(sys.executable).with_name("celery")), "-A", "satisfaction", "worker",
         "--pool=solo", "--concurrency=1", "--without-heartbeat", "--without-gossip",
         "--without-mingle", "-n", f"complaints-test-{os.getpid()}@%h", "-Q", "celery",
         "--loglevel=WARNING"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        # warn (18 h) + level 1 (24 h) + level 2 (28 h) are due; level 3 (32 h) is not yet.
        sla_sweep.delay()
        sla_sweep.apply_async()  # a duplicate delivery changes nothing
        assert _wait_for(lambda: SlaAlert.objects.filter(
            complaint=complaint, sent_at__isnull=False).count() >= 3, timeout=60)
        time.sleep(2)  # let the duplicate run finish
        assert sorted(SlaAlert.objects.filter(complaint=complaint)
                      .values_list("kind", "level")) == [("escalate", 1), ("escalate", 2),
                                                         ("warn", 0)]
    finally:
        worker.terminate()
        try:
            worker.wait(15)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait(5)
