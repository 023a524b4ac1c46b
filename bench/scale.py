"""The rollup and the survey results at several sizes of the same chain: does time grow
linearly with the responses, or better?

Each database is one built by ``bench/rollup.py --build-only`` (15,000 stores, 100,000
employees, 100,000 visits and complaints; ``--responses`` 1,000,000, 2,000,000, 5,000,000):

    for n in 1 2 5; do createdb -h 127.0.0.1 -U postgres sat_bench_x$n; \\
      DATABASE_URL=postgres://postgres@127.0.0.1:5432/sat_bench_x$n .venv/bin/python \\
      bench/rollup.py --build-only --responses ${n}000000; done
    .venv/bin/python bench/scale.py postgres://postgres@127.0.0.1:5432/sat_bench_x1 \\
        postgres://postgres@127.0.0.1:5432/sat_bench_x2 postgres://…/sat_bench_x5

Per database, in a child process of its own (Django binds to one database), best of
``--repeat``:

1. the full rollup (``manage.py rollup``: stores, employees, the evidence, committed), wall
   time and its stages, against the hand-written store-only ``INSERT … SELECT … GROUP BY``
   (``bench/rollup.py``'s ``HAND_SQL``);
2. the survey results for all stores (``surveys.selectors.campaign_results``) against a raw
   ``GROUP BY (store, indicator)`` of the answers (count and mean).

It prints one table: each figure, per million responses, and each ratio against the peer.
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

RAW_GROUP_BY = """
SELECT r.store_id, a.indicator_id, COUNT(*), AVG(a.rating)
FROM surveys_answer a JOIN surveys_response r ON r.id = a.response_id
WHERE r.campaign_id = %s AND r.status IN ('counted', 'cleared')
GROUP BY r.store_id, a.indicator_id
"""


def best(repeat: int, func) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = func()
        times.append(time.perf_counter() - started)
    return min(times), result


def child(repeat: int) -> dict:
    sys.path.insert(0, str(ROOT / "bench"))
    import rollup as rollup_bench  # bench/rollup.py: its data set, hand SQL, timing helpers
    from django.db import connection

    from surveys.models import Campaign, Response
    from surveys.selectors import campaign_results
    from surveys.weights import indicator_weights

    quarter = rollup_bench.QUARTER
    responses = Response.objects.filter(campaign__quarter=quarter).count()
    figures: dict = {"responses": responses}
    wall, peak, output = rollup_bench.time_best_full_rollup(repeat)
    figures.update(rollup=wall, rollup_peak_mib=peak, rollup_stages=output)
    figures["hand_sql"] = min(rollup_bench.hand_sql_rollup() for _ in range(repeat))

    campaign = Campaign.objects.get(quarter=quarter)
    weights = indicator_weights(quarter=quarter).weights
    campaign_results(campaign=campaign, weights=weights)  # warm-up
    figures["results"], results = best(repeat, lambda: campaign_results(
        campaign=campaign, weights=weights))
    figures["results_stores"] = len(results)

    def raw() -> list:
        with connection.cursor() as cursor:
            cursor.execute(RAW_GROUP_BY, [campaign.pk])
            return cursor.fetchall()

    raw()
    figures["raw_group_by"], _rows = best(repeat, raw)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("databases", nargs="*", help="DATABASE_URL of each size")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.repeat)))  # bench/rollup.py sets Django up
        return
    rows = []
    for url in args.databases:
        env = {**os.environ, "DATABASE_URL": url, "DEBUG": "1"}
        result = subprocess.run(  # noqa: S603 - our own interpreter and script
            [sys.executable, __file__, "--child", "--repeat", str(args.repeat)],
            capture_output=True, text=True, env=env, check=False)
        if result.returncode:
            raise SystemExit(f"bench: {url} failed:\n{result.stderr[-3000:]}")
        figures = json.loads(result.stdout.strip().splitlines()[-1])
        rows.append(figures)
        print(f"{url.rsplit('/', 1)[-1]}: {json.dumps(figures)}", flush=True)
    print()
    print("| responses | full rollup | per M responses | hand SQL (store only) | ratio "
          "| peak RSS | results, all stores | per M | raw GROUP BY | ratio |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for f in rows:
        millions = f["responses"] / 1e6
        print(f"| {f['responses']:,} | {f['rollup']:.2f} s | {f['rollup'] / millions:.2f} s "
              f"| {f['hand_sql']:.2f} s | {f['rollup'] / f['hand_sql']:.2f}× "
              f"| {f['rollup_peak_mib']:.0f} MiB | {f['results']:.2f} s "
              f"| {f['results'] / millions:.2f} s | {f['raw_group_by']:.2f} s "
              f"| {f['results'] / f['raw_group_by']:.2f}× |")
    for f in rows:
        print(f"{f['responses']:,} responses, rollup stages: {f['rollup_stages']}")


if __name__ == "__main__":
    main()
