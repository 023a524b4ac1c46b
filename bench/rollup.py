"""Full-size rollup benchmark.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/sat_bench_rollup \\
        DEBUG=1 .venv/bin/python bench/rollup.py [--stores 15000 --employees 100000
        --responses 1000000 --visits 100000 --complaints 100000] [--skip-build]

Builds a chain of the given size in the configured database (COPY through psycopg 3 on
PostgreSQL, bulk_create elsewhere; the database is migrated and the domain tables emptied
first), then times:

1. the full rollup (``manage.py rollup --quarter``) in a child process, best of ``--repeat``
   (each after the quarter's rollups are deleted): wall time and the child's peak RSS;
2. the store part of the rollup in process: the store frames' loads + ``engine.compute_stores``
   + writing the store snapshot rows (rolled back);
3. a hand-written SQL rollup of the store values (``INSERT … SELECT … GROUP BY`` over the same
   tables), in the same run, and the ratio of 2 to 3; the two results are compared;
4. every store and employee value (and the stores' response counts and confidence intervals)
   against the engine run on the answers the way the rollup read them before the tallies;
5. the evidence each revision freezes (``scoring.models.RevisionInput`` for visits and
   complaints, issue 12; ``RevisionResponses`` for the survey responses, one row per store and
   employee, issue 16): its rows and bytes (tables + indexes on PostgreSQL), the store
   response statistics grouped in the database (the rollup's way on PostgreSQL) against the
   per-response rows grouped by pandas
   (time and max |difference|), and, with the quarter published and some data arriving late,
   the reads that use it: a store's trace with its late items, the chain-wide late count of
   the quarter page, a comparison of two revisions. The late data is then taken away again,
   so the next run (``--skip-build``) rolls up the data set as it was built.
"""

from __future__ import annotations

import argparse
import enum
import os
import random
import resource
import subprocess
import sys
import time
import uuid
from datetime import datetime, timedelta
from datetime import time as dtime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "satisfaction.settings")
os.environ.setdefault("DEBUG", "1")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, models, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from satisfaction.quarters import Quarter, chain_zone  # noqa: E402

QUARTER = Quarter(2026, 3)
RNG = random.Random(20261124)
INDICATORS = ["assortment", "environment", "recommendation", "efficacy", "warm_service",
              "product_quality", "price"]


def peak_rss_mib() -> float:
    """This process's peak resident set, in MiB. /proc's VmHWM is the process's own;
    ``ru_maxrss`` would also count the image of the parent it was forked from (kept across
    exec). The export benches read a worker's peak with it."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


# --- bulk writing --------------------------------------------------------------------------


def meta(model):
    return model._meta  # noqa: SLF001 - Django's documented model metadata API


def _defaults(model, given: list[str]):
    """Per missing NOT NULL column: a constant or a per-row callable (from the model)."""
    now = timezone.now()
    out = []
    for field in meta(model).concrete_fields:
        if field.primary_key and isinstance(field, models.AutoField | models.BigAutoField):
            continue
        if field.attname in given or field.name in given:
            continue
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            out.append((field.attname, now))
        elif field.has_default():
            default = field.default
            out.append((field.attname, default))
        elif field.null:
            continue
        elif field.blank and isinstance(field, models.CharField | models.TextField):
            out.append((field.attname, ""))
        else:
            raise SystemExit(f"bench: {model.__name__}.{field.name} needs a value")
    return out


def copy_rows(model, columns: list[str], rows) -> int:
    """Insert rows fast: COPY on PostgreSQL, bulk_create elsewhere. Returns the row count.

    On PostgreSQL each row goes to psycopg's row writer as given (a tuple is best) with the
    model's defaults for the NOT NULL columns not given appended: the constants as one
    pre-built tuple, the callables (``uuid4``, ``timezone.now`` …) called per row. No per-value
    work in Python unless a column needs it: JSON columns are dumped, and a column whose first
    value is a plain ``Enum`` (not a str / int choice, which psycopg writes as their value) is
    written as ``.value``."""
    extra = _defaults(model, columns)
    calls = [value for _, value in extra if callable(value)]
    constants = [(name, value) for name, value in extra if not callable(value)]
    names = (columns + [name for name, value in extra if callable(value)]
             + [name for name, _ in constants])
    count = 0
    if connection.vendor == "postgresql":
        import json

        constant = tuple(value for _, value in constants)
        by_attname = {f.attname: f for f in meta(model).concrete_fields}
        json_at = [i for i, n in enumerate(names)
                   if isinstance(by_attname.get(n), models.JSONField)]
        enum_at: list[int] | None = None
        with connection.cursor() as cursor, cursor.cursor.copy(
                f"COPY {meta(model).db_table} ({', '.join(names)}) FROM STDIN") as copy:
            write = copy.write_row
            for given in rows:
                row = (*given, *(call() for call in calls), *constant) if calls \
                    else (*given, *constant)
                if enum_at is None:
                    enum_at = [i for i, v in enumerate(row) if isinstance(v, enum.Enum)
                               and not isinstance(v, str | int)]
                if json_at or enum_at:
                    values = list(row)
                    for i in json_at:
                        values[i] = json.dumps(values[i])
                    for i in enum_at:
                        values[i] = getattr(values[i], "value", values[i])
                    row = tuple(values)
                write(row)
                count += 1
        return count
    batch = []
    for row in rows:
        values = [*row, *(call() for call in calls), *(value for _, value in constants)]
        batch.append(model(**dict(zip(names, values, strict=True))))
        count += 1
        if len(batch) >= 5000:
            model.objects.bulk_create(batch)
            batch = []
    model.objects.bulk_create(batch)
    return count


def ids(model) -> list[int]:
    return list(model.objects.order_by("pk").values_list("pk", flat=True))


def moment_in_quarter() -> datetime:
    day = QUARTER.first_day + timedelta(days=RNG.randrange((QUARTER.last_day
                                                           - QUARTER.first_day).days + 1))
    return datetime.combine(day, dtime(RNG.randrange(8, 22), RNG.randrange(60)),
                            tzinfo=chain_zone())


# --- the chain ------------------------------------------------------------------------------


def build_chain(n_stores: int, n_employees: int) -> tuple[list[int], list[tuple[int, int]]]:
    from satisfaction.models import Employee, EmployeeRole, Region, Store

    regions = [Region(code=f"R{i:02d}", name=f"区域{i}") for i in range(30)]
    Region.objects.bulk_create(regions)
    region_ids = ids(Region)
    copy_rows(Store, ["code", "name", "region_id", "city", "is_active"],
              ((f"S{i:05d}", f"门店{i}", region_ids[i % len(region_ids)], f"城市{i % 300}",
                True) for i in range(n_stores)))
    store_ids = ids(Store)
    per_store = n_employees // len(store_ids)

    def employees():
        number = 0
        for index, store_id in enumerate(store_ids):
            count = per_store + (1 if index < n_employees % len(store_ids) else 0)
            for k in range(count):
                number += 1
                role = EmployeeRole.STORE_MANAGER if k == 0 else (
                    EmployeeRole.PHARMACIST if k == 1 else EmployeeRole.CLERK)
                yield (f"E{number:07d}", f"员工{number}", store_id, role, True)

    copy_rows(Employee, ["number", "name", "store_id", "role", "is_active"], employees())
    staff = list(Employee.objects.values_list("pk", "store_id"))
    return store_ids, staff


# --- the input apps -------------------------------------------------------------------------


def build_visits(n: int, store_ids: list[int], staff_by_store: dict[int, list[int]]) -> int:
    from mystery_shopper.models import ScorecardTemplate, Visit, VisitStatus

    template = ScorecardTemplate.objects.create(code="bench", version=1, name_zh="基准")

    def rows():
        for i in range(n):
            store_id = store_ids[i % len(store_ids)]
            staff = staff_by_store[store_id]
            visited = moment_in_quarter()
            purchase, process, image = (RNG.randint(4, 10), RNG.randint(4, 10),
                                        RNG.randint(4, 10))
            red = RNG.random() < 0.01
            pct = 0.0 if red else (purchase + process + image) / 30 * 100
            yield (uuid.uuid4(), store_id, str(QUARTER), template.pk, VisitStatus.APPROVED,
                   visited.date(), visited.date(), RNG.choice(staff) if RNG.random() < 0.8
                   else None, visited, pct, float(purchase), 10.0, float(process), 10.0,
                   float(image), 10.0, red)

    return copy_rows(Visit, ["public_id", "store_id", "quarter", "template_id", "status",
                             "due_on", "visited_on", "employee_id", "approved_at", "score_pct",
                             "purchase_points", "purchase_max", "process_points",
                             "process_max", "image_points", "image_max", "red_line"], rows())


def build_complaints(n: int, store_ids: list[int], staff_by_store: dict[int, list[int]]) -> int:
    from complaints.models import Complaint

    def rows():
        for i in range(n):
            store_id = store_ids[RNG.randrange(len(store_ids))]
            received = moment_in_quarter()
            substantiated = RNG.random() < 0.6
            yield (f"B{i:09d}", store_id, "phone", "service_attitude", "bench", received,
                   RNG.choice(staff_by_store[store_id]) if RNG.random() < 0.5 else None,
                   RNG.choice("ABC"), substantiated, "closed", received)

    return copy_rows(Complaint, ["ticket_no", "store_id", "channel", "category",
                                 "description", "received_at", "employee_id", "grade",
                                 "substantiated", "status", "graded_at"], rows())


def build_surveys(n: int, store_ids: list[int], staff_by_store: dict[int, list[int]]) -> int:
    """A campaign of the quarter, ``n`` counted responses (60% naming an employee) and one
    rating per active indicator each, the answers generated in SQL from the responses."""
    from surveys.models import Campaign, Response

    campaign = Campaign.objects.create(name="bench", quarter=QUARTER, scale_max=5,
                                       opens_on=QUARTER.first_day, closes_on=QUARTER.last_day)

    def rows():
        for i in range(n):
            store_id = store_ids[i % len(store_ids)]
            employee = (RNG.choice(staff_by_store[store_id]) if RNG.random() < 0.6 else None)
            yield (campaign.pk, store_id, employee, "paper", moment_in_quarter(), "counted",
                   RNG.randint(60, 400))

    count = copy_rows(Response, ["campaign_id", "store_id", "employee_id", "channel",
                                 "submitted_at", "status", "duration_seconds"], rows())
    # Ratings: a store-level tendency plus noise, 1..5 (more top ratings at some stores).
    if connection.vendor == "postgresql":
        rating = ("LEAST(5, GREATEST(1, round(2.6 + (r.store_id %% 7) * 0.3 "
                  "+ (random() * 2.4 - 1.2))))::smallint")
    else:
        rating = "1 + ((r.store_id %% 3) + abs(random()) %% 3)"
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO surveys_answer (response_id, indicator_id, rating) "  # noqa: S608
            f"SELECT r.id, i.id, {rating} FROM surveys_response r "
            "CROSS JOIN surveys_indicator i WHERE i.is_active AND r.campaign_id = %s",
            [campaign.pk])
    return count


# --- the hand-written SQL rollup ------------------------------------------------------------

HAND_SQL_TABLE = "bench_hand_store_values"

HAND_SQL = """
INSERT INTO bench_hand_store_values (store_id, survey_pct, scenario_pct, deductions, value)
WITH w(code, weight) AS (VALUES {weights}
), ind AS (
    SELECT r.store_id, a.indicator_id,
           AVG((a.rating - 1) * 100.0 / (c.scale_max - 1)) AS mean_score
    FROM surveys_answer a
    JOIN surveys_response r ON r.id = a.response_id
    JOIN surveys_campaign c ON c.id = r.campaign_id
    WHERE c.quarter = %(quarter)s AND r.status IN ('counted', 'cleared')
    GROUP BY r.store_id, a.indicator_id
), survey AS (
    SELECT ind.store_id, SUM(w.weight * ind.mean_score) / SUM(w.weight) AS pct
    FROM ind
    JOIN surveys_indicator i ON i.id = ind.indicator_id
    JOIN w ON w.code = i.code
    WHERE w.weight > 0
    GROUP BY ind.store_id
), scenario AS (
    -- seed 002 (the default scheme): purchase + process over their maximum; a red line gives
    -- the stored red-line score (mystery_shopper.calc.scenario_pct)
    SELECT store_id, AVG(CASE WHEN red_line THEN score_pct
                              WHEN purchase_max + process_max > 0
                              THEN (purchase_points + process_points) * 100.0
                                   / (purchase_max + process_max) END) AS pct
    FROM mystery_shopper_visit
    WHERE status = 'approved' AND visited_on BETWEEN %(first)s AND %(last)s
    GROUP BY store_id
), deduction AS (
    SELECT store_id,
           SUM(CASE grade WHEN 'A' THEN %(a)s WHEN 'B' THEN %(b)s WHEN 'C' THEN %(c)s END) AS d
    FROM complaints_complaint
    WHERE substantiated AND grade <> '' AND received_at >= %(start)s AND received_at < %(end)s
    GROUP BY store_id
)
SELECT s.id, survey.pct, scenario.pct, COALESCE(deduction.d, 0),
       CASE WHEN survey.pct IS NULL AND scenario.pct IS NULL THEN NULL
            ELSE LEAST(100, GREATEST(0,
                 CASE WHEN survey.pct IS NOT NULL AND scenario.pct IS NOT NULL
                      THEN survey.pct * %(sp)s / 100 + scenario.pct * %(cp)s / 100
                      ELSE COALESCE(survey.pct, scenario.pct) * (%(sp)s + %(cp)s) / 100 END
                 - COALESCE(deduction.d, 0))) END
FROM satisfaction_store s
LEFT JOIN survey ON survey.store_id = s.id
LEFT JOIN scenario ON scenario.store_id = s.id
LEFT JOIN deduction ON deduction.store_id = s.id
WHERE s.is_active
"""


def hand_sql_rollup() -> float:
    """INSERT … SELECT … GROUP BY of the store values with the current (default) scheme."""
    from scoring.services import scheme_current

    scheme = scheme_current().to_params()
    weights = ", ".join(f"('{code}', {float(weight)})"
                        for code, weight in scheme.indicator_weights.items())
    params = {"quarter": str(QUARTER), "first": QUARTER.first_day, "last": QUARTER.last_day,
              "start": QUARTER.start(), "end": QUARTER.end(), "a": scheme.grade_points["A"],
              "b": scheme.grade_points["B"], "c": scheme.grade_points["C"],
              "sp": scheme.survey_points, "cp": scheme.scenario_points}
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {HAND_SQL_TABLE}")
        cursor.execute(f"CREATE TABLE {HAND_SQL_TABLE} (store_id bigint PRIMARY KEY, "
                       "survey_pct double precision, scenario_pct double precision, "
                       "deductions double precision, value double precision)")
    checkpoint()
    started = time.perf_counter()
    sql = HAND_SQL.format(weights=weights)
    if connection.vendor == "sqlite":
        sql = sql.replace("LEAST(", "MIN(").replace("GREATEST(", "MAX(")
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)
    return time.perf_counter() - started


# --- timing ---------------------------------------------------------------------------------


def checkpoint() -> None:
    """On PostgreSQL, write out what earlier steps left dirty before a timed side starts, so
    that neither the rollup nor the hand SQL pays for flushing the other's writes (on a
    machine with a slow disk the same hand SQL took 10.4 s and 14.7 s that way)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("CHECKPOINT")


def time_full_rollup() -> tuple[float, float, str]:
    checkpoint()
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    result = subprocess.run(  # noqa: S603 - our own interpreter and manage.py
        [sys.executable, str(ROOT / "manage.py"), "rollup", "--skip-checks",
         "--quarter", str(QUARTER)],
        capture_output=True, text=True, check=False, env=os.environ.copy())
    if result.returncode:
        raise SystemExit(f"bench: the rollup failed:\n{result.stderr[-3000:]}")
    wall = time.perf_counter() - started
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    peak_kib = max(peak_kib, before)
    return wall, peak_kib / 1024, result.stdout.strip()


def time_best_full_rollup(repeat: int) -> tuple[float, float, str]:
    """The fastest of ``repeat`` full rollups of the quarter, each after its rollups are
    deleted (so each computes revision 1 from nothing): wall, peak RSS, the command's output.
    The best of several, because one run on a machine whose speed drifts says little."""
    from scoring.models import Rollup

    runs = []
    for _ in range(repeat):
        Rollup.objects.filter(quarter=QUARTER).delete()
        runs.append(time_full_rollup())
    return min(runs)


def time_store_part() -> tuple[float, dict[str, float]]:
    from scoring import engine, loader
    from scoring.models import Rollup, StoreScore
    from scoring.services import STORE_SCORE_FIELDS, _write_rows, scheme_current

    stages = {}
    started = time.perf_counter()
    params = scheme_current().to_params()
    t = time.perf_counter()
    frames = loader.load_frames(loader.store_frame_calls(
        quarter=QUARTER, weights=params.indicator_weights))
    stores, employees = loader.chain_frames()
    stages["load"] = time.perf_counter() - t
    t = time.perf_counter()
    data = loader.engine_input(frames, stores, employees)
    result = engine.compute_stores(data, params)
    stages["compute"] = time.perf_counter() - t
    t = time.perf_counter()
    with transaction.atomic():
        rollup = Rollup.objects.create(quarter=Quarter(1999, 1), revision=1,
                                       scheme=scheme_current(), computed_at=timezone.now())
        _write_rows(StoreScore, rollup=rollup, key="store_id", frame=result,
                    fields=STORE_SCORE_FIELDS, extra={"region_id": result["region_id"]})
        stages["write"] = time.perf_counter() - t
        transaction.set_rollback(True)
    return time.perf_counter() - started, stages


def evidence_figures() -> None:
    """Issue 12: the size of the frozen evidence and the cost of the reads that use it."""
    from scoring import evidence
    from scoring.models import RevisionInput, Rollup, RollupStatus
    from scoring.services import scheme_current
    from surveys import selectors as survey_selectors

    rollup = Rollup.objects.get(quarter=QUARTER, status=RollupStatus.PROVISIONAL)
    rows = RevisionInput.objects.filter(rollup=rollup).count()
    by_kind = dict(RevisionInput.objects.filter(rollup=rollup).values_list("kind").annotate(
        n=models.Count("object_id")).values_list("kind", "n"))
    length = ("cardinality(response_ids)" if connection.vendor == "postgresql"
              else "json_array_length(response_ids)")
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*), COALESCE(SUM({length}), 0) "  # noqa: S608
                       "FROM scoring_revisionresponses WHERE rollup_id = %s", [rollup.pk])
        groups, responses = cursor.fetchone()
    log(f"evidence: {rows + groups} rows in r{rollup.revision}: responses {responses} in "
        f"{groups} rows (one per store and employee), visits {by_kind.get(2, 0)}, complaints "
        f"{by_kind.get(3, 0)}")
    if connection.vendor == "postgresql":
        sizes = {}
        with connection.cursor() as cursor:
            for table in ("scoring_revisioninput", "scoring_revisionresponses"):
                cursor.execute(f"VACUUM ANALYZE {table}")
                cursor.execute("SELECT pg_relation_size(%s), pg_indexes_size(%s), "
                               "pg_total_relation_size(%s)", [table, table, table])
                sizes[table] = cursor.fetchone()
        total = sum(size[2] for size in sizes.values())
        log("evidence size (every revision kept): " + ", ".join(
            f"{table} {size[0] / 2**20:.1f} MiB + indexes {size[1] / 2**20:.1f} MiB"
            for table, size in sizes.items())
            + f"; {total / max(rows + responses, 1):.0f} bytes per counted input (with TOAST)")
    weights = scheme_current().to_params().indicator_weights
    t = time.perf_counter()
    frame = survey_selectors.survey_response_score_frame(quarter=QUARTER, weights=weights)
    by_frame = evidence.response_stats(frame)
    per_response = time.perf_counter() - t
    log(f"survey response statistics, the frame's way (per-response rows + pandas): "
        f"{per_response:.2f}s ({len(frame)} rows)")
    if connection.vendor == "postgresql":
        t = time.perf_counter()
        in_db = survey_selectors.survey_response_stats_frame(quarter=QUARTER, weights=weights)
        log(f"survey response statistics grouped in the database (the rollup's way): "
            f"{time.perf_counter() - t:.2f}s ({len(in_db)} stores)")
        joined = by_frame.merge(in_db, on="store_id", how="outer", suffixes=("", "_db"),
                                indicator=True)
        gaps = {column: float((joined[column] - joined[f"{column}_db"]).abs().max())
                for column in ("n", "mean_score", "sd_score")}
        log(f"  against the frame's: {int((joined['_merge'] != 'both').sum())} stores in one "
            "only; max |difference| " + ", ".join(f"{c} {g:.2e}" for c, g in gaps.items()))
    evidence_reads(rollup)


def evidence_reads(rollup) -> None:
    """Publish, then data arrives late (1 % more responses, 100 regrades, 100 changed visits):
    time the reads of the evidence, a new revision and a nightly recompute in place."""
    from complaints.models import Complaint
    from mystery_shopper.models import Visit
    from scoring import selectors
    from scoring.models import RollupStatus, StoreScore
    from scoring.services import rollup_quarter
    from surveys.models import Response

    type(rollup).objects.filter(pk=rollup.pk).update(status=RollupStatus.PUBLISHED,
                                                     published_at=timezone.now())
    rollup.refresh_from_db()
    last_response = Response.objects.order_by("-pk").values_list("pk", flat=True).first()
    regraded = list(Complaint.objects.filter(substantiated=True, grade="A")
                    .order_by("pk").values_list("pk", flat=True)[:100])
    moved = dict(Visit.objects.order_by("pk").values_list("pk", "purchase_points")[:100])
    with transaction.atomic():
        late = list(Response.objects.filter(campaign__quarter=QUARTER).order_by("pk")
                    .values_list("campaign_id", "store_id")[:10000])
        copy_rows(Response, ["campaign_id", "store_id", "channel", "submitted_at", "status"],
                  ((campaign, store, "paper", moment_in_quarter(), "counted")
                   for campaign, store in late))
        Complaint.objects.filter(pk__in=regraded).update(grade="C")
        Visit.objects.filter(pk__in=moved).update(purchase_points=0)
    store = StoreScore.objects.filter(rollup=rollup).order_by("-n_responses").first()
    t = time.perf_counter()
    trace = selectors.revision_trace(rollup=rollup, store_id=store.store_id)
    log(f"a store's trace with its late items: {time.perf_counter() - t:.3f}s "
        f"({sum(p['count'] for p in trace['parts'].values())} counted, "
        f"{len(trace['late'])} late)")
    t = time.perf_counter()
    counts = selectors.late_counts([rollup])
    log(f"chain-wide late count (quarter page): {time.perf_counter() - t:.2f}s "
        f"({counts.get(rollup.pk, 0)} inputs)")
    outcome = rollup_quarter(quarter=QUARTER, reason="bench: late data")
    log(f"revision {outcome.rollup.revision} with a reason: {outcome.seconds:.2f}s "
        f"{outcome.stages}, {outcome.inputs} counted inputs")
    old = StoreScore.objects.select_related("rollup", "rollup__scheme", "store").get(
        rollup=rollup, store_id=store.store_id)
    new = StoreScore.objects.select_related("rollup", "rollup__scheme", "store").get(
        rollup=outcome.rollup, store_id=store.store_id)
    t = time.perf_counter()
    comparison = selectors.revision_compare(old=old, new=new)
    log(f"comparison of the two revisions of one store: {time.perf_counter() - t:.3f}s "
        f"(value {comparison['value_delta']:+.2f})")
    again = rollup_quarter(quarter=QUARTER)
    log(f"nightly recompute of revision {again.rollup.revision} in place (its evidence "
        f"deleted and written again): {again.seconds:.2f}s {again.stages}")
    late_data_undo(last_response=last_response, regraded=regraded, moved=moved)


def late_data_undo(*, last_response: int, regraded: list[int], moved: dict[int, int]) -> None:
    """Take ``evidence_reads``' late data away again (its responses, the regrades, the
    visits' points) and the revisions that counted it, so the next run with ``--skip-build``
    rolls up the data set as it was built, not one 10,000 responses larger each time. The
    late responses have no answers, so no tally holds them. On PostgreSQL the touched tables
    are vacuumed, as autovacuum would do (it is off on the project's bench machines)."""
    from complaints.models import Complaint
    from mystery_shopper.models import Visit
    from scoring.models import Rollup
    from surveys.models import Response

    with transaction.atomic():
        Rollup.objects.filter(quarter=QUARTER).delete()
        Response.objects.filter(pk__gt=last_response).delete()
        Complaint.objects.filter(pk__in=regraded).update(grade="A")
        Visit.objects.bulk_update([Visit(pk=pk, purchase_points=points)
                                   for pk, points in moved.items()], ["purchase_points"])
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            for table in ("surveys_response", "complaints_complaint", "mystery_shopper_visit",
                          "scoring_storescore", "scoring_employeescore",
                          "scoring_revisioninput", "scoring_revisionresponses"):
                cursor.execute(f"VACUUM ANALYZE {table}")
    log("late data taken away again (the next run rolls up the data set as built)")


def first_request_after_rollup() -> None:
    """The rollup analyzes the snapshot tables it rewrote: the first store pages after it
    should cost what the fiftieth does (the Python side warmed up on another store first).

    Each page is a store's first open (its body rendered from the snapshot rows, not read
    from the cache). The figure compares the median of the first ten opened right after the
    rollup with the median of the same ten stores opened again after the 50, the cache
    emptied (and the Python side warmed again): the same stores, the same work, so a bad plan
    or cold pages right after the rollup is the only difference. The 41st to 50th (the
    earlier comparison) are also printed: with no rollup before them, the first ten came to
    0.94–1.08 times those in six runs, so a gap of that size is noise. One request alone says
    little on a machine whose speed drifts by half within minutes. Also printed: the same
    store reloaded 49 times (its body then comes from the cache).
    Run with ``REDIS_URL`` as production does: ``LocMemCache`` keeps 300 entries, so the
    loyalty figures of a chain-sized pass do not stay and every page runs the pass again."""
    from django.core.cache import cache
    from django.test import Client

    from satisfaction.models import Role, Store, User
    from satisfaction.services import user_create

    User.objects.filter(username="bench_rollup_hq").delete()
    hq = user_create(username="bench_rollup_hq", password=None, role=Role.HQ_ADMIN)
    client = Client(HTTP_HOST="localhost")
    client.force_login(hq)
    codes = list(Store.objects.order_by("pk").values_list("code", flat=True)[:51])

    def open_page(code: str) -> float:
        started = time.perf_counter()
        response = client.get(f"/stores/{code}/")
        assert response.status_code == 200, response.status_code
        return (time.perf_counter() - started) * 1000

    def median(values: list[float]) -> float:
        return sorted(values)[len(values) // 2]

    open_page(codes[0])  # templates, caches, connection: not what is measured
    first_opens = [open_page(code) for code in codes[1:]]
    reloads = [open_page(codes[1]) for _ in range(49)]
    cache.clear()  # the bench's own cache (REDIS_URL): every body is rendered again
    open_page(codes[0])  # and the loyalty figures the warm-up refills
    again = [open_page(code) for code in codes[1:11]]
    early, later = median(first_opens[:10]), median(first_opens[40:50])
    log(f"store pages right after the rollup (first opens, in order): the first "
        f"{first_opens[0]:.1f} ms; median of the first ten {early:.1f} ms, of the same ten "
        f"opened again after the 50 (cache emptied) {median(again):.1f} ms (ratio "
        f"{early / median(again):.2f}); of the 41st to 50th {later:.1f} ms; the first store "
        f"reloaded 49 times: median {median(reloads):.1f} ms")


def compare_with_hand_sql() -> tuple[int, float]:
    from scoring.models import Rollup, RollupStatus

    rollup = Rollup.objects.get(quarter=QUARTER, status=RollupStatus.PROVISIONAL)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT count(*), coalesce(max(abs(s.value - h.value)), 0) "  # noqa: S608
            f"FROM scoring_storescore s JOIN {HAND_SQL_TABLE} h ON h.store_id = s.store_id "
            f"WHERE s.rollup_id = %s", [rollup.pk])
        return cursor.fetchone()


# --- the values the way they were computed before the tallies ------------------------------

ANSWERS_INDICATOR_SQL = """
SELECT {keys}, a.indicator_id, COUNT(*),
       AVG((a.rating - 1) * 100 / CAST(c.scale_max - 1 AS DOUBLE PRECISION)),
       SUM(CASE WHEN a.rating = 1 THEN 1 ELSE 0 END),
       AVG((a.expectation - 1) * 100 / CAST(c.scale_max - 1 AS DOUBLE PRECISION))
FROM surveys_answer a JOIN surveys_response r ON r.id = a.response_id
JOIN surveys_campaign c ON c.id = r.campaign_id
WHERE r.status IN ('counted', 'cleared') AND c.quarter = %s {extra}
GROUP BY {keys}, a.indicator_id
"""


def answers_path_input():
    """The engine's input read from every answer, as the rollup read it before the tallies
    (the SQL of ``surveys.selectors`` at the commit before them): the reference the new way
    must equal."""
    import pandas as pd

    from scoring import engine, loader
    from scoring.services import scheme_current
    from surveys.models import Indicator
    from surveys.tallies import weighted_score_sql

    weights = scheme_current().to_params().indicator_weights
    codes = dict(Indicator.objects.values_list("pk", "code"))
    with connection.cursor() as cursor:
        cursor.execute("SET jit = off")
        cursor.execute(ANSWERS_INDICATOR_SQL.format(keys="r.store_id", extra=""),
                       [str(QUARTER)])
        store_rows = [(s, codes[i], n, score, bottom, expectation)
                      for s, i, n, score, bottom, expectation in cursor.fetchall()]
        cursor.execute(ANSWERS_INDICATOR_SQL.format(
            keys="r.employee_id, r.store_id",
            extra="AND r.employee_id IS NOT NULL AND NOT r.self_served"), [str(QUARTER)])
        employee_rows = [(e, s, codes[i], n, score)
                         for e, s, i, n, score, _bottom, _expectation in cursor.fetchall()]
        by_pk = {pk: float(weights.get(code, 0.0)) for pk, code in codes.items()}
        score, score_params = weighted_score_sql(by_pk, "CAST(c.scale_max - 1 AS DOUBLE "
                                                 "PRECISION)")
        cursor.execute(
            "SELECT r.id, r.store_id, CASE WHEN r.self_served THEN NULL ELSE r.employee_id END,"  # noqa: S608
            f" {score} FROM surveys_response r JOIN surveys_campaign c ON c.id = r.campaign_id "
            "LEFT JOIN surveys_answer a ON a.response_id = r.id "
            "WHERE r.status IN ('counted', 'cleared') AND c.quarter = %s "
            "GROUP BY r.id, r.store_id, r.employee_id, r.self_served",
            [*score_params, str(QUARTER)])
        responses = pd.DataFrame.from_records(cursor.fetchall(), columns=[
            "response_id", "store_id", "employee_id", "score"]).astype(
            {"response_id": "int64", "store_id": "int64", "employee_id": "Int64",
             "score": "float64"})
    frames = loader.load_frames({name: call for name, call in loader.store_frame_calls(
        quarter=QUARTER, weights=weights).items() if name in ("visits", "deductions")},
        parallel=False)
    frames["survey_indicators"] = pd.DataFrame.from_records(
        store_rows, columns=engine.STORE_INDICATOR_COLUMNS)
    frames["survey_employees"] = pd.DataFrame.from_records(
        employee_rows, columns=engine.EMPLOYEE_INDICATOR_COLUMNS)
    frames["responses"] = responses
    stores, employees = loader.chain_frames()
    return loader.engine_input(frames, stores, employees)


def _compare_column(name: str, stored: dict, expected: dict) -> None:
    """One column of the rollup against the answers path: how many differ by more than 1e-9,
    the largest difference, and how many differ once rounded as the sheets write them (two
    decimals; the pages show one)."""
    import pandas as pd

    from satisfaction.stats import rounded

    differ, worst, rounded_differ = 0, 0.0, 0
    for item, value in expected.items():
        mine = stored.get(item)
        if (mine is None) != bool(pd.isna(value)):  # NaN: no value
            differ += 1
            rounded_differ += 1
            continue
        if mine is not None:
            gap = abs(mine - value)
            worst = max(worst, gap)
            differ += gap > 1e-9
            rounded_differ += rounded(mine, 2) != rounded(float(value), 2)
    log(f"{name} vs the engine on the answers: {len(expected)} compared, "
        f"{len(stored) - len(expected):+d} rows, {differ} differ by more than 1e-9, "
        f"max |difference| {worst:.2e}, {rounded_differ} differ rounded to 2 decimals")


def compare_with_answers_path() -> None:
    """Every store and employee value of the rollup against the engine run on the answers,
    and the stores' response counts and confidence intervals (the rollup groups the response
    scores in the database on PostgreSQL, the answers path in pandas: the sd may differ in the
    last bits, ~1e-13, and no rounded figure may)."""
    from scoring import engine
    from scoring.models import EmployeeScore, Rollup, RollupStatus, StoreScore
    from scoring.services import scheme_current

    t = time.perf_counter()
    result = engine.compute(answers_path_input(), scheme_current().to_params())
    seconds = time.perf_counter() - t
    rollup = Rollup.objects.get(quarter=QUARTER, status=RollupStatus.PROVISIONAL)
    for name, model, key, frame, columns in (
            ("store", StoreScore, "store_id", result.stores,
             ("value", "n_responses", "ci_low", "ci_high")),
            ("employee", EmployeeScore, "employee_id", result.employees, ("value",))):
        for column in columns:
            stored = dict(model.objects.filter(rollup=rollup).values_list(key, column))
            expected = dict(zip(frame[key].astype(int), frame[column], strict=True))
            _compare_column(f"{name} {column}", stored, expected)
    log(f"(the answers path: read + compute {seconds:.2f}s)")


# The data the bench builds (configuration such as indicators, scorecards and schemes stays).
DATA_TABLES = ["scoring_exportlog", "scoring_appraisalpoints", "scoring_revisioninput",
               "scoring_revisionresponses", "scoring_rollup",
               "complaints_complaint", "mystery_shopper_visit", "surveys_answer",
               "surveys_response", "surveys_campaign", "satisfaction_employee",
               "satisfaction_store", "satisfaction_region"]


def reset_database() -> None:
    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"TRUNCATE {', '.join(DATA_TABLES)} RESTART IDENTITY CASCADE")
            return
        for table in DATA_TABLES:
            cursor.execute(f"DELETE FROM {table}")  # noqa: S608 - our own table names


def build_dataset(*, stores: int = 15_000, employees: int = 100_000,
                  responses: int = 1_000_000, visits: int = 100_000,
                  complaints: int = 100_000) -> None:
    """Empty the domain tables and build the full-size chain (importable by other benches)."""
    started = time.perf_counter()
    reset_database()
    with transaction.atomic():
        store_ids, staff = build_chain(stores, employees)
        staff_by_store: dict[int, list[int]] = {}
        for employee_id, store_id in staff:
            staff_by_store.setdefault(store_id, []).append(employee_id)
        log(f"chain: {len(store_ids)} stores, {len(staff)} employees")
        log(f"survey responses: {build_surveys(responses, store_ids, staff_by_store)}")
        # The answers were written around the services: tally and score them as the services
        # would have (``manage.py survey_tallies_rebuild``).
        from surveys.services import survey_tallies_rebuild

        t = time.perf_counter()
        survey_tallies_rebuild()
        log(f"survey tallies and response scores rebuilt in {time.perf_counter() - t:.1f}s")
        log(f"visits: {build_visits(visits, store_ids, staff_by_store)}")
        log(f"complaints: {build_complaints(complaints, store_ids, staff_by_store)}")
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    log(f"built in {time.perf_counter() - started:.1f}s")


def add_dataset_arguments(parser: argparse.ArgumentParser, *, skip_help: str) -> None:
    """The full-scale data set's size (``build_dataset``), for every bench that builds it."""
    parser.add_argument("--stores", type=int, default=15_000)
    parser.add_argument("--employees", type=int, default=100_000)
    parser.add_argument("--responses", type=int, default=1_000_000)
    parser.add_argument("--visits", type=int, default=100_000)
    parser.add_argument("--complaints", type=int, default=100_000)
    parser.add_argument("--skip-build", action="store_true", help=skip_help)
    parser.add_argument("--build-only", action="store_true",
                        help="build the data set (for later runs with --skip-build) and stop")


def main() -> None:
    parser = argparse.ArgumentParser()
    add_dataset_arguments(parser, skip_help="time the rollups of an already built database")
    parser.add_argument("--repeat", type=int, default=2,
                        help="full rollups timed (the best is reported)")
    args = parser.parse_args()
    log(f"database: {connection.vendor} {connection.settings_dict['NAME']}")
    if not args.skip_build:
        build_dataset(stores=args.stores, employees=args.employees, responses=args.responses,
                      visits=args.visits, complaints=args.complaints)
    if args.build_only:
        return
    wall, peak_mib, output = time_best_full_rollup(args.repeat)
    log(f"full rollup, best of {args.repeat}: {wall:.2f}s wall, peak RSS {peak_mib:.0f} MiB "
        f"({output})")
    first_request_after_rollup()
    store_seconds, stages = time_store_part()
    log("store part: {:.2f}s ({})".format(
        store_seconds, ", ".join(f"{k} {v:.2f}s" for k, v in stages.items())))
    hand_seconds = min(hand_sql_rollup() for _ in range(args.repeat))
    log(f"hand-written SQL store rollup, best of {args.repeat}: {hand_seconds:.2f}s")
    log(f"ratio store part / hand SQL: {store_seconds:.2f} / {hand_seconds:.2f} = "
        f"{store_seconds / hand_seconds:.2f}")
    log(f"ratio full rollup (wall) / hand SQL: {wall:.2f} / {hand_seconds:.2f} = "
        f"{wall / hand_seconds:.2f}")
    count, max_diff = compare_with_hand_sql()
    log(f"compared {count} store values with the hand SQL: max |difference| {max_diff:.6f}")
    compare_with_answers_path()
    evidence_figures()


if __name__ == "__main__":
    main()
