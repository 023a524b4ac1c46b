"""The Celery app. Tasks are autodiscovered from each app's ``tasks.py``.

Without ``CELERY_BROKER_URL`` the settings make tasks run eagerly in-process, so the product
works on a laptop with nothing but Python; the periodic schedule lives in
``settings.CELERY_BEAT_SCHEDULE`` and exactly one beat process runs it.

**Queues.** Every task is routed to one of four queues (``TASK_QUEUES``), so that a long task
never waits in front of a short, urgent one: run a worker per queue (``docs/operations.md``):

- ``alerts``: the SLA sweep and the hand-over of its alerts, the outbox's sending, the beat
  heartbeat: seconds matter, each run is short;
- ``rollups``: the quarterly rollups (minutes, gigabytes): never in front of an alert;
- ``exports``: the background jobs people start from a page (exports, imports, a rollup or a
  publication started by hand: ``satisfaction.tasks.job_run``);
- ``celery`` (the default queue): the rest, hourly and daily upkeep (spikes, reminders,
  manufactured-answer scans, purges).

A worker started without ``-Q`` consumes all four (one worker still runs everything). A new
task must be given a queue here: ``tests/satisfaction/test_task_routes.py`` fails otherwise.
In eager mode (no broker) the routes change nothing: every task runs in the caller's process.
"""

import os

from celery import Celery
from kombu import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "satisfaction.settings")

ALERTS, ROLLUPS, EXPORTS, DEFAULT = "alerts", "rollups", "exports", "celery"
QUEUES = (ALERTS, ROLLUPS, EXPORTS, DEFAULT)

#: Each task of the project and its queue (every task is listed: the routes test checks it).
TASK_QUEUES = {
    "complaints.tasks.sla_sweep": ALERTS,
    "complaints.tasks.deliver_sla_alerts": ALERTS,
    "satisfaction.tasks.send_due_deliveries": ALERTS,
    "satisfaction.tasks.beat_heartbeat": ALERTS,
    # The pre-outbox tasks only move a queued message into the outbox.
    "satisfaction.tasks.notification_email": ALERTS,
    "satisfaction.tasks.notification_webhook": ALERTS,
    "scoring.tasks.rollup_quarter_task": ROLLUPS,
    "scoring.tasks.rollup_running_quarter": ROLLUPS,
    "scoring.tasks.rollup_finished_quarter": ROLLUPS,
    "satisfaction.tasks.job_run": EXPORTS,
    "dashboard.tasks.refresh_loyalty_figures": EXPORTS,
    "complaints.tasks.spike_sweep": DEFAULT,
    "mystery_shopper.tasks.send_visit_reminders": DEFAULT,
    "surveys.tasks.scan_open_campaigns": DEFAULT,
    "satisfaction.tasks.purge_sent_deliveries": DEFAULT,
    "satisfaction.tasks.delete_old_job_files": DEFAULT,
    "dashboard.tasks.send_monthly_reports": DEFAULT,
}

app = Celery("satisfaction")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.task_queues = [Queue(name) for name in QUEUES]
app.conf.task_default_queue = DEFAULT
app.conf.task_routes = {name: {"queue": queue} for name, queue in TASK_QUEUES.items()}
if app.conf.task_always_eager and not app.conf.broker_url:
    # Eager tasks still take a producer from the pool; with no broker configured kombu would
    # warn "No hostname was supplied" on every first task. The in-process transport is never
    # sent anything here.
    app.conf.broker_url = "memory://localhost/"
app.autodiscover_tasks()
