"""Loyalty bench: the chain's medians and the store page's loyalty section at 15,000 stores.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/sat_bench_loyalty \\
        DEBUG=1 .venv/bin/python bench/loyalty.py [--stores 15000] [--receipts 100]
        [--skip-build] [--requests 20]

Builds (unless ``--skip-build``: empties the domain tables first, as ``bench/rollup.py``) a chain
of ``--stores`` stores in 30 regions and ``--receipts`` POS receipts per store in each of two
quarters (``bench/rollup.py``'s quarter and the one before; 60% with a member card, members
mostly at their home store, some at the next store), VACUUM ANALYZEs, then prints:

1. ``pos.selectors.pos_quarter_medians`` of the quarter (the chain-wide computation the
   dashboard caches per quarter), best of three;
2. the store page of one store (``/stores/<code>/``, as HQ): with an empty cache (the medians
   of its six quarters and the store's figures computed), with the medians cached but not the
   store's figures, and warm; each with its query count.
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("bench_rollup", ROOT / "bench" / "rollup.py")
rollup_bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(rollup_bench)  # sets up Django, like running bench/rollup.py

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


def timed_page(client: Client, url: str) -> tuple[float, int]:
    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        response = client.get(url)
        seconds = time.perf_counter() - started
    assert response.status_code == 200, response.status_code
    return seconds, len(queries.captured_queries)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--stores", type=int, default=15_000)
    parser.add_argument("--receipts", type=int, default=100,
                        help="receipts per store per quarter (two quarters)")
    parser.add_argument("--skip-build", action="store_true")
    parser.add_argument("--requests", type=int, default=20)
    args = parser.parse_args()
    log(f"database: {connection.vendor} {connection.settings_dict['NAME']}")
    if not args.skip_build:
        build(args.stores, args.receipts)

    from dashboard import loyalty
    from pos.selectors import pos_quarter_medians
    from satisfaction.models import Role, Store, User

    runs = []
    for _ in range(3):
        started = time.perf_counter()
        medians = pos_quarter_medians(quarter=QUARTER)
        runs.append(time.perf_counter() - started)
    log(f"chain medians of {QUARTER} ({medians.chain.stores} stores with POS data): "
        f"best {min(runs):.2f}s of {', '.join(f'{r:.2f}' for r in runs)}; "
        f"loyalty {medians.chain.loyalty:.3f}, retention {medians.chain.retention:.3f}")

    hq, _ = User.objects.get_or_create(username="bench-loyalty-hq",
                                       defaults={"role": Role.HQ_ADMIN})
    client = Client()
    client.force_login(hq, backend="django.contrib.auth.backends.ModelBackend")
    store = Store.objects.order_by("code").first()
    url = f"/stores/{store.code}/?quarter={QUARTER}"
    cache.clear()
    cold = timed_page(client, url)
    store_keys = [f"dashboard:pos-store:{store.pk}:v{loyalty.KEY_VERSION}:{q}"
                  for q in QUARTER.last_n(loyalty.LOYALTY_QUARTERS)]
    cache.delete_many(store_keys)
    medians_warm = timed_page(client, url)
    warm = [timed_page(client, url) for _ in range(args.requests)]
    log(f"store page, empty cache: {cold[0]:.2f}s, {cold[1]} queries")
    log(f"store page, medians cached, store figures not: {medians_warm[0]:.3f}s, "
        f"{medians_warm[1]} queries")
    log(f"store page, warm: p50 {statistics.median(s for s, _n in warm) * 1000:.0f} ms, "
        f"{warm[-1][1]} queries ({args.requests} requests)")


if __name__ == "__main__":
    sys.exit(main())
