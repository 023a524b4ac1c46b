"""How fast this machine runs plain Python at the moment: a fixed loop, timed.

The project machines share their cores with others, and their speed drifts within minutes: the
same code's CPU time per alert or per request has been seen to grow by half between two runs of
one bench. The benches whose targets sit close to their figures print this before and after
they measure (``bench/complaints.py``, ``bench/pos_load.py`` per round, ``bench/morning.py``),
so that a slow phase of the machine can be told from a slower product. Read it against the same
figure from another run on the same machine: lower is faster.
"""

from __future__ import annotations

import statistics
import time

ADDITIONS = 2_000_000


def loop_ms(repeat: int = 3) -> float:
    """Milliseconds for ``ADDITIONS`` integer additions in a Python loop, the median of
    ``repeat`` runs."""
    runs = []
    for _ in range(repeat):
        start, total = time.perf_counter(), 0
        for number in range(ADDITIONS):
            total += number
        runs.append((time.perf_counter() - start) * 1000)
    return round(statistics.median(runs), 1)


def describe(moment: str) -> str:
    return f"machine speed {moment}: {ADDITIONS:,} Python additions in {loop_ms()} ms"
