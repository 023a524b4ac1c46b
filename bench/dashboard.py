"""Dashboard benchmark: server time of the store page and of the HQ ranking page.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/sat_bench_dashboard \\
        DEBUG=1 .venv/bin/python bench/dashboard.py [--skip-build] [--requests 50]

Builds the full-size data set of the scoring issue with ``bench/rollup.py``'s builder (15,000
stores, 100,000 employees, 1,000,000 survey responses, 100,000 visits, 100,000 complaints), rolls
up its quarter, adds a published previous quarter (the same stores with shifted values, for the
movers and the trend) and a few improvement actions, VACUUM ANALYZEs the snapshot tables (as
autovacuum would), then times ``--requests`` requests of each page through the Django test
client (after one warm-up request) and prints p50 and p95.
"""

from __future__ import annotations

import argparse
import importlib.util
import random
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("bench_rollup", ROOT / "bench" / "rollup.py")
rollup_bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(rollup_bench)  # sets up Django, like running bench/rollup.py

from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.urls import reverse  # noqa: E402
from django.utils import timezone  # noqa: E402

from satisfaction.errors import ApplicationError  # noqa: E402
from satisfaction.models import Employee, Role, Store, User  # noqa: E402

QUARTER = rollup_bench.QUARTER
log = rollup_bench.log


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, round(share * len(ordered)) - 1))
    return ordered[index]


def prepare() -> None:
    from scoring.models import Rollup, RollupStatus, StoreScore
    from scoring.services import quarter_publish, rollup_quarter

    Rollup.objects.filter(quarter__in=[QUARTER, QUARTER.previous()]).delete()
    started = time.perf_counter()
    rollup_quarter(quarter=QUARTER)
    log(f"rollup of {QUARTER}: {time.perf_counter() - started:.1f}s")
    try:
        quarter_publish(quarter=QUARTER, user=None)
        log(f"{QUARTER} published")
    except ApplicationError as exc:
        log(f"{QUARTER} stays provisional ({exc.code})")
    current = Rollup.objects.exclude(status=RollupStatus.SUPERSEDED).get(quarter=QUARTER,
                                                                          revision__gte=1)
    rng = random.Random(7)
    with transaction.atomic():
        previous = Rollup.objects.create(quarter=QUARTER.previous(), revision=1,
                                         status=RollupStatus.PUBLISHED, scheme=current.scheme,
                                         computed_at=timezone.now(), published_at=timezone.now())
        rows = []
        for score in StoreScore.objects.filter(rollup=current).iterator(chunk_size=5000):
            score.pk = None
            score.rollup = previous
            score.quarter = previous.quarter
            if score.value is not None:
                score.value = max(0.0, min(100.0, score.value + rng.uniform(-8, 8)))
            rows.append(score)
        StoreScore.objects.bulk_create(rows, batch_size=5000)
    log(f"previous quarter {previous.quarter}: {len(rows)} store values")
    if connection.vendor == "postgresql":
        # What autovacuum does after a bulk write; without fresh statistics the planner
        # guesses 2 snapshot rows per revision.
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE scoring_storescore")
            cursor.execute("VACUUM ANALYZE scoring_employeescore")


def users() -> tuple[User, User, Store]:
    from dashboard.models import ImprovementAction
    from satisfaction.services import user_create

    store = Store.objects.filter(employees__isnull=False).order_by("pk").first()
    User.objects.filter(username__in=["bench_hq", "bench_store"]).delete()
    hq = user_create(username="bench_hq", password=None, role=Role.HQ_ADMIN)
    manager = user_create(username="bench_store", password=None, role=Role.STORE_MANAGER,
                          stores=[store])
    owner = Employee.objects.filter(store=store).first()
    ImprovementAction.objects.filter(store=store).delete()
    ImprovementAction.objects.bulk_create([
        ImprovementAction(store=store, quarter=QUARTER, title=f"bench {i}",
                          indicator_code="price", owner=owner,
                          deadline=QUARTER.last_day + timedelta(days=i * 10))
        for i in range(5)])
    return hq, manager, store


def time_page(client: Client, url: str, count: int) -> tuple[list[float], int]:
    response = client.get(url)  # warm-up: connection, templates, region-average cache
    if response.status_code != 200:
        raise SystemExit(f"bench: {url} answered {response.status_code}")
    times = []
    for _ in range(count):
        started = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200
    return times, len(response.content)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--skip-build", action="store_true")
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--stores", type=int, default=15_000)
    parser.add_argument("--employees", type=int, default=100_000)
    parser.add_argument("--responses", type=int, default=1_000_000)
    parser.add_argument("--visits", type=int, default=100_000)
    parser.add_argument("--complaints", type=int, default=100_000)
    args = parser.parse_args()
    log(f"database: {connection.vendor} {connection.settings_dict['NAME']}")
    if not args.skip_build:
        rollup_bench.build_dataset(stores=args.stores, employees=args.employees,
                                   responses=args.responses, visits=args.visits,
                                   complaints=args.complaints)
        prepare()
    hq, manager, store = users()
    pages = [
        ("store page", manager,
         reverse("dashboard:store", args=[store.code]) + f"?quarter={QUARTER}"),
        ("HQ ranking", hq, reverse("dashboard:store_list") + f"?quarter={QUARTER}"),
        ("HQ ranking page 150, lowest first", hq,
         reverse("dashboard:store_list") + f"?quarter={QUARTER}&sort=-value&page=150"),
    ]
    for name, user, url in pages:
        client = Client()
        client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
        times, size = time_page(client, url, args.requests)
        log(f"{name} ({url}, {size} bytes): {len(times)} requests, "
            f"p50 {statistics.median(times):.1f} ms, p95 {percentile(times, 0.95):.1f} ms, "
            f"max {max(times):.1f} ms")


if __name__ == "__main__":
    sys.exit(main())
