"""Each task goes to its queue: alerts, rollups, exports or the default one, so a rollup never
waits in front of an SLA alert (satisfaction/celery.py, docs/operations.md)."""

from __future__ import annotations

import pytest
from django.conf import settings

from satisfaction.celery import QUEUES, TASK_QUEUES, app


def _project_tasks() -> set[str]:
    app.autodiscover_tasks(force=True)  # import every app's tasks.py now
    return {name for name in app.tasks if not name.startswith("celery.")}


def _queue_of(name: str) -> str:
    return app.amqp.router.route({}, name, args=(), kwargs={})["queue"].name


def test_every_task_of_the_project_has_a_queue_of_its_own_choosing():
    tasks = _project_tasks()
    assert "complaints.tasks.sla_sweep" in tasks  # the discovery found the apps' tasks
    unrouted = tasks - set(TASK_QUEUES)
    assert not unrouted, f"give these tasks a queue in satisfaction/celery.py: {unrouted}"


def test_no_route_names_a_task_that_does_not_exist_or_a_queue_no_worker_consumes():
    assert set(TASK_QUEUES) <= _project_tasks()
    assert set(TASK_QUEUES.values()) <= set(QUEUES)
    assert {queue.name for queue in app.conf.task_queues} == set(QUEUES)


@pytest.mark.parametrize(("task", "queue"), [
    ("complaints.tasks.sla_sweep", "alerts"),
    ("satisfaction.tasks.send_due_deliveries", "alerts"),
    ("complaints.tasks.deliver_sla_alerts", "alerts"),
    ("scoring.tasks.rollup_quarter_task", "rollups"),
    ("scoring.tasks.rollup_running_quarter", "rollups"),
    ("scoring.tasks.rollup_finished_quarter", "rollups"),
    ("satisfaction.tasks.job_run", "exports"),
    ("complaints.tasks.spike_sweep", "celery"),
])
def test_the_router_sends_each_task_to_its_queue(task, queue):
    assert _queue_of(task) == queue


def test_every_task_of_the_project_is_routed_to_the_queue_the_table_names():
    for name in _project_tasks():
        assert _queue_of(name) == TASK_QUEUES[name], name


def test_the_beat_schedule_only_sends_routed_tasks():
    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert scheduled <= set(TASK_QUEUES)
    assert _queue_of("complaints.tasks.sla_sweep") != _queue_of(
        "scoring.tasks.rollup_running_quarter")


def test_eager_mode_still_runs_a_routed_task_in_process(db, monkeypatch):
    from satisfaction.tasks import beat_heartbeat

    monkeypatch.setattr(app.conf, "task_always_eager", True)  # as without a broker
    result = beat_heartbeat.delay()
    assert result.successful()
    assert result.get()
