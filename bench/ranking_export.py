"""Ranking export benchmark: the full store ranking exported by the background job runner.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/sat_bench_export \\
        DEBUG=1 .venv/bin/python bench/ranking_export.py [--skip-build] [--stores 15000 …]

Builds the full-size data set with ``bench/rollup.py``'s builder (the same flags; 15,000 stores
by default; ``--skip-build`` reuses a database it built), rolls up its quarter when it has no
values yet, then for XLSX and CSV:

1. queues a ``dashboard.ranking_export`` job of the whole chain as an HQ user (``job_start``, as
   the store list's export button does for a large ranking; the task is not dispatched here);
2. runs it in a separate, fresh worker process (``--worker JOB_ID``: the Celery task
   ``satisfaction.tasks.job_run`` applied in that process, as a worker runs it);
3. prints the job's wall time in the worker, the rows and file size of its download, and the
   worker's peak RSS (``VmHWM``), beside its RSS once Django was loaded. Target: under
   300 MiB.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from unittest import mock

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

import rollup as rollup_bench  # noqa: E402  (sets up Django, like the other benches)

from django.db import connection  # noqa: E402

QUARTER = rollup_bench.QUARTER
log = rollup_bench.log
TARGET_MIB = 300


def worker(job_id: int) -> None:
    """The worker process: run one queued job as Celery would, report figures as JSON."""
    from satisfaction.models import Job
    from satisfaction.tasks import job_run

    loaded = rollup_bench.peak_rss_mib()
    started = time.perf_counter()
    job_run.apply(args=[job_id], throw=True)
    seconds = time.perf_counter() - started
    job = Job.objects.get(pk=job_id)
    print(json.dumps({"state": job.state, "error": job.error, "seconds": seconds,
                      "rows": job.done, "bytes": job.output_file.size if job.output_file else 0,
                      "name": job.output_name, "loaded_mib": loaded,
                      "peak_mib": rollup_bench.peak_rss_mib()}))


def ensure_values() -> None:
    from scoring.models import Rollup, RollupStatus
    from scoring.services import rollup_quarter

    if Rollup.objects.filter(quarter=QUARTER).exclude(
            status=RollupStatus.SUPERSEDED).exists():
        return
    started = time.perf_counter()
    rollup_quarter(quarter=QUARTER)
    log(f"rollup of {QUARTER}: {time.perf_counter() - started:.1f}s")


def queue_export(file_format: str) -> int:
    from dashboard.jobs import RANKING_EXPORT
    from satisfaction.jobs import job_start
    from satisfaction.models import Role, User
    from scoring.selectors import rollup_for_display

    user, _created = User.objects.get_or_create(username="bench-hq",
                                                defaults={"role": Role.HQ_ADMIN})
    rollup = rollup_for_display(quarter=QUARTER)
    params = {"quarter": str(QUARTER), "revision": rollup.revision, "format": file_format,
              "region": "", "city": "", "q": "", "sort": "rank"}
    # Queued only: the worker process below runs it (no broker here would run it at once).
    with mock.patch("satisfaction.tasks.job_run.delay"):
        job, started = job_start(kind=RANKING_EXPORT, user=user, params=params,
                                 key=f"bench-{file_format}-{time.time_ns()}")
    assert started
    return job.pk


def run_worker(job_id: int) -> dict:
    started = time.perf_counter()
    result = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, str(Path(__file__).resolve()), "--worker", str(job_id)],
        capture_output=True, text=True, check=False, env=os.environ.copy())
    wall = time.perf_counter() - started
    if result.returncode:
        raise SystemExit(f"bench: the worker failed:\n{result.stderr[-3000:]}")
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    figures["process_seconds"] = wall
    return figures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    rollup_bench.add_dataset_arguments(parser, skip_help="export from an already built database")
    args = parser.parse_args()
    if args.worker:
        worker(args.worker)
        return
    log(f"database: {connection.vendor} {connection.settings_dict['NAME']}")
    if not args.skip_build:
        rollup_bench.build_dataset(stores=args.stores, employees=args.employees,
                                   responses=args.responses, visits=args.visits,
                                   complaints=args.complaints)
    ensure_values()
    for file_format in ("xlsx", "csv"):
        figures = run_worker(queue_export(file_format))
        if figures["state"] != "done":
            raise SystemExit(f"bench: the {file_format} export failed: {figures['error']}")
        verdict = "under" if figures["peak_mib"] < TARGET_MIB else "OVER"
        log(f"{file_format}: {figures['rows']} rows, {figures['bytes'] / 1024:.0f} KiB "
            f"({figures['name']}); job {figures['seconds']:.2f}s in the worker, "
            f"{figures['process_seconds']:.2f}s with its start-up; worker peak RSS "
            f"{figures['peak_mib']:.0f} MiB ({figures['loaded_mib']:.0f} MiB once loaded; "
            f"{verdict} the {TARGET_MIB} MiB target)")


if __name__ == "__main__":
    main()
