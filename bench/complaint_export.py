"""Complaint export at the chain's scale: 100,000 complaints across 15,000 stores, exported by
the job ``complaints.export`` (XLSX, then CSV) in a separate worker process.

    createdb -h 127.0.0.1 -U postgres sat_complaint_export
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/sat_complaint_export \\
        DEBUG=1 .venv/bin/python bench/complaint_export.py [--stores 15000 --complaints 100000]
        [--rebuild]

Builds the chain and the complaints with ``bench/rollup.py``'s builders (COPY on PostgreSQL),
unless the database already holds at least that many (``--rebuild`` forces it), then runs each
export as a job in a child process (eager mode: the job runs in that process, as a Celery
worker would) and prints its wall time, rows, file size and the child's peak RSS.

Target: the worker's peak RSS under 300 MiB.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

import rollup  # noqa: E402  (sets up Django: settings, path)
from django.db import connection, transaction  # noqa: E402

BENCH_USER = "bench-export-hq"
TARGET_MIB = 300


def build(stores: int, complaints: int) -> None:
    started = time.perf_counter()
    rollup.reset_database()
    with transaction.atomic():
        store_ids, staff = rollup.build_chain(stores, stores * 2)
        staff_by_store: dict[int, list[int]] = {}
        for employee_id, store_id in staff:
            staff_by_store.setdefault(store_id, []).append(employee_id)
        rollup.log(f"chain: {len(store_ids)} stores, {len(staff)} employees")
        rollup.log(f"complaints: {rollup.build_complaints(complaints, store_ids, staff_by_store)}")
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    rollup.log(f"built in {time.perf_counter() - started:.1f}s")


def ensure_data(stores: int, complaints: int, *, rebuild: bool) -> None:
    from django.core.management import call_command

    from complaints.models import Complaint
    from satisfaction.models import Store

    call_command("migrate", verbosity=0)
    have = (Store.objects.count(), Complaint.objects.count())
    if rebuild or have[0] < stores or have[1] < complaints:
        build(stores, complaints)
    else:
        rollup.log(f"reusing {have[0]} stores and {have[1]} complaints")


def bench_user():
    from satisfaction.models import Role, User

    user, _created = User.objects.get_or_create(
        username=BENCH_USER, defaults={"role": Role.HQ_ADMIN, "is_staff": True})
    return user


def child(fmt: str) -> None:
    """Run one export job here, as a worker would; print its figures as JSON."""
    from django.utils import translation

    from complaints.jobs import EXPORT_KIND, export_params
    from satisfaction.jobs import job_start
    from satisfaction.models import Job

    empty = {"status": "", "grade": "", "category": "", "store_code": "", "query": "",
             "overdue": False, "mine": False}
    user = bench_user()
    started = time.perf_counter()
    with translation.override("zh-hans"):
        job, _started = job_start(kind=EXPORT_KIND, user=user,
                                  params=export_params(filters=empty, fmt=fmt),
                                  key=f"bench-{fmt}-{time.time_ns()}")
    wall = time.perf_counter() - started
    job = Job.objects.get(pk=job.pk)
    size = job.output_file.size if job.output_file else 0
    figures = {"format": fmt, "state": job.state, "error": job.error, "wall": wall,
               "rows": job.result.get("summary", [[None, 0]])[0][1], "bytes": size,
               "peak_mib": rollup.peak_rss_mib()}
    if job.output_file:
        job.output_file.delete(save=False)
    print(json.dumps(figures))


def run_child(fmt: str) -> dict:
    result = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, __file__, "--child", fmt], capture_output=True, text=True,
        check=False, env={**os.environ, "CELERY_BROKER_URL": ""})
    if result.returncode:
        raise SystemExit(f"bench: the export failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--stores", type=int, default=15_000)
    parser.add_argument("--complaints", type=int, default=100_000)
    parser.add_argument("--rebuild", action="store_true", help="build the data set again")
    parser.add_argument("--child", choices=["xlsx", "csv"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    rollup.log(f"database: {connection.vendor} {connection.settings_dict['NAME']}")
    ensure_data(args.stores, args.complaints, rebuild=args.rebuild)
    bench_user()
    for fmt in ("xlsx", "csv"):
        figures = run_child(fmt)
        if figures["state"] != "done":
            raise SystemExit(f"bench: the {fmt} job failed: {figures['error']}")
        verdict = "OK" if figures["peak_mib"] < TARGET_MIB else f"OVER {TARGET_MIB} MiB"
        rollup.log(f"{fmt}: {figures['rows']} rows, {figures['bytes'] / 2**20:.1f} MiB file, "
                   f"{figures['wall']:.1f}s wall, worker peak RSS {figures['peak_mib']:.0f} MiB "
                   f"({verdict})")


if __name__ == "__main__":
    main()
