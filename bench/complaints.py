"""SLA sweep at scale: 100,000 open complaints across 15,000 stores.

Times one sweep when nothing is due and one when 1,000 complaints have an alert due, as the
user sees it: each alert recorded under its unique key, the in-app notification to the store's
manager present, and the manager's e-mail sent by the outbox (``deliveries_send_due``, kicked at
the hand-over's commit as in production; the e-mail backend is Django's in-memory one, so the
figure is the product's own cost, not an SMTP server's). Then a sweep with nothing new due.

    createdb -h 127.0.0.1 -U postgres sat_complaints_bench
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/sat_complaints_bench \
        DEBUG=1 .venv/bin/python bench/complaints.py [--reuse] [--worker]

By default the outbox sweep runs in this process (eager tasks, no broker): one sender. With
``--worker`` it runs as in production: the hand-over's commit asks a real alerts worker
(``celery -A satisfaction worker -Q alerts --concurrency 2``, as ``docs/operations.md`` runs it,
on Redis db 12 or ``BENCH_BROKER_URL``) for its senders (``DELIVERY_SENDERS``), and the bench
watches the outbox rows until every one is sent. The worker is warmed first (a small burst
through both of its processes). Its peer, one sender as before the senders were split:
``DELIVERY_SENDERS=1 … bench/complaints.py --reuse --worker``.

Targets: a sweep with nothing due well under 1 s; 1,000 alerts delivered (recorded, in-app
rows, e-mails sent) in <= 0.5 s on PostgreSQL (issue 16).

The worker process is warm (URLconf, translations loaded) when a sweep finds alerts due; the
bench warms the same things before timing.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "satisfaction.settings")
# Without --worker, eager tasks (no broker): the outbox sweep kicked at the hand-over's commit
# runs in process. With it, the alerts worker's processes send (they share this environment).
WORKER = "--worker" in sys.argv[1:]
os.environ["CELERY_BROKER_URL"] = (
    os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/12") if WORKER else "")
os.environ["EMAIL_BACKEND"] = "django.core.mail.backends.locmem.EmailBackend"

import django  # noqa: E402

django.setup()

from bench.machine import describe  # noqa: E402
from bench.worker import start_worker, stop_worker  # noqa: E402

from django.core import mail  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, reset_queries  # noqa: E402
from django.urls import reverse  # noqa: E402
from django.utils import timezone  # noqa: E402
from django.utils.translation import gettext  # noqa: E402

STORES = 15_000
COMPLAINTS = 100_000
DUE = 1_000


def build() -> list[int]:
    """The bench's stores, one store manager (with an e-mail address) for each of the first
    ``DUE`` stores, and ``COMPLAINTS`` open complaints none of which is due yet."""
    from complaints.models import Complaint, SlaAlert
    from satisfaction.models import Delivery, Notification, Region, Role, Store, User

    rng = random.Random(5)
    SlaAlert.objects.filter(complaint__store__code__startswith="BN").delete()
    Complaint.objects.filter(store__code__startswith="BN").delete()
    Notification.objects.filter(user__username__startswith="bench-").delete()
    Delivery.objects.filter(user__username__startswith="bench-").delete()
    User.objects.filter(username__startswith="bench-").delete()
    Store.objects.filter(code__startswith="BN").delete()
    region, _ = Region.objects.get_or_create(code="BENCH", defaults={"name": "Bench"})
    Store.objects.bulk_create([Store(code=f"BN{i:05d}", name=f"Bench {i}", region=region,
                                     city="上海") for i in range(STORES)], batch_size=5000)
    stores = list(Store.objects.filter(code__startswith="BN").order_by("pk")
                  .values_list("pk", flat=True))
    User.objects.bulk_create([User(username=f"bench-sm-{i}", role=Role.STORE_MANAGER,
                                   email=f"bench-sm-{i}@example.com") for i in range(DUE)],
                             batch_size=1000)
    managers = list(User.objects.filter(username__startswith="bench-sm-").order_by("pk"))
    User.stores.through.objects.bulk_create(
        [User.stores.through(user_id=m.pk, store_id=stores[i]) for i, m in enumerate(managers)],
        batch_size=5000)
    now = timezone.now()
    rows = []
    for i in range(COMPLAINTS):
        received = now - timedelta(hours=rng.uniform(0, 17))  # warn comes at 18 h
        rows.append(Complaint(
            ticket_no=f"BN{i:08d}", store_id=stores[i % STORES], channel="in_store",
            category="price", description="bench", received_at=received,
            clock_started_at=received, due_at=received + timedelta(hours=24),
            warn_at=received + timedelta(hours=18),
            next_alert_at=received + timedelta(hours=18)))
    t0 = time.perf_counter()
    Complaint.objects.bulk_create(rows, batch_size=5000)
    print(f"created {COMPLAINTS} open complaints in {STORES} stores "
          f"in {time.perf_counter() - t0:.1f} s")
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ANALYZE complaints_complaint")
    return stores


def reuse() -> list[int]:
    """The rows a previous run left, put back as ``build`` made them (nothing due, nothing
    alerted or notified)."""
    from complaints.models import Complaint, SlaAlert
    from satisfaction.models import Delivery, Notification, Store

    SlaAlert.objects.filter(complaint__store__code__startswith="BN").delete()
    Notification.objects.filter(user__username__startswith="bench-").delete()
    Delivery.objects.filter(user__username__startswith="bench-").delete()
    now = timezone.now()
    Complaint.objects.filter(store__code__startswith="BN", warn_at__lt=now).update(
        received_at=now - timedelta(hours=1), clock_started_at=now - timedelta(hours=1),
        due_at=now + timedelta(hours=23), warn_at=now + timedelta(hours=17),
        next_alert_at=now + timedelta(hours=17), escalation_level=0)
    vacuum()
    return list(Store.objects.filter(code__startswith="BN").order_by("pk")
                .values_list("pk", flat=True))


def vacuum() -> None:
    """What autovacuum does in production between two bursts: the rows the last run deleted
    and rewrote are cleared away (on a machine that runs without it, each reuse would
    otherwise time the sweep over more dead rows than the last)."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for table in ("complaints_complaint", "complaints_slaalert", "satisfaction_notification",
                      "satisfaction_delivery"):
            cursor.execute(f"VACUUM ANALYZE {table}")


def server_cpu_seconds() -> float | None:
    """CPU time of this connection's PostgreSQL backend so far (same host only): with the
    client's own CPU time, a figure the machine's other load does not inflate."""
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def start_alerts_worker(logfile: Path):
    """The alerts worker as ``docs/operations.md`` runs it (two processes), on the bench's
    broker, its queue emptied first; returns once it answers a ping."""
    from satisfaction.celery import ALERTS, app

    app.control.purge()
    worker = start_worker("bench-alerts", [ALERTS], logfile, concurrency=2)
    deadline = time.monotonic() + 60
    while not app.control.ping(destination=[f"bench-alerts@{os.uname().nodename}"],
                               timeout=0.5):
        if worker.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"bench: the alerts worker did not start (log: {logfile})")
    return worker


def wait_until_sent(after: int, *, timeout: float = 60.0) -> None:
    """Until every outbox row after id ``after`` is sent (the worker's processes send them):
    a cheap read of the rows' states every 5 ms (more often would take the CPU the worker's
    processes and the database are sending with)."""
    from satisfaction.models import Delivery, DeliveryState

    rows = Delivery.objects.filter(pk__gt=after)
    deadline = time.monotonic() + timeout
    while rows.exclude(state=DeliveryState.SENT).exists() or not rows.exists():
        if time.monotonic() > deadline:
            raise SystemExit("bench: the worker did not send the outbox rows in time")
        time.sleep(0.005)


def warm_worker() -> None:
    """Both of the worker's processes send a burst first (imports, connections, URLconf),
    as a worker that has been running is warm; the warm-up's rows are deleted after. Each
    burst asks for its senders once, as a hand-over's commit does, and the bench then waits
    for the worker to be idle again."""
    from django.db import transaction

    from satisfaction import notifications
    from satisfaction.models import Delivery
    from satisfaction.notifications import outbox_email_send

    before = last_delivery_id()
    kick = notifications._kick_sweep  # noqa: SLF001
    for round_ in range(3):
        notifications._kick_sweep = lambda **_: None  # noqa: SLF001 - one kick per burst
        try:
            with transaction.atomic():
                for i in range(3 * 20):
                    outbox_email_send(address=f"bench-warm-{i}@example.com",
                                      title=f"预热 {round_} {i}", body="bench")
        finally:
            notifications._kick_sweep = kick  # noqa: SLF001
        kick(rows=3 * 20)
        wait_until_sent(before)
        time.sleep(0.5)  # the other sender's last (empty) round
    Delivery.objects.filter(pk__gt=before, user__isnull=True).delete()


def last_delivery_id() -> int:
    from satisfaction.models import Delivery

    return Delivery.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def timed(label: str) -> tuple[float, float | None]:
    """One beat run of the sweep: it records the due alerts, hands them over (in-app rows and
    outbox rows, committed) and, at that commit, the kicked outbox sweep sends the e-mails.
    Returns the time until every e-mail it owed is sent, and until the hand-over committed."""
    from complaints.services import sla_sweep
    from satisfaction import notifications
    from satisfaction.models import Delivery, DeliveryState

    kick, handed_over = notifications._kick_sweep, []  # noqa: SLF001 - timing the commit

    def timed_kick(**kwargs) -> None:
        handed_over.append(time.perf_counter())
        kick(**kwargs)

    notifications._kick_sweep = timed_kick  # noqa: SLF001
    mail.outbox = []
    before = last_delivery_id()
    reset_queries()
    server = server_cpu_seconds()
    try:
        cpu, start = time.process_time(), time.perf_counter()
        result = sla_sweep(now=timezone.now())
        swept, cpu = time.perf_counter(), time.process_time() - cpu
        # The sweep's own figures, before the bench's reads while it waits for the worker.
        queries, server_after = len(connection.queries), None
        if WORKER and result.delivered:
            server_after = server_cpu_seconds()
            wait_until_sent(before)
        elapsed = time.perf_counter() - start
    finally:
        notifications._kick_sweep = kick  # noqa: SLF001
    if server_after is None:
        server_after = server_cpu_seconds()
    pending = Delivery.objects.filter(user__username__startswith="bench-",
                                      state=DeliveryState.PENDING).count()
    emails = (Delivery.objects.filter(pk__gt=before, state=DeliveryState.SENT).count()
              if WORKER else len(mail.outbox))
    print(f"{label}: {elapsed:.3f} s, scanned {result.scanned}, recorded "
          f"{result.recorded}, handed over {result.delivered}, e-mails sent "
          f"{emails}, still pending {pending}, {queries} queries")
    if server is not None and result.scanned:
        where = ("the sweep, without the worker's sending (its processes and their backends)"
                 if WORKER else "the sweep and the outbox")
        print(f"  CPU of {where}: this process {cpu:.3f} s, its PostgreSQL backend "
              f"{server_after - server:.3f} s; the sweep's own part "
              f"{swept - start:.3f} s wall")
    return elapsed, (handed_over[-1] - start if handed_over else None)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reuse", action="store_true",
                        help="reuse the stores and complaints a previous run left")
    parser.add_argument("--worker", action="store_true",
                        help="send through a real alerts worker (two processes), as production")
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    from complaints.models import Complaint

    print(f"database: {connection.vendor}" + (", sending through the alerts worker" if WORKER
                                               else ", sending in this process"))
    stores = reuse() if args.reuse and Complaint.objects.filter(
        ticket_no__startswith="BN").exists() else build()
    # Warm as a running worker is: the URLconf (an alert's link) and the translations.
    reverse("complaints:detail", args=[1])
    gettext("Complaint %(ticket)s is due at %(due)s")
    worker = None
    if WORKER:
        worker = start_alerts_worker(Path(tempfile.gettempdir()) / "bench-alerts-worker.log")
        warm_worker()
        print("the alerts worker is up and warm (two processes)")
    try:
        measure(stores)
    finally:
        if worker is not None:
            stop_worker(worker)


def measure(stores: list[int]) -> None:
    """The three sweeps, and the figures (``main``'s data set; the worker up if asked)."""
    from complaints.models import Complaint
    from satisfaction.models import Delivery, DeliveryState, Notification

    connection.force_debug_cursor = True  # count the queries
    print(describe("before"))
    timed("sweep, nothing due")
    # 1,000 complaints (one per bench store manager's store) now past 75 % of their time.
    due_ids = list(Complaint.objects.filter(store_id__in=stores[:DUE], ticket_no__startswith="BN")
                   .order_by("store_id", "pk").distinct("store_id").values_list("pk", flat=True)
                   if connection.vendor == "postgresql" else
                   [Complaint.objects.filter(store_id=s).values_list("pk", flat=True)[0]
                    for s in stores[:DUE]])
    received = timezone.now() - timedelta(hours=19)
    Complaint.objects.filter(pk__in=due_ids).update(
        received_at=received, clock_started_at=received, due_at=received + timedelta(hours=24),
        warn_at=received + timedelta(hours=18), next_alert_at=received + timedelta(hours=18))
    delivered, handed_over = timed(f"sweep, {len(due_ids)} due")
    timed("sweep again, nothing new due")
    print(describe("after"))
    notes = Notification.objects.filter(user__username__startswith="bench-sm-").count()
    sent = Delivery.objects.filter(user__username__startswith="bench-sm-",
                                   state=DeliveryState.SENT).count()
    print(f"notifications to bench store managers: {notes}; their e-mails sent: {sent}")
    # With --reuse, a complaint of the kept data set may have come due since the last run.
    assert notes == sent >= len(due_ids), (notes, sent, len(due_ids))
    print(f"{len(due_ids):,} alerts recorded and handed over (in-app rows present, outbox rows "
          f"committed): {handed_over:.3f} s")
    how = ("by the alerts worker's senders" if WORKER
           else "by the outbox sweep in this process")
    print(f"{len(due_ids):,} alerts delivered (recorded, in-app, e-mails sent {how}): "
          f"{delivered:.3f} s (target <= 0.5 s)")


if __name__ == "__main__":
    main()
