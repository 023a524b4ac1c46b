"""Early-warning spike sweep at the chain's scale: 100,000 complaints over the last 9 weeks
across 15,000 stores in 30 regions, with a few planted waves.

    createdb -h 127.0.0.1 -U postgres satx_spike_bench
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/satx_spike_bench \\
        DEBUG=1 .venv/bin/python bench/spike_sweep.py [--stores 15000 --complaints 100000]

Builds the chain with ``bench/rollup.py``'s builders (COPY on PostgreSQL; the domain tables are
emptied first), one regional manager per region and an HQ user (with e-mail addresses, so
alerts write outbox rows), and complaints received uniformly over the 63 days before today
(chain time; categories weighted as in a pharmacy), plus planted waves in the last 7 days:

- store waves: 8 complaints in one category at one store;
- region waves: 2 complaints in one category at each of 20 or 40 stores of one region (no
  store reaches its own threshold; the region does).

Then times ``complaint_spike_sweep`` (the first run records and alerts; a second run the same
day; a run the next day) and prints the spikes found (planted ones found, others by chance),
the queries and the process's peak RSS.

Target: under 2 s per sweep on PostgreSQL.
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

from satisfaction import notifications  # noqa: E402
from satisfaction.quarters import chain_zone  # noqa: E402

TARGET_SECONDS = 2.0
DAYS = 63  # the 7-day window and the 8-week baseline
CATEGORY_WEIGHTS = {"service_attitude": 30, "product_quality": 20, "professional_advice": 15,
                    "price": 15, "assortment": 10, "environment": 6, "other": 4}
STORE_WAVES = [(100, "product_quality"), (7_777, "price"), (12_345, "environment")]
# (region index, category, stores with 2 extra complaints each): the commonest category needs
# a wider wave to stand out of its region's larger baseline.
REGION_WAVES = [(3, "professional_advice", 20), (17, "service_attitude", 40)]


def build(stores: int, complaints: int) -> dict:
    from complaints.models import Complaint
    from satisfaction.models import Region, Role, Store, User

    rng = rollup.RNG
    zone = chain_zone()
    now = timezone.now()
    today = timezone.localtime(now, zone).date()
    start = datetime.combine(today - timedelta(days=DAYS), datetime.min.time(), tzinfo=zone)
    span = (now - start).total_seconds()
    window_start = datetime.combine(today - timedelta(days=7), datetime.min.time(), tzinfo=zone)
    categories = list(CATEGORY_WEIGHTS)
    weights = list(CATEGORY_WEIGHTS.values())

    rollup.reset_database()
    User.objects.filter(username__startswith="bench-spike-").delete()
    with transaction.atomic():
        store_ids, _staff = rollup.build_chain(stores, stores)
        region_ids = list(Region.objects.order_by("pk").values_list("pk", flat=True))
        region_of = dict(Store.objects.values_list("pk", "region_id"))
        stores_in: dict[int, list[int]] = {}
        for store_id in store_ids:
            stores_in.setdefault(region_of[store_id], []).append(store_id)

        def in_window() -> datetime:
            return window_start + timedelta(seconds=rng.uniform(0, 6.9 * 86400))

        def rows():
            for i in range(complaints):
                received = start + timedelta(seconds=rng.uniform(0, span))
                yield (f"SP{i:09d}", rng.choice(store_ids), "phone",
                       rng.choices(categories, weights)[0], "bench", received, "new")
            number = complaints
            for index, category in STORE_WAVES:
                for _ in range(8):
                    number += 1
                    yield (f"SP{number:09d}", store_ids[index % len(store_ids)], "phone",
                           category, "wave", in_window(), "new")
            for index, category, wide in REGION_WAVES:
                for store_id in stores_in[region_ids[index % len(region_ids)]][:wide]:
                    for _ in range(2):
                        number += 1
                        yield (f"SP{number:09d}", store_id, "phone", category, "wave",
                               in_window(), "new")

        made = rollup.copy_rows(Complaint, ["ticket_no", "store_id", "channel", "category",
                                            "description", "received_at", "status"], rows())
        User.objects.create(username="bench-spike-hq", role=Role.HQ_ADMIN,
                            email="hq@example.com")
        for region_id in region_ids:
            manager = User.objects.create(username=f"bench-spike-rm-{region_id}",
                                          role=Role.REGIONAL_MANAGER,
                                          email=f"rm{region_id}@example.com")
            manager.regions.add(region_id)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    planted = ({("store", store_ids[i % len(store_ids)], c) for i, c in STORE_WAVES}
               | {("region", region_ids[i % len(region_ids)], c) for i, c, _n in REGION_WAVES})
    return {"complaints": made, "planted": planted}


def timed_sweep(label: str, **kwargs) -> None:
    from complaints.services import complaint_spike_sweep

    reset_queries()
    started = time.perf_counter()
    result = complaint_spike_sweep(**kwargs)
    elapsed = time.perf_counter() - started
    verdict = "OK" if elapsed < TARGET_SECONDS else f"OVER {TARGET_SECONDS:g} s"
    rollup.log(f"{label}: {elapsed:.3f} s ({verdict}), {len(connection.queries)} queries; "
               f"window {result.window_complaints}, baseline {result.baseline_complaints}; "
               f"spikes: {result.store_spikes} store, {result.region_spikes} region; "
               f"new {result.started}, continuing {result.continuing}, ended {result.ended}, "
               f"alerted {result.alerted}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--stores", type=int, default=15_000)
    parser.add_argument("--complaints", type=int, default=100_000)
    args = parser.parse_args()
    from complaints.models import ComplaintSpike
    from satisfaction.models import Delivery, Notification

    rollup.log(f"database: {connection.vendor} {connection.settings_dict['NAME']}")
    started = time.perf_counter()
    data = build(args.stores, args.complaints)
    rollup.log(f"built {data['complaints']} complaints in {args.stores} stores "
               f"in {time.perf_counter() - started:.1f} s")
    Notification.objects.filter(kind="complaint_spike").delete()
    Delivery.objects.filter(kind="complaint_spike").delete()
    # Timed: the sweep itself. Not timed: the worker's one-time loading of the URLconf (the
    # alerts' links) and sending the outbox, which the commit only kicks (a broker message in
    # production; without a broker it would send the e-mails here, eagerly).
    reverse("complaints:figures")
    notifications._kick_sweep = lambda **_: None  # noqa: SLF001

    timed_sweep("sweep (records and alerts)")
    found = {(s.scope, s.store_id or s.region_id, s.category)
             for s in ComplaintSpike.objects.all()}
    rollup.log(f"planted waves found: {len(data['planted'] & found)} of {len(data['planted'])}; "
               f"other spikes (chance at α = 0.001, at least 3): {len(found - data['planted'])}")
    rollup.log(f"alerts: {Notification.objects.filter(kind='complaint_spike').count()} in-app, "
               f"{Delivery.objects.filter(kind='complaint_spike').count()} outbox rows")
    timed_sweep("sweep again the same day (nothing new)")
    tomorrow = timezone.localtime(timezone.now(), chain_zone()).date() + timedelta(days=1)
    timed_sweep("sweep the next day", today=tomorrow)
    rollup.log(f"peak RSS {rollup.peak_rss_mib():.0f} MiB")


if __name__ == "__main__":
    main()
