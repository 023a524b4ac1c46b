"""Load bench of the POS ingest API: gunicorn on 127.0.0.1 against PostgreSQL.

    .venv/bin/pip install -e '.[bench]'
    .venv/bin/python bench/pos_load.py [--seconds 20] [--workers 5] [--stores 500]
        [--rounds 2] [--database sat_bench_pos] [--redis redis://127.0.0.1:6379/3]

Creates (drops first) the database ``--database``, migrates it, prepares stores and an API
key, starts two gunicorns with the same command line on free ports (the product, and the bare
DRF peer: ``bench.pos_peer``, a ``get_or_create`` view on a unique (store, receipt) table,
loaded only through its own settings module) and drives them with a minimal asyncio client
(``bench/http_client.py``: it shares the two cores with the servers it measures):

1. single-receipt POSTs from 32 concurrent clients for ``--seconds`` (capped by ``--max``),
   to the product and to the peer in turn, ``--rounds`` times each; prints both sides and the
   ratio (product / peer req/s, and both p50/p95/p99): each round's, the best rounds', and
   the median of the rounds' ratios (the figure to read on a machine whose speed drifts;
   ``--rounds 8 --seconds 5`` follows the drift closely);
2. batch POSTs of 1,000 receipts from ``--batch-clients`` concurrent clients;
3. a retry storm: every single POST and every batch sent twice at the same moment; each
   receipt must be stored exactly once and no copy may get a 409 or a 5xx.

Prints requests/s, p50/p95/p99 latency, errors and transactions/s, plus the row counts that
prove idempotency, and writes them to ``--out`` (JSON). Bounded in time and count. Gunicorn
runs sync workers by default (``--worker-class gthread --threads N`` to compare).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.http_client import Client  # noqa: E402
from bench.machine import loop_ms  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DB_NAME = "sat_bench_pos"
PEER_SETTINGS = "bench.pos_peer.settings"
PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
KEY = "BenchKe1.BenchSecretForLoadTestingOnly-000000"
CONCURRENCY = 32


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_env(database_url: str, *, redis_url: str = "",
               settings_module: str = "satisfaction.settings") -> dict[str, str]:
    env = {**os.environ, "DATABASE_URL": database_url, "DEBUG": "0",
           "SECRET_KEY": "bench-secret-key-not-for-production-0123456789abcdef",
           "SECURE_SSL_REDIRECT": "0", "ALLOWED_HOSTS": "127.0.0.1,localhost",
           "POS_THROTTLE_RATE": "100000000/min", "LOG_LEVEL": "ERROR",
           "DB_CONN_MAX_AGE": "600", "DJANGO_SETTINGS_MODULE": settings_module}
    if redis_url:
        env["REDIS_URL"] = redis_url
    else:
        env.pop("REDIS_URL", None)
    return env


PEER_TABLE_SCRIPT = """
import django
django.setup()
from django.db import connection
from bench.pos_peer.models import PeerReceipt
with connection.schema_editor() as editor:
    editor.create_model(PeerReceipt)
"""


def prepare(database_url: str, stores: int, campaign: bool, db_name: str) -> list[str]:
    import psycopg

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{db_name}"')
    env = server_env(database_url)
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
                   cwd=ROOT, env=env, check=True)
    script = f"""
import django
django.setup()
from satisfaction.models import Region, Store
from pos.services import pos_api_key_create
region = Region.objects.create(code="BENCH", name="Bench")
Store.objects.bulk_create([Store(code=f"B{{n:05d}}", name=f"Bench {{n}}", region=region,
                                 city="Shanghai") for n in range({stores})])
pos_api_key_create(name="bench", stores=list(Store.objects.all()), key="{KEY}")
if {campaign}:  # a survey campaign runs at every store: sampled receipts get invitations
    from datetime import timedelta
    from django.utils import timezone
    from satisfaction.quarters import Quarter
    from surveys.services import campaign_create
    today = timezone.localdate()
    campaign_create(name="bench", quarter=str(Quarter.containing(today)),
                    opens_on=today - timedelta(days=1), closes_on=today + timedelta(days=1))
"""
    subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env,  # noqa: S603 (ours)
                   check=True)
    subprocess.run([sys.executable, "-c", PEER_TABLE_SCRIPT], cwd=ROOT,  # noqa: S603 (ours)
                   env=server_env(database_url, settings_module=PEER_SETTINGS), check=True)
    return [f"B{n:05d}" for n in range(stores)]


def start_server(env: dict[str, str], port: int, workers: int, threads: int,
                 worker_class: str) -> subprocess.Popen:
    command = [str(ROOT / ".venv/bin/gunicorn"), "satisfaction.wsgi:application",
               "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
               "--worker-class", worker_class, "--threads", str(threads),
               "--keep-alive", "30", "--log-level", "warning", "--backlog", "2048"]
    process = subprocess.Popen(command, cwd=ROOT,  # noqa: S603  (fixed command line)
                               env=env, start_new_session=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("gunicorn did not start")


def stop_server(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)


class Receipts:
    """Unique receipts spread over the stores, dated in the recent past."""

    def __init__(self, stores: list[str], tag: str) -> None:
        self.stores = stores
        self.tag = tag
        self.count = 0
        self.base = datetime.now(UTC) - timedelta(days=1)

    def next(self) -> dict:
        n = self.count
        self.count += 1
        return {"store": self.stores[n % len(self.stores)],
                "receipt_number": f"{self.tag}-{n:09d}",
                "occurred_at": (self.base + timedelta(milliseconds=n)).isoformat(),
                "amount": f"{(n % 50000) / 100 + 1:.2f}", "item_count": 1 + n % 7,
                "member_id": f"M{n % 40000:06d}" if n % 3 else None,
                "cashier": f"E{n % 9:05d}"}


def summarise(name: str, latencies: list[float], statuses: dict[int, int], seconds: float,
              transactions: int) -> dict:
    ordered = sorted(latencies)

    def pct(p: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000, 1)

    errors = sum(count for status, count in statuses.items() if status not in (200, 201))
    result = {"phase": name, "requests": len(latencies), "seconds": round(seconds, 2),
              "requests_per_s": round(len(latencies) / seconds, 1),
              "transactions_per_s": round(transactions / seconds, 1),
              "p50_ms": pct(0.50), "p95_ms": pct(0.95), "p99_ms": pct(0.99),
              "mean_ms": round(statistics.fmean(ordered) * 1000, 1),
              "statuses": {str(k): v for k, v in sorted(statuses.items())}, "errors": errors}
    print(json.dumps(result, ensure_ascii=False))
    return result


async def run_phase(client, *, name: str, url: str, make_body, clients: int, seconds: float,
                    max_requests: int, per_request: int, copies: int = 1) -> dict:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    sent = 0
    deadline = time.perf_counter() + seconds

    async def one(body: dict) -> None:
        started = time.perf_counter()
        try:
            response = await client.post(url, json=body)
            status = response.status_code
        except Exception:  # noqa: BLE001  (a transport error counts as an error)
            status = 0
        latencies.append(time.perf_counter() - started)
        statuses[status] = statuses.get(status, 0) + 1

    async def worker() -> None:
        nonlocal sent
        while time.perf_counter() < deadline and sent < max_requests:
            sent += 1
            body = make_body()
            if copies == 1:
                await one(body)
            else:  # the retry storm: the same request twice, at the same moment
                await asyncio.gather(*(one(body) for _ in range(copies)))

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(clients)))
    elapsed = time.perf_counter() - started
    return summarise(name, latencies, statuses, elapsed, sent * per_request)


PEER_URL = "/bench/peer/receipts/"


def _best(runs: list[dict]) -> dict:
    return max(runs, key=lambda run: run["requests_per_s"])


def compare(product: list[dict], peer: list[dict]) -> dict:
    """Both sides of the single-POST ratio: each round, the best round of each side, and the
    median of the rounds' ratios. The machine's speed drifts within a minute (the same side
    runs 300 or 450 req/s from one round to the next), so each round's product and peer run
    back to back and the median of their ratios is the figure to read; many short rounds
    (``--rounds 8 --seconds 5``) follow the drift more closely than two long ones."""
    best_product, best_peer = _best(product), _best(peer)
    ratios = [a["requests_per_s"] / b["requests_per_s"] for a, b in zip(product, peer,
                                                                        strict=True)]
    keys = ("requests_per_s", "p50_ms", "p95_ms", "p99_ms")
    result = {
        "phase": "single POST: product / bare DRF peer",
        "product": {key: best_product[key] for key in keys},
        "peer": {key: best_peer[key] for key in keys},
        "ratio_req_per_s": round(best_product["requests_per_s"] / best_peer["requests_per_s"],
                                 2),
        "ratio_median": round(statistics.median(ratios), 2),
        "p99_ms_median": {"product": statistics.median(a["p99_ms"] for a in product),
                          "peer": statistics.median(b["p99_ms"] for b in peer)},
        "rounds": [{"product": a["requests_per_s"], "peer": b["requests_per_s"],
                    "ratio": round(ratio, 2),
                    "product_p99_ms": a["p99_ms"], "peer_p99_ms": b["p99_ms"],
                    "machine_loop_ms": a.get("machine_loop_ms")}
                   for a, b, ratio in zip(product, peer, ratios, strict=True)],
    }
    print(json.dumps(result))
    return result


async def drive(base: str, peer_base: str, stores: list[str], args) -> list[dict]:
    headers = {"Authorization": f"Api-Key {KEY}"}
    results = []
    async with Client(base, headers=headers, timeout=60) as client, Client(
            peer_base, headers=headers, timeout=60) as peer_client:
        warm = Receipts(stores, "W")
        for _ in range(50):
            await client.post("/api/v1/pos/transactions/", json=warm.next())
            await peer_client.post(PEER_URL, json=warm.next())
        single = Receipts(stores, "S")  # one generator: each side gets receipts of its own
        product_runs, peer_runs = [], []
        for round_number in range(1, args.rounds + 1):
            speed = loop_ms()  # bench/machine.py: the machine's speed this round
            product_runs.append(await run_phase(
                client, name=f"single POST, 32 clients (product, round {round_number})",
                url="/api/v1/pos/transactions/", make_body=single.next, clients=CONCURRENCY,
                seconds=args.seconds, max_requests=args.max, per_request=1))
            peer_runs.append(await run_phase(
                peer_client, name=f"single POST, 32 clients (bare DRF peer, round {round_number})",
                url=PEER_URL, make_body=single.next, clients=CONCURRENCY,
                seconds=args.seconds, max_requests=args.max, per_request=1))
            product_runs[-1]["machine_loop_ms"] = speed
        results.extend([*product_runs, *peer_runs, compare(product_runs, peer_runs)])
        if args.only_single:
            return results
        batch = Receipts(stores, "B")
        results.append(await run_phase(
            client, name=f"batch POST of 1000, {args.batch_clients} clients",
            url="/api/v1/pos/transactions/batch/",
            make_body=lambda: {"items": [batch.next() for _ in range(1000)]},
            clients=args.batch_clients, seconds=args.seconds, max_requests=args.max_batches,
            per_request=1000))
        storm = Receipts(stores, "R")
        results.append(await run_phase(
            client, name="retry storm: single POST sent twice, 32 clients",
            url="/api/v1/pos/transactions/", make_body=storm.next, clients=CONCURRENCY // 2,
            seconds=args.seconds / 2, max_requests=args.max, per_request=1, copies=2))
        storm_batch = Receipts(stores, "RB")
        results.append(await run_phase(
            client, name="retry storm: batch of 1000 sent twice",
            url="/api/v1/pos/transactions/batch/",
            make_body=lambda: {"items": [storm_batch.next() for _ in range(1000)]},
            clients=max(1, args.batch_clients // 2), seconds=args.seconds / 2,
            max_requests=args.max_batches // 2, per_request=1000, copies=2))
        results.append({"phase": "retry storm check", "unique_single_receipts": storm.count,
                        "unique_batch_receipts": storm_batch.count})
    return results


def count_rows(database_url: str) -> dict[str, int]:
    import psycopg

    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT split_part(receipt_number, '-', 1), COUNT(*), "
            "COUNT(DISTINCT (store_id, receipt_number)) FROM pos_postransaction "
            "GROUP BY 1").fetchall()
    return {prefix: {"rows": total, "distinct": distinct} for prefix, total, distinct in rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--max", type=int, default=20_000, help="max single requests")
    parser.add_argument("--max-batches", type=int, default=200)
    parser.add_argument("--batch-clients", type=int, default=4)
    parser.add_argument("--workers", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--stores", type=int, default=500)
    parser.add_argument("--worker-class", default="sync")
    parser.add_argument("--rounds", type=int, default=2,
                        help="single-POST rounds, product and peer in turn")
    parser.add_argument("--database", default=DB_NAME, help="dropped and created")
    parser.add_argument("--redis", default="",
                        help="REDIS_URL for both servers (the throttle's shared cache); "
                             "default: none (each worker's memory)")
    parser.add_argument("--only-single", action="store_true", help="skip batches and storms")
    parser.add_argument("--out", default=str(ROOT / "bench" / "out" / "pos_load.json"),
                        help="JSON report file (bench/out/ is not committed)")
    parser.add_argument("--campaign", action="store_true",
                        help="run a survey campaign at every store (10%% of receipts invited)")
    args = parser.parse_args()
    database_url = f"{PG}/{args.database}"
    stores = prepare(database_url, args.stores, args.campaign, args.database)
    port = free_port()
    gunicorn = (args.workers, args.threads, args.worker_class)
    server = start_server(server_env(database_url, redis_url=args.redis), port, *gunicorn)
    try:
        peer_port = free_port()  # after the product's server holds its port
        peer = start_server(server_env(database_url, redis_url=args.redis,
                                       settings_module=PEER_SETTINGS), peer_port, *gunicorn)
        try:
            results = asyncio.run(drive(f"http://127.0.0.1:{port}",
                                        f"http://127.0.0.1:{peer_port}", stores, args))
        finally:
            stop_server(peer)
    finally:
        stop_server(server)
    report = {"when": datetime.now(UTC).isoformat(), "cpus": os.cpu_count(),
              "campaign": args.campaign, "redis": bool(args.redis),
              "gunicorn": {"workers": args.workers, "threads": args.threads},
              "stores": args.stores, "results": results}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if args.only_single:
        out.write_text(json.dumps(report, indent=2))
        return
    counts = count_rows(database_url)
    check = results[-1]
    check["stored_single"] = counts.get("R", {})
    check["stored_batch"] = counts.get("RB", {})
    check["each_stored_once"] = (
        counts.get("R", {}).get("rows") == check["unique_single_receipts"]
        and counts.get("RB", {}).get("rows") == check["unique_batch_receipts"])
    print(json.dumps(check))
    out.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
