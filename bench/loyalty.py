"""Loyalty bench: the chain pass and the store page's loyalty section at 15,000 stores.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/sat_bench_loyalty \\
        DEBUG=1 .venv/bin/python bench/loyalty.py [--stores 15000] [--receipts 100]
        [--skip-build] [--requests 20] [--redis redis://127.0.0.1:6379/11]

Builds (unless ``--skip-build``: empties the domain tables first, as ``bench/rollup.py``) a chain
of ``--stores`` stores in 30 regions and ``--receipts`` POS receipts per store in each of two
quarters (``bench/rollup.py``'s quarter and the one before; 60% with a member card, members
mostly at their home store, some at the next store), VACUUM ANALYZEs, then prints:

1. the chain pass of the quarter (``dashboard.loyalty.chain_pass``: every store's figures and
   the medians, ``pos.selectors.pos_quarter_figures``, then 15,000 store entries and the
   medians written to the cache), best of three, with the part spent writing the cache;
2. the beat task's work (``dashboard.tasks.refresh_loyalty_figures``): the two quarters with
   data (what a run does in the first 8 days of a quarter, the worst of its steady state),
   and a first run on an empty cache (``loyalty.refresh_figures``: the seven quarters of the
   trends, two of them with data);
3. the store page of one store (``/stores/<code>/``, as HQ): after the task on an otherwise
   empty cache (the rest of the page cold), with the medians cached but not the store's
   figures (the per-store fallback), warm, and on an empty cache with no task run (the page
   runs the chain pass of its six quarters); each with its query count and its queries on
   the receipts.

The cache is Django's: pass ``--redis`` (a database the bench empties) for Redis, as in
production; without it, each process's memory (``LocMemCache`` keeps only 300 entries, so the
15,000 store entries of a pass do not stay and the page falls back to the per-store path).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if "--redis" in sys.argv:  # before Django's settings are read (bench/rollup.py sets it up)
    os.environ["REDIS_URL"] = sys.argv[sys.argv.index("--redis") + 1]
_spec = importlib.util.spec_from_file_location("bench_rollup", ROOT / "bench" / "rollup.py")
rollup_bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(rollup_bench)  # sets up Django, like running bench/rollup.py

from django.conf import settings  # noqa: E402
from django.core.cache import cache  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

QUARTER = rollup_bench.QUARTER
log = rollup_bench.log


def build(stores: int, receipts: int) -> None:
    from pos.models import PosTransaction
    from pos.services import member_hash

    started = time.perf_counter()
    rollup_bench.reset_database()
    rng = rollup_bench.RNG
    with transaction.atomic():
        store_ids, _staff = rollup_bench.build_chain(stores, stores)
        hashes = {}

        def member(store_index: int) -> str:
            home = store_index if rng.random() < 0.9 else (store_index + 1) % len(store_ids)
            key = (home, rng.randrange(80))
            if key not in hashes:
                hashes[key] = member_hash(f"M{key[0]}-{key[1]}")
            return hashes[key]

        def rows():
            for quarter in (QUARTER.previous(), QUARTER):
                days = (quarter.last_day - quarter.first_day).days + 1
                for index, store_id in enumerate(store_ids):
                    for n in range(receipts):
                        moment = quarter.start() + timedelta(days=rng.randrange(days),
                                                             hours=8 + rng.randrange(13))
                        yield (store_id, f"B{quarter}-{n:06d}", moment, "25.00", 2,
                               member(index) if rng.random() < 0.6 else "", moment)

        count = rollup_bench.copy_rows(
            PosTransaction, ["store_id", "receipt_number", "occurred_at", "amount",
                             "item_count", "member_hash", "received_at"], rows())
        log(f"chain: {len(store_ids)} stores; receipts: {count}")
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    log(f"built in {time.perf_counter() - started:.1f}s")


def timed_page(client: Client, url: str) -> tuple[float, int, int]:
    """Seconds, queries, and queries on the receipts of one request of ``url``."""
    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        response = client.get(url)
        seconds = time.perf_counter() - started
    assert response.status_code == 200, response.status_code
    return (seconds, len(queries.captured_queries),
            sum("pos_postransaction" in q["sql"] for q in queries.captured_queries))


def timed(function) -> float:
    started = time.perf_counter()
    function()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--stores", type=int, default=15_000)
    parser.add_argument("--receipts", type=int, default=100,
                        help="receipts per store per quarter (two quarters)")
    parser.add_argument("--skip-build", action="store_true")
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--redis", help="a Redis database for the cache (emptied)")
    args = parser.parse_args()
    log(f"database: {connection.vendor} {connection.settings_dict['NAME']}; cache: "
        f"{settings.CACHES['default']['BACKEND'].rsplit('.', 1)[-1]}")
    if not args.skip_build:
        build(args.stores, args.receipts)

    from dashboard import loyalty
    from pos.selectors import pos_quarter_figures
    from satisfaction.models import Role, Store, User

    cache.clear()
    runs, computes = [], []
    for _ in range(3):
        computes.append(timed(lambda: pos_quarter_figures(quarter=QUARTER)))
        runs.append(timed(lambda: loyalty.chain_pass(QUARTER)))
    medians = cache.get(loyalty.medians_key(QUARTER))
    log(f"chain pass of {QUARTER} ({medians.chain.stores} stores with POS data): best "
        f"{min(runs):.2f}s of {', '.join(f'{r:.2f}' for r in runs)} (computing alone: best "
        f"{min(computes):.2f}s; writing {Store.objects.count()} store entries and the medians: "
        f"about {min(runs) - min(computes):.2f}s); loyalty {medians.chain.loyalty:.3f}, "
        f"retention {medians.chain.retention:.3f}")

    two = timed(lambda: [loyalty.chain_pass(q) for q in (QUARTER.previous(), QUARTER)])
    log(f"beat task, the two quarters with data ({QUARTER.previous()}, {QUARTER}): {two:.2f}s")
    cache.clear()
    in_grace = QUARTER.end() + timedelta(days=3)
    first = timed(lambda: loyalty.refresh_figures(now=in_grace))
    again = []
    seconds = timed(lambda: again.extend(loyalty.refresh_figures(now=in_grace)))
    log(f"beat task, first run on an empty cache ({loyalty.REFRESH_QUARTERS} quarters up to "
        f"{QUARTER.next()}): {first:.2f}s; the next run ({', '.join(map(str, again))}): "
        f"{seconds:.2f}s")

    hq, _ = User.objects.get_or_create(username="bench-loyalty-hq",
                                       defaults={"role": Role.HQ_ADMIN})
    client = Client()
    client.force_login(hq, backend="django.contrib.auth.backends.ModelBackend")
    store = Store.objects.order_by("code").first()
    url = f"/stores/{store.code}/?quarter={QUARTER}"
    trend = QUARTER.last_n(loyalty.LOYALTY_QUARTERS)
    client.get(f"/stores/{store.code}/?quarter={QUARTER.previous()}")  # the process's first
    # request (templates, translations, URL patterns) is not the page's cost

    cache.clear()
    for quarter in trend:
        loyalty.chain_pass(quarter)
    after_task = timed_page(client, url)
    cache.delete_many([loyalty.store_key(store.pk, q) for q in trend])
    store_missing = timed_page(client, url)
    warm = [timed_page(client, url) for _ in range(args.requests)]
    cache.clear()
    cold = timed_page(client, url)

    def line(label: str, page: tuple[float, int, int]) -> str:
        return f"{label}: {page[0]:.3f}s, {page[1]} queries ({page[2]} on the receipts)"

    log(line("store page after the task, the rest of the page cold", after_task))
    log(line("store page, medians cached, the store's figures not", store_missing))
    log(f"store page, warm: p50 {statistics.median(s for s, _n, _r in warm) * 1000:.0f} ms, "
        f"{warm[-1][1]} queries ({warm[-1][2]} on the receipts; {args.requests} requests)")
    log(line("store page, empty cache and no task run (chain pass of six quarters)", cold))


if __name__ == "__main__":
    sys.exit(main())
