"""The monthly report's send at the chain's scale: 15,000 store managers, 30 regional managers
and HQ, 15,000 stores with last quarter's and this quarter's values and ~30,000 complaints in
the month reported on.

    createdb -h 127.0.0.1 -U postgres satx_report_bench
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/satx_report_bench \\
        DEBUG=1 .venv/bin/python bench/monthly_report.py [--stores 15000 --complaints 30000]

Builds the chain with ``bench/rollup.py``'s builders (COPY on PostgreSQL; the domain tables are
emptied first), then times ``dashboard.services.monthly_reports_send`` for last month: the
first run (every recipient: records, in-app rows and outbox rows in bulk) and a second run
(nothing left to send), with the queries and the process's peak RSS. The outbox's e-mails are
the delivery sweep's work and are not sent here.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

import rollup  # noqa: E402  (sets up Django: settings, path)
from django.db import connection, reset_queries, transaction  # noqa: E402
from django.urls import reverse  # noqa: E402
from django.utils import timezone  # noqa: E402

PREFIX = "bench-report-"


def build(stores: int, complaints: int, month) -> None:
    from complaints.models import Complaint
    from dashboard.models import MonthlyReportSent
    from satisfaction.models import Delivery, Notification, Region, Role, Store, User
    from satisfaction.quarters import Quarter
    from scoring.models import Rollup, RollupStatus, Scheme, StoreScore

    rng = rollup.RNG
    rollup.reset_database()
    StoreScore.objects.all().delete()  # not reached by reset_database's cascade
    MonthlyReportSent.objects.all().delete()
    Notification.objects.filter(kind="monthly_report").delete()
    Delivery.objects.filter(kind="monthly_report").delete()
    User.objects.filter(username__startswith=PREFIX).delete()
    with transaction.atomic():
        store_ids, _staff = rollup.build_chain(stores, stores)
        region_of = dict(Store.objects.values_list("pk", "region_id"))
        quarter = Quarter.containing(month.last_day)
        scheme = Scheme.objects.filter(is_current=True).first() or Scheme.objects.create(
            version=1)
        for shown, status in ((quarter.previous(), RollupStatus.PUBLISHED),
                              (quarter, RollupStatus.PROVISIONAL)):
            made = Rollup.objects.create(quarter=shown, status=status, scheme=scheme,
                                         computed_at=timezone.now())
            rollup.copy_rows(StoreScore, ["rollup_id", "quarter", "store_id", "region_id",
                                          "value"],
                             ((made.pk, str(shown), s, region_of[s], rng.uniform(50, 95))
                              for s in store_ids))
        span = (month.end() - month.start()).total_seconds()
        rollup.copy_rows(Complaint, ["ticket_no", "store_id", "channel", "category",
                                     "description", "received_at", "status"],
                         ((f"MR{i:09d}", rng.choice(store_ids), "phone", "price", "bench",
                           month.start() + timedelta(seconds=rng.uniform(0, span)), "new")
                          for i in range(complaints)))
        rollup.copy_rows(User, ["username", "email", "role", "password", "is_active"],
                         ((f"{PREFIX}sm{s}", f"sm{s}@example.com", Role.STORE_MANAGER, "!",
                           True) for s in store_ids))
        managers = dict(User.objects.filter(username__startswith=f"{PREFIX}sm")
                        .values_list("username", "pk"))
        rollup.copy_rows(User.stores.through, ["user_id", "store_id"],
                         ((managers[f"{PREFIX}sm{s}"], s) for s in store_ids))
        User.objects.create(username=f"{PREFIX}hq", role=Role.HQ_ADMIN, email="hq@example.com")
        for region_id in Region.objects.values_list("pk", flat=True):
            manager = User.objects.create(username=f"{PREFIX}rm{region_id}",
                                          role=Role.REGIONAL_MANAGER,
                                          email=f"rm{region_id}@example.com")
            manager.regions.add(region_id)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")


def timed(label: str, month, now: datetime) -> None:
    from dashboard.services import monthly_reports_send
    from satisfaction import notifications

    # The send only writes the outbox; the sweep that e-mails it runs elsewhere (without a
    # broker the commit's kick would send the first 1,000 e-mails in this process).
    notifications._kick_sweep = lambda **_: None  # noqa: SLF001
    reverse("dashboard:monthly_report", args=[str(month)])  # a worker has its URLconf loaded

    reset_queries()
    started = time.perf_counter()
    sent = monthly_reports_send(month=month, now=now)
    elapsed = time.perf_counter() - started
    rollup.log(f"{label}: {sent} sent in {elapsed:.2f} s, {len(connection.queries)} queries, "
               f"peak RSS {rollup.peak_rss_mib():.0f} MiB")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--stores", type=int, default=15_000)
    parser.add_argument("--complaints", type=int, default=30_000)
    args = parser.parse_args()
    from dashboard.reports import Month
    from satisfaction.models import Delivery, Notification

    rollup.log(f"database: {connection.vendor} {connection.settings_dict['NAME']}")
    now = timezone.now()
    month = Month.containing(timezone.localdate(now)).previous()
    started = time.perf_counter()
    build(args.stores, args.complaints, month)
    rollup.log(f"built in {time.perf_counter() - started:.1f} s")
    timed("first run", month, now)
    timed("second run", month, now)
    rollup.log(f"in-app rows {Notification.objects.filter(kind='monthly_report').count()}, "
               f"outbox rows {Delivery.objects.filter(kind='monthly_report').count()}")


if __name__ == "__main__":
    main()
