"""A background job run by a real Celery worker (PostgreSQL + Redis pass): the web process
starts it and returns at once, the worker runs it, and the page's status reaches done."""

from __future__ import annotations

import os

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from satisfaction.celery import app
from satisfaction.jobs import job_progress, job_start
from satisfaction.models import Job, JobState, Store
from tests.complaints.test_celery_worker import _database_url, _start_worker, _stop, _wait_for
from tests.satisfaction.test_chain_import import STORES_CSV

pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]


def test_a_worker_runs_the_dry_run_then_the_import(hq, login):
    # Tasks other tests queued in this pass (kicks of the outbox sweep, …) would stand before
    # ours in the queue.
    app.control.purge()
    # The worker reads the upload from the same MEDIA_ROOT as this process (the settings'
    # own), as any worker of this test database would.
    env = {**os.environ, "DATABASE_URL": _database_url(), "DB_CONN_MAX_AGE": "0"}
    dry, started = job_start(kind="satisfaction.chain_import", user=hq,
                             params={"dry_run": True},
                             upload=SimpleUploadedFile("stores.csv", STORES_CSV.encode()))
    assert started
    dry.refresh_from_db()
    assert dry.state == JobState.QUEUED  # the request did not run it
    worker = _start_worker(env, "jobs-test")
    try:
        assert _wait_for(lambda: not Job.objects.get(pk=dry.pk).is_active, timeout=90)
        dry.refresh_from_db()
        assert (dry.state, dry.error) == (JobState.DONE, "")
        assert job_progress(dry) == (4, 4)
        assert dry.result["dry_run"] is True
        assert Store.objects.count() == 0
        client = login(hq)
        assert client.get(f"/jobs/{dry.public_id}/status").json()["percent"] == 100
        client.post(f"/jobs/{dry.public_id}/import")
        real = Job.objects.exclude(pk=dry.pk).get(kind="satisfaction.chain_import")
        assert _wait_for(lambda: Job.objects.get(pk=real.pk).state == JobState.DONE, timeout=90)
        assert Store.objects.count() == 3
    finally:
        _stop(worker)
