"""Survey results at chain scale: 15,000 stores, 1,000,000 responses with 7 ratings each.

Builds the data in the configured database (``DATABASE_URL``; use a database of its own, e.g.
``DATABASE_URL=postgres://postgres@127.0.0.1:5432/sat_bench_surveys``), then times

  1. the per-store results of the campaign for ALL stores, exactly as the results page and the
     API compute them (``surveys.selectors.campaign_results``: one pivot/aggregate statement,
     one grouped count of invitations, and the pure per-store computation), and
  2. the same aggregation as one raw SQL ``GROUP BY`` (store, indicator): count and mean,

in the same run, and prints both times, the ratio and the insert rate. Each timing is the best
of ``--repeat`` runs after one warm-up. The bench's rows are deleted afterwards unless --keep.

The insert (1,000,000 responses + 7,000,000 answers) is COPY from Python rows through
``bench/rollup.copy_rows`` (the shared bench writer), in one transaction, timed through its
commit (the deferred foreign-key checks included). Its peer, in the same run, is the server
inserting the same rows itself: ``INSERT … SELECT`` from ``generate_series`` into the same
tables, with the same indexes and constraints, in one transaction timed through its deferred
checks and then rolled back (it runs last, so its dead rows cannot slow the timings above).
Both write into the live tables with every secondary index in place: the product's own imports
do not drop indexes, so neither does the bench. The two rates and their ratio are printed.

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
sys.path.append(str(Path(__file__).resolve().parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "satisfaction.settings")
os.environ.setdefault("DEBUG", "1")

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402
from rollup import copy_rows  # noqa: E402  (bench/rollup.py: the shared COPY writer)

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


def _reserve_ids(model, count: int) -> int:
    """Take ``count`` ids of the model's identity sequence at once (the bench owns the database
    while it runs) and return the first: the answers can name their responses without reading
    1,000,000 ids back."""
    table = model._meta.db_table  # noqa: SLF001 - the model's documented metadata
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id'))", [table])
        first = cursor.fetchone()[0]
        cursor.execute("SELECT setval(pg_get_serial_sequence(%s, 'id'), %s)",
                       [table, first + count - 1])
    return first


RESPONSE_COLUMNS = ["campaign_id", "store_id", "channel", "submitted_at", "duration_seconds",
                    "comment", "language", "device_hash", "status", "flag_reasons"]
ANSWER_COLUMNS = ["response_id", "indicator_id", "rating", "expectation"]
CHUNK = 50_000


def _ratings(count: int, biases, indicators: int, gen):
    """``count`` × ``indicators`` ratings 1..5: the store's tendency plus noise (numpy)."""
    import numpy as np

    noise = gen.random((count, indicators)) * 2.6 - 1.3
    return np.clip((4 + biases[:, None] + noise + 0.5).astype(np.int64), 1, 5).tolist()


def build(*, stores: int, responses: int, rng: random.Random) -> tuple[Campaign, float, int]:
    import numpy as np

    from surveys.models import Answer

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
    gen = np.random.default_rng(rng.randrange(2**32))
    store_bias = gen.uniform(-1.0, 0.6, len(store_ids))
    n_stores = len(store_ids)
    now = timezone.now()

    def answers(first: int):
        for start in range(0, responses, CHUNK):
            count = min(CHUNK, responses - start)
            biases = store_bias[np.arange(start, start + count) % n_stores]
            for index, ratings in enumerate(_ratings(count, biases, len(indicators), gen),
                                            start):
                response_id, expectation = first + index, (4 if index % 2 else None)
                for indicator_id, rating in zip(indicators, ratings, strict=True):
                    yield (response_id, indicator_id, rating, expectation)

    started, cpu = time.perf_counter(), time.process_time()
    with transaction.atomic():
        first = _reserve_ids(Response, responses) if connection.vendor == "postgresql" \
            else None
        response_rows = ((campaign.pk, store_ids[i % n_stores], "qr", now, 90, "", "zh-hans", "",
                          "counted", "") for i in range(responses))
        if first is None:
            copy_rows(Response, RESPONSE_COLUMNS, response_rows)
            first = Response.objects.filter(campaign=campaign).order_by("pk").values_list(
                "pk", flat=True)[0]  # bulk_create on SQLite: consecutive ids
        else:
            copy_rows(Response, ["id", *RESPONSE_COLUMNS],
                      ((first + i, *row) for i, row in enumerate(response_rows)))
        copy_rows(Answer, ANSWER_COLUMNS, answers(first))
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    print(f"COPY: {elapsed:.1f} s wall, of which this process's CPU (making and writing the "
          f"rows) {cpu:.1f} s")
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE surveys_response")
            cursor.execute("ANALYZE surveys_answer")
    _rebuild_tallies(campaign)
    return campaign, elapsed, responses * (1 + len(indicators))


def _rebuild_tallies(campaign: Campaign) -> None:
    """The rows were written around the services: tally and score them as the services would
    have (when the tallies exist), outside the timed insert."""
    try:
        from surveys.services import survey_tallies_rebuild
    except ImportError:
        return
    started = time.perf_counter()
    survey_tallies_rebuild(campaigns=[campaign])
    print(f"survey tallies and response scores rebuilt in {time.perf_counter() - started:.1f} s"
          " (not part of the insert rate)")


def server_side_insert(*, responses: int) -> tuple[float, int]:
    """The peer: the same rows made by the server itself. ``responses`` responses of a second
    bench campaign (the same constant columns and the model's defaults for the others, stores
    in turn) and one rating per active indicator each (store tendency + noise, every other
    response with an expectation), by ``INSERT … SELECT`` from ``generate_series``, in one
    transaction timed through its deferred foreign-key checks, then rolled back."""
    from rollup import _defaults

    store_ids = list(Store.objects.filter(code__startswith=PREFIX).order_by("pk")
                     .values_list("pk", flat=True))
    indicators = list(Indicator.objects.filter(is_active=True).values_list("pk", flat=True))
    extra = _defaults(Response, RESPONSE_COLUMNS)
    if any(callable(value) for _, value in extra):
        raise SystemExit("bench: the peer needs constant defaults; extend server_side_insert")
    columns = ["id", *RESPONSE_COLUMNS, *(name for name, _ in extra)]
    biases = [random.Random(n).uniform(-1.0, 0.6) for n in range(len(store_ids))]
    now = timezone.now()
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        peer = Campaign.objects.create(
            name=f"{PREFIX} peer", quarter="2000Q2", opens_on=date(2000, 4, 1),
            closes_on=timezone.localdate(), scale_max=5, ask_expectation=True)
        first = _reserve_ids(Response, responses)
        values = ", ".join(["%s"] * (len(RESPONSE_COLUMNS) - 2 + len(extra)))
        cursor.execute(
            f"INSERT INTO surveys_response ({', '.join(columns)}) "  # noqa: S608
            f"SELECT %s + g, %s, (%s::bigint[])[1 + g %% %s], {values} "
            "FROM generate_series(0, %s - 1) AS g",
            [first, peer.pk, store_ids, len(store_ids), "qr", now, 90, "", "zh-hans", "",
             "counted", "", *(value for _, value in extra), responses])
        cursor.execute(
            "INSERT INTO surveys_answer (response_id, indicator_id, rating, expectation) "
            "SELECT %s + g, i, LEAST(5, GREATEST(1, floor(4 + (%s::float8[])[1 + g %% %s] "
            "+ random() * 2.6 - 1.3 + 0.5)))::smallint, CASE WHEN g %% 2 = 1 THEN 4 END "
            "FROM generate_series(0, %s - 1) AS g CROSS JOIN unnest(%s::bigint[]) AS i",
            [first, biases, len(store_ids), responses, indicators])
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # what the commit would check
        elapsed = time.perf_counter() - started
        transaction.set_rollback(True)  # leave nothing behind
    return elapsed, responses * (1 + len(indicators))


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
    parser.add_argument("--insert-only", action="store_true",
                        help="time the insert and its server-side peer only, not the results")
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    print(f"database: {connection.vendor} {connection.settings_dict['NAME']}")
    campaign = Campaign.objects.filter(name__startswith=PREFIX).first() if args.reuse else None
    copy_rate = None
    if campaign is None:
        cleanup()
        campaign, insert_seconds, rows = build(stores=args.stores, responses=args.responses,
                                               rng=random.Random(2026))
        print(f"inserted {args.responses:,} responses + {rows - args.responses:,} answers "
              f"({rows:,} rows) in {insert_seconds:.1f} s: {rows / insert_seconds:,.0f} rows/s, "
              f"{args.responses / insert_seconds:,.0f} responses/s")
        copy_rate = rows / insert_seconds
    if not args.insert_only:
        time_results(campaign, repeat=args.repeat)
    if copy_rate is not None and connection.vendor == "postgresql":
        peer_seconds, peer_rows = server_side_insert(responses=args.responses)
        peer_rate = peer_rows / peer_seconds
        print(f"server-side INSERT … SELECT (generate_series) of the same {peer_rows:,} rows: "
              f"{peer_seconds:.1f} s: {peer_rate:,.0f} rows/s")
        print(f"COPY insert rate / server-side insert rate: {copy_rate:,.0f} / "
              f"{peer_rate:,.0f} = {copy_rate / peer_rate:.2f} (target >= 0.5)")
    if not args.keep:
        cleanup()
        print("bench rows deleted")


def time_results(campaign: Campaign, *, repeat: int) -> None:
    weights = indicator_weights(quarter=campaign.quarter).weights
    results_s, results = best_of(repeat, lambda: campaign_results(campaign=campaign,
                                                                     weights=weights))
    raw_s, raw = best_of(repeat, lambda: baseline(campaign))
    raw_nojit_s = None
    if connection.vendor == "postgresql":
        raw_nojit_s, _ = best_of(repeat, lambda: baseline(campaign, jit=False))
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


if __name__ == "__main__":
    main()
