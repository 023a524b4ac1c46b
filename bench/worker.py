"""A real Celery worker for the benches that measure what production's workers do
(``bench/alert_during_rollup.py``; ``bench/complaints.py --worker``), started the way
``docs/operations.md`` runs one, on the broker of the bench's environment."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def start_worker(name: str, queues: list[str], logfile: Path, *,
                 concurrency: int = 1) -> subprocess.Popen:
    """A prefork worker named ``name@<host>`` consuming ``queues``, logging to ``logfile``.
    With one process its main process still answers ``inspect`` while the child runs a task."""
    return subprocess.Popen(  # noqa: S603 - our own venv's celery, fixed arguments
        [str(Path(sys.executable).with_name("celery")), "-A", "satisfaction", "worker",
         "-Q", ",".join(queues), f"--concurrency={concurrency}", "-n", f"{name}@%h",
         "--without-gossip", "--without-mingle", "--loglevel=WARNING", f"--logfile={logfile}"],
        cwd=ROOT, env=os.environ.copy(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def stop_worker(worker: subprocess.Popen) -> None:
    if worker.poll() is None:
        worker.terminate()
        try:
            worker.wait(30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait(10)
