"""The nightly rollup through a real Celery worker and Redis broker."""

from __future__ import annotations

import threading
import uuid

import pytest

from scoring.models import Rollup, StoreScore
from tests.scoring.conftest import PAST


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_a_worker_rolls_up_a_quarter_twice_into_one_set_of_rows(frames_from_apps, settings):
    from celery.contrib.testing.worker import start_worker
    from celery.signals import task_postrun

    from satisfaction.celery import app
    from scoring.tasks import rollup_quarter_task

    done = []
    ours: set[str] = set()
    finished = threading.Event()

    def on_done(sender=None, task_id=None, retval=None, state=None, **kwargs):
        if task_id in ours:
            done.append((state, retval))
            if len(done) == 2:
                finished.set()

    task_postrun.connect(on_done, weak=False)
    settings.CELERY_TASK_ALWAYS_EAGER = False
    app.conf.task_always_eager = False
    try:
        with start_worker(app, pool="threads", concurrency=2, perform_ping_check=False,
                          shutdown_timeout=30):
            ids = [str(uuid.uuid4()) for _ in range(2)]
            ours.update(ids)  # known before sending: a fast worker cannot finish unseen
            for task_id in ids:
                rollup_quarter_task.apply_async(args=[str(PAST)], task_id=task_id)
            assert finished.wait(60)
    finally:
        task_postrun.disconnect(on_done)
        app.conf.task_always_eager = True
    assert [state for state, _ in done] == ["SUCCESS", "SUCCESS"]
    assert Rollup.objects.count() == 1
    assert StoreScore.objects.count() == 3
