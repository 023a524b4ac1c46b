"""Survey results at chain scale: 15,000 stores, 1,000,000 responses with 7 ratings each.

Builds the data in the configured database (``DATABASE_URL``; use a database of its own, e.g.
``DATABASE_URL=postgres://postgres@127.0.0.1:5432/sat_bench_surveys``), then times

  1. the per-store results of the campaign for ALL stores, exactly as the results page and the
     API compute them (``surveys.selectors.campaign_results``: one pivot/aggregate statement,
     one grouped count of invitations, and the pure per-store computation), and
  2. the same aggregation as one raw SQL ``GROUP BY`` (store, indicator): count and mean,

in the same run, and prints both times, the ratio and the insert rate. Each timing is the best
of ``--repeat`` runs after one warm-up. The bench's rows are deleted afterwards unless --keep.

    .venv/bin/python bench/surveys.py [--stores 15000] [--responses 1000000] [--keep] [--reuse]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "satisfaction.settings")
os.environ.setdefault("DEBUG", "1")

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from satisfaction.models import Region, Store  # noqa: E402
from surveys.models import Campaign, Indicator, Response  # noqa: E402
from surveys.selectors import campaign_results  # noqa: E402
from surveys.weights import indicator_weights  # noqa: E402

PREFIX = "BENCHSV"
BASELINE_SQL = """
SELECT r.store_id, a.indicator_id, COUNT(*), AVG(a.rating * 1.0)
FROM surveys_answer a JOIN surveys_response r ON r.id = a.response_id
WHERE r.campaign_id = %s AND r.status IN ('counted', 'cleared')
GROUP BY r.store_id, a.indicator_id
"""


def cleanup() -> None:
    campaigns = Campaign.objects.filter(name__startswith=PREFIX)
    with connection.cursor() as cursor:
        for campaign_id in campaigns.values_list("pk", flat=True):
            cursor.execute("DELETE FROM surveys_answer WHERE response_id IN "
                           "(SELECT id FROM surveys_response WHERE campaign_id = %s)",
                           [campaign_id])
            cursor.execute("DELETE FROM surveys_response WHERE campaign_id = %s", [campaign_id])
    campaigns.delete()
    Store.objects.filter(code__startswith=PREFIX).delete()
    Region.objects.filter(code__startswith=PREFIX).delete()


def _copy(table: str, columns: list[str], rows) -> None:
    """PostgreSQL COPY (fast path) or executemany on other engines."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor, cursor.cursor.copy(
                f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    placeholders = ", ".join(["%s"] * len(columns))
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders})"  # noqa: S608
    batch: list = []
    with connection.cursor() as cursor:
        for row in rows:
            batch.append(row)
            if len(batch) >= 20000:
                cursor.executemany(sql, batch)
                batch = []
        if batch:
            cursor.executemany(sql, batch)


def build(*, stores: int, responses: int, rng: random.Random) -> tuple[Campaign, float, int]:
    today = timezone.localdate()
    regions = Region.objects.bulk_create(
        [Region(code=f"{PREFIX}{n:02d}", name=f"bench {n}") for n in range(30)])
    Store.objects.bulk_create([
        Store(code=f"{PREFIX}{n:05d}", name=f"bench store {n}", region=regions[n % 30],
              city="bench") for n in range(stores)], batch_size=5000)
    store_ids = list(Store.objects.filter(code__startswith=PREFIX).values_list("pk", flat=True))
    campaign = Campaign.objects.create(
        name=f"{PREFIX} campaign", quarter="2000Q1", opens_on=date(2000, 1, 1),
        closes_on=today, scale_max=5, ask_expectation=True, target_per_store=30)
    indicators = list(Indicator.objects.filter(is_active=True).values_list("pk", flat=True))
    now = timezone.now()
    started = time.perf_counter()
    with transaction.atomic():
        _copy("surveys_response",
              ["campaign_id", "store_id", "channel", "submitted_at", "duration_seconds",
               "comment", "language", "device_hash", "status", "flag_reasons"],
              ((campaign.pk, store_ids[i % len(store_ids)], "qr", now, 90, "", "zh-hans", "",
                "counted", "") for i in range(responses)))
        ids = list(Response.objects.filter(campaign=campaign).order_by("pk").values_list(
            "pk", flat=True))
        store_bias = {sid: rng.uniform(-1.0, 0.6) for sid in store_ids}
        rows_per_response = len(indicators)

        def answers():
            choice = rng.random
            for index, response_id in enumerate(ids):
                bias = store_bias[store_ids[index % len(store_ids)]]
                for indicator_id in indicators:
                    rating = min(5, max(1, int(4 + bias + (choice() * 2.6 - 1.3) + 0.5)))
                    expectation = 4 if index % 2 else None
                    yield (response_id, indicator_id, rating, expectation)

        _copy("surveys_answer", ["response_id", "indicator_id", "rating", "expectation"],
              answers())
    elapsed = time.perf_counter() - started
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE surveys_response")
            cursor.execute("ANALYZE surveys_answer")
    return campaign, elapsed, responses * (1 + rows_per_response)


def best_of(repeat: int, func) -> tuple[float, object]:
    func()  # warm-up: the same cache state for both sides
    best, result = float("inf"), None
    for _ in range(repeat):
        started = time.perf_counter()
        result = func()
        best = min(best, time.perf_counter() - started)
    return best, result


def baseline(campaign: Campaign, *, jit: bool = True) -> list:
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql" and not jit:
            cursor.execute("SET LOCAL jit = off")
        cursor.execute(BASELINE_SQL, [campaign.pk])
        return cursor.fetchall()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--stores", type=int, default=15000)
    parser.add_argument("--responses", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="keep the bench rows")
    parser.add_argument("--reuse", action="store_true",
                        help="time the rows a previous --keep run left (no insert)")
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    print(f"database: {connection.vendor} {connection.settings_dict['NAME']}")
    campaign = Campaign.objects.filter(name__startswith=PREFIX).first() if args.reuse else None
    if campaign is None:
        cleanup()
        campaign, insert_seconds, rows = build(stores=args.stores, responses=args.responses,
                                               rng=random.Random(2026))
        print(f"inserted {args.responses:,} responses + {rows - args.responses:,} answers "
              f"({rows:,} rows) in {insert_seconds:.1f} s: {rows / insert_seconds:,.0f} rows/s, "
              f"{args.responses / insert_seconds:,.0f} responses/s")
    weights = indicator_weights(quarter=campaign.quarter).weights
    results_s, results = best_of(args.repeat, lambda: campaign_results(campaign=campaign,
                                                                     weights=weights))
    raw_s, raw = best_of(args.repeat, lambda: baseline(campaign))
    raw_nojit_s = None
    if connection.vendor == "postgresql":
        raw_nojit_s, _ = best_of(args.repeat, lambda: baseline(campaign, jit=False))
    stores = Store.objects.filter(code__startswith=PREFIX).count()
    assert len(results) == stores, (len(results), stores)
    # The two agree: spot-check one store's indicator means.
    sample = next(iter(results.values()))
    raw_means = {row[1]: float(row[3]) for row in raw if row[0] == sample.store_id}
    codes = dict(Indicator.objects.values_list("code", "pk"))
    for item in sample.indicators:
        if item.n:
            assert abs(item.mean_rating - raw_means[codes[item.code]]) < 1e-9
    print(f"results for all {len(results):,} stores (n, means, 0-100 scores, weighted score, "
          f"95% CI, ES/PS gaps, response rate): {results_s:.3f} s")
    print(f"raw SQL GROUP BY (store, indicator) count+mean, {len(raw):,} rows: {raw_s:.3f} s")
    print(f"ratio: {results_s / raw_s:.2f}x (target <= 3x)")
    if raw_nojit_s is not None:
        # The results statements run with JIT off (see surveys.selectors); the same for the
        # baseline, so neither side is flattered.
        print(f"raw SQL GROUP BY with JIT off too: {raw_nojit_s:.3f} s; "
              f"ratio {results_s / raw_nojit_s:.2f}x")
    if not args.keep:
        cleanup()
        print("bench rows deleted")


if __name__ == "__main__":
    main()
