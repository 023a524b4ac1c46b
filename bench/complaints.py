"""SLA sweep at scale: 100,000 open complaints across 15,000 stores.

Times one sweep when nothing is due and one when 1,000 complaints have an alert due (each alert
recorded under its unique key and notified in-app to the store's manager).

    createdb -h 127.0.0.1 -U postgres sat_complaints_bench
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/sat_complaints_bench \
        DEBUG=1 .venv/bin/python bench/complaints.py

Target: under 2 s per sweep on PostgreSQL.
"""

from __future__ import annotations

import os
import random
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "satisfaction.settings")

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, reset_queries  # noqa: E402
from django.utils import timezone  # noqa: E402

STORES = 15_000
COMPLAINTS = 100_000
DUE = 1_000


def main() -> None:
    call_command("migrate", verbosity=0)
    from complaints.models import Complaint, SlaAlert
    from complaints.services import sla_alerts_deliver, sla_sweep
    from satisfaction.models import Notification, Region, Role, Store, User

    rng = random.Random(5)
    print(f"database: {connection.vendor}")
    SlaAlert.objects.filter(complaint__store__code__startswith="BN").delete()
    Complaint.objects.filter(store__code__startswith="BN").delete()
    Notification.objects.filter(user__username__startswith="bench-").delete()
    User.objects.filter(username__startswith="bench-").delete()
    Store.objects.filter(code__startswith="BN").delete()
    region, _ = Region.objects.get_or_create(code="BENCH", defaults={"name": "Bench"})
    Store.objects.bulk_create([Store(code=f"BN{i:05d}", name=f"Bench {i}", region=region,
                                     city="上海") for i in range(STORES)], batch_size=5000)
    stores = list(Store.objects.filter(code__startswith="BN").values_list("pk", flat=True))
    managers = User.objects.bulk_create([User(username=f"bench-sm-{i}", role=Role.STORE_MANAGER)
                                         for i in range(DUE)], batch_size=1000)
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

    def timed(label: str) -> None:
        reset_queries()
        start = time.perf_counter()
        result = sla_sweep(now=timezone.now(), deliver=False)
        elapsed = time.perf_counter() - start
        print(f"{label}: sweep {elapsed:.3f} s, scanned {result.scanned}, "
              f"recorded {result.recorded}")
        if result.alert_ids:
            start = time.perf_counter()
            sent = sum(sla_alerts_deliver(alert_ids=result.alert_ids[i:i + 200])
                       for i in range(0, len(result.alert_ids), 200))
            print(f"  delivery of {sent} alerts (in-app rows, in batches of 200 as the "
                  f"worker does): {time.perf_counter() - start:.3f} s")

    timed("sweep, nothing due")
    # 1,000 complaints (one per bench store manager's store) now past 75 % of their time.
    due_ids = list(Complaint.objects.filter(store_id__in=stores[:DUE], ticket_no__startswith="BN")
                   .order_by("store_id", "pk").distinct("store_id").values_list("pk", flat=True)
                   if connection.vendor == "postgresql" else
                   [Complaint.objects.filter(store_id=s).values_list("pk", flat=True)[0]
                    for s in stores[:DUE]])
    received = now - timedelta(hours=19)
    Complaint.objects.filter(pk__in=due_ids).update(
        received_at=received, clock_started_at=received, due_at=received + timedelta(hours=24),
        warn_at=received + timedelta(hours=18), next_alert_at=received + timedelta(hours=18))
    timed(f"sweep, {len(due_ids)} due")
    timed("sweep again, nothing new due")
    sent = Notification.objects.filter(user__username__startswith="bench-sm-").count()
    print(f"notifications to bench store managers: {sent}")


if __name__ == "__main__":
    main()
