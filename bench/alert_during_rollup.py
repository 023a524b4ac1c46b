"""An SLA alert while a full rollup runs: separate Celery queues keep the alert on time.

Starts two real Celery workers on a Redis broker (db 5, results in db 6): one consuming the
``alerts`` queue, one the ``rollups`` queue (``satisfaction/celery.py``), as
``docs/operations.md`` says to run them. Then, on the database ``DATABASE_URL`` names:

1. sends the full rollup of the quarter (``scoring.tasks.rollup_quarter_task``) and waits until
   the rollups worker is running it, plus ``--after`` seconds;
2. makes one open complaint's warning due and sends the SLA sweep (what beat does every
   minute) and measures the time until the complaint's in-app notification exists;
3. waits for the rollup and prints both: the alert's delay, the rollup's duration, and whether
   the notification existed while the rollup was still running.

``--shared`` runs the same with ONE worker consuming both queues (concurrency 1): the peer
without separate queues, where the alert waits for the rollup.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/sat_bench \\
        DEBUG=1 .venv/bin/python bench/alert_during_rollup.py [--shared] [--after 2]

It needs a built chain (``bench/rollup.py`` builds one; ``--build`` builds a small one here:
300 stores, 2,000 employees, 20,000 responses, 2,000 visits, 2,000 complaints, replacing the
database's domain rows). The bench's own complaint, user and notifications are deleted at the
end; the rollup leaves the quarter's provisional revision recomputed, as a nightly run would.
In production beat sends the sweep once a minute, so an alert is seen up to a minute plus this
delay after it comes due.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.append(str(ROOT / "bench"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "satisfaction.settings")
os.environ.setdefault("DEBUG", "1")
os.environ["CELERY_BROKER_URL"] = os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/5")
os.environ["CELERY_RESULT_BACKEND"] = os.environ.get("BENCH_RESULT_URL",
                                                     "redis://127.0.0.1:6379/6")

import rollup  # noqa: E402  (sets up Django)
from django.utils import timezone  # noqa: E402

from bench.worker import start_worker, stop_worker  # noqa: E402
from satisfaction.celery import ALERTS, ROLLUPS, app  # noqa: E402

TICKET = "BALERT16001"
USERNAME = "bench-alert-sm"


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def wait_for(predicate, *, timeout: float, every: float = 0.02, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise SystemExit(f"bench: timed out after {timeout:.0f} s waiting for {what}")


def make_complaint():
    """An open complaint of the chain's first store, not yet due, and a store manager to tell."""
    from complaints.models import Complaint
    from satisfaction.models import Role, Store, User

    cleanup()
    store = Store.objects.filter(is_active=True).order_by("pk").first()
    if store is None:
        raise SystemExit("bench: the database has no store; build a chain first (--build)")
    user = User.objects.create(username=USERNAME, role=Role.STORE_MANAGER)
    user.stores.add(store)
    received = timezone.now() - timedelta(hours=1)
    complaint = Complaint.objects.create(
        ticket_no=TICKET, store=store, channel="in_store", category="price",
        description="bench: an alert during a rollup", received_at=received,
        clock_started_at=received, due_at=received + timedelta(hours=24),
        warn_at=received + timedelta(hours=18), next_alert_at=received + timedelta(hours=18))
    return complaint, user


def make_due(complaint) -> None:
    """Its warning (75 % of the time) has just come due."""
    from complaints.models import Complaint

    now = timezone.now()
    received = now - timedelta(hours=18, seconds=1)
    Complaint.objects.filter(pk=complaint.pk).update(
        received_at=received, clock_started_at=received, due_at=received + timedelta(hours=24),
        warn_at=received + timedelta(hours=18), next_alert_at=received + timedelta(hours=18))


def cleanup() -> None:
    from complaints.models import Complaint, SlaAlert
    from satisfaction.models import Delivery, Notification, User

    SlaAlert.objects.filter(complaint__ticket_no=TICKET).delete()
    Complaint.objects.filter(ticket_no=TICKET).delete()
    Notification.objects.filter(user__username=USERNAME).delete()
    Delivery.objects.filter(user__username=USERNAME).delete()
    User.objects.filter(username=USERNAME).delete()


def running_on(worker: str, task_id: str) -> bool:
    active = app.control.inspect(destination=[worker], timeout=0.5).active() or {}
    return any(task["id"] == task_id for tasks in active.values() for task in tasks)


def main() -> None:  # noqa: PLR0915 - one measured sequence, read top to bottom
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quarter", default=str(rollup.QUARTER))
    parser.add_argument("--after", type=float, default=1.0,
                        help="seconds into the rollup when the alert comes due")
    parser.add_argument("--shared", action="store_true",
                        help="one worker for both queues (the peer without separate queues)")
    parser.add_argument("--build", action="store_true", help="build a small chain first")
    args = parser.parse_args()
    from django.db import connection

    from complaints.tasks import sla_sweep
    from satisfaction.models import Notification
    from scoring.models import Rollup
    from scoring.tasks import rollup_quarter_task

    log(f"database: {connection.vendor} {connection.settings_dict['NAME']}; broker "
        f"{os.environ['CELERY_BROKER_URL']}, results {os.environ['CELERY_RESULT_BACKEND']}")
    if args.build:
        rollup.build_dataset(stores=300, employees=2000, responses=20_000, visits=2000,
                             complaints=2000)
    complaint, user = make_complaint()
    app.control.purge()  # nothing left in the queues by an earlier run
    tag = f"{os.getpid()}"
    logs = Path(tempfile.mkdtemp(prefix="alert_during_rollup-"))
    if args.shared:
        names = {ALERTS: f"shared-{tag}", ROLLUPS: f"shared-{tag}"}
        workers = [start_worker(names[ALERTS], [ALERTS, ROLLUPS], logs / "shared.log")]
    else:
        names = {ALERTS: f"alerts-{tag}", ROLLUPS: f"rollups-{tag}"}
        workers = [start_worker(names[queue], [queue], logs / f"{queue}.log")
                   for queue in (ALERTS, ROLLUPS)]
    hosts = {f"{name}@{os.uname().nodename}" for name in names.values()}
    try:
        wait_for(lambda: hosts <= {host for reply in app.control.ping(
            destination=list(hosts), timeout=1) for host in reply}, timeout=90, every=0.5,
            what=f"the workers {sorted(hosts)} (logs in {logs})")
        # Warm the alerts worker as a running one is (imports, URLconf): one sweep first.
        sla_sweep.apply_async().get(timeout=120)
        mode = "one worker, both queues" if args.shared else "one worker per queue"
        log(f"workers up: {sorted(hosts)} ({mode})")

        sent = time.perf_counter()
        result = rollup_quarter_task.apply_async(args=[args.quarter])
        rollup_worker = f"{names[ROLLUPS]}@{os.uname().nodename}"
        wait_for(lambda: running_on(rollup_worker, result.id) or result.ready(), timeout=300,
                 every=0.1, what="the rollup to start")
        started = time.perf_counter()
        log(f"rollup of {args.quarter} running (started {started - sent:.2f} s after sending)")
        time.sleep(args.after)
        if result.ready():
            raise SystemExit("bench: the rollup ended before the alert came due; use a larger "
                             "data set or a smaller --after")

        make_due(complaint)
        due = time.perf_counter()
        sla_sweep.apply_async()  # beat's tick
        wait_for(lambda: Notification.objects.filter(user=user, kind="complaint_warn").exists(),
                 timeout=1800, what="the alert's notification")
        notified = time.perf_counter()
        during = not result.ready()
        log(f"alert notified {notified - due:.3f} s after it came due; the rollup was "
            f"{'still running' if during else 'already finished'}")

        outcome = result.get(timeout=7200)
        ended = time.perf_counter()
        latest = Rollup.objects.filter(quarter=args.quarter).order_by("-computed_at").first()
        log(f"rollup: {outcome}; {ended - started:.2f} s from start to result "
            f"(the service's own figure {latest.seconds if latest else float('nan'):.2f} s)")
        print(f"alert delay while a full rollup runs: {notified - due:.3f} s "
              f"({mode}); "
              f"rollup duration {ended - started:.2f} s; notification before the rollup "
              f"ended: {'yes' if during else 'no'}")
    finally:
        for worker in workers:
            stop_worker(worker)
        cleanup()


if __name__ == "__main__":
    main()
