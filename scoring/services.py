"""The only functions of the scoring app that write: schemes, rollups, publishing, HR import,
HR export (which writes its log)."""

from __future__ import annotations

import io
import json
import logging
import math
import struct
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext, suppress
from dataclasses import dataclass
from itertools import repeat
from typing import BinaryIO

import numpy as np
import pandas as pd
from django.core.exceptions import ValidationError
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from satisfaction.errors import ApplicationError
from satisfaction.models import Employee, Role, User
from satisfaction.notifications import notification_send
from satisfaction.quarters import Quarter
from satisfaction.tabular import RowErrors, Table, TemplateColumn, read_tables
from scoring import engine, evidence, export, loader, rules
from scoring.models import (
    AppraisalPoints,
    EmployeeScore,
    ExportLog,
    RevisionInput,
    RevisionResponses,
    Rollup,
    RollupStatus,
    Scheme,
    StoreScore,
)
from surveys.services import response_scores_refresh

logger = logging.getLogger(__name__)

SCHEME_FIELDS = (
    "survey_points", "scenario_points", "indicator_weights", "grade_a_points", "grade_b_points",
    "grade_c_points", "min_sample", "missing_component", "warm_service_points",
    "efficacy_points", "price_points", "purchase_points", "missing_part", "financial_weight",
    "satisfaction_weight", "other_weight", "bonus_k", "bonus_target", "small_sample_adjustment",
    "shrinkage_m", "scenario_counts_image",
)


def _require_hq(user: User | None) -> None:
    if user is not None and not rules.can_compute_and_publish(user):
        raise ApplicationError(_("Only HQ customer relations may do this."),
                               code="permission_denied", status=403)


# --- Schemes ------------------------------------------------------------------------------


def scheme_current() -> Scheme:
    """The scheme new rollups use: the current version, or the default one (version 1).

    The data migration creates version 1; a database emptied since (a flush) gets it back here.
    """
    scheme = Scheme.objects.filter(is_current=True).first()
    if scheme is not None:
        return scheme
    # Two rollups at once may both get here: the loser's insert does nothing.
    Scheme.objects.bulk_create([Scheme(version=1, is_current=True, note="default")],
                               ignore_conflicts=True)
    return Scheme.objects.get(is_current=True)


@transaction.atomic
def scheme_create_version(*, user: User | None, note: str = "", **values) -> Scheme:
    """Save a new version of the scheme (validated); it becomes the current one."""
    _require_hq(user)
    unknown = set(values) - set(SCHEME_FIELDS)
    if unknown:
        raise ApplicationError(_("Unknown scheme fields: %(f)s") % {"f": ", ".join(unknown)})
    current = Scheme.objects.select_for_update().filter(is_current=True).first()
    base = {f: getattr(current, f) for f in SCHEME_FIELDS} if current else {}
    base.update(values)
    version = (Scheme.objects.aggregate(v=Max("version"))["v"] or 0) + 1
    scheme = Scheme(version=version, note=note, created_by=user, is_current=True, **base)
    if current is not None:
        current.is_current = False
        Scheme.objects.filter(pk=current.pk).update(is_current=False)
    try:
        scheme.save()
    except ValidationError as exc:
        raise ApplicationError(_("The scheme is not valid."), fields=exc.message_dict,
                               code="invalid_scheme") from exc
    return scheme


# --- Rollups ------------------------------------------------------------------------------

STORE_SCORE_FIELDS = (
    "value", "survey_pct", "survey_pct_raw", "scenario_pct", "survey_points", "scenario_points",
    "deductions", "n_responses", "n_visits", "n_complaints", "ci_low", "ci_high", "flags",
    "rank_region", "rank_chain", "indicators",
)
EMPLOYEE_SCORE_FIELDS = (
    "role", "value", "own_value", "warm_service_pct", "efficacy_pct", "price_pct",
    "purchase_pct", "warm_service_points", "efficacy_points", "price_points", "purchase_points",
    "deductions", "n_responses", "n_visits", "n_complaints", "flags", "satisfaction_points",
    "bonus_factor", "rank_store", "rank_region",
)
JSON_FIELDS = {"flags", "indicators"}


def _python_values(series: pd.Series) -> list:
    """A column as Python values (int, float, str, list, dict) with None for NaN / NA.

    A plain numpy column is converted by ``tolist`` (one C call), its NaN replaced in one
    pass: the rollup converts 115,000 rows × 25 columns, and the generic path through object
    arrays took about half a second of it."""
    if isinstance(series.dtype, np.dtype) and series.dtype.kind in "iub":
        return series.tolist()
    if isinstance(series.dtype, np.dtype) and series.dtype.kind == "f":
        return [None if math.isnan(value) else value for value in series.tolist()]
    values = series.astype(object)
    return values.where(series.notna(), None).tolist() if series.dtype != object else [
        None if (v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v))) else v
        for v in values.tolist()]


def _json_texts(values: list) -> list[str]:
    """Each value as its JSON text, each distinct value encoded once: most rows share a few
    (the flags of 100,000 employees are nearly all ``[]``). Values are JSON types, for which
    equal ``repr`` means equal JSON."""
    texts: dict[str, str] = {}
    out = []
    for value in values:
        key = repr(value)
        text = texts.get(key)
        if text is None:
            text = texts[key] = json.dumps(value, ensure_ascii=False)
        out.append(text)
    return out


def _columns(frame: pd.DataFrame, key: str, fields: tuple[str, ...],
             extra: dict[str, pd.Series], *, json_text: bool = False) -> dict[str, list]:
    """The key, the extra columns and the fields, in that order, by name (the attnames the
    rows are written under), as lists of Python values; the JSON fields as their JSON text
    when ``json_text`` (COPY)."""
    series = {key: frame[key], **extra, **{name: frame[name] for name in fields}}
    return {name: _json_texts(_python_values(column)) if json_text and name in JSON_FIELDS
            else _python_values(column) for name, column in series.items()}


TABLES = {StoreScore: "scoring_storescore", EmployeeScore: "scoring_employeescore"}


def _write_rows(model, *, rollup: Rollup, key: str, frame: pd.DataFrame,
                fields: tuple[str, ...], extra: dict[str, pd.Series]) -> int:
    """Bulk write a frame's rows: COPY on PostgreSQL, bulk_create elsewhere.

    Column names are the fields' attnames (``store_id`` for the ``store`` foreign key).
    """
    count = len(frame)
    if connection.vendor == "postgresql":
        table = TABLES[model]
        values = _columns(frame, key, fields, extra, json_text=True)
        columns = ["rollup_id", "quarter", *values]
        with connection.cursor() as cursor:
            raw = cursor.cursor
            sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN"  # names are ours
            with raw.copy(sql) as copy:
                for row in zip(repeat(rollup.pk), repeat(str(rollup.quarter)),
                               *values.values()):
                    copy.write_row(row)
        return count
    values = _columns(frame, key, fields, extra)
    objects = [model(rollup=rollup, quarter=rollup.quarter, **dict(zip(values, row, strict=True)))
               for row in zip(*values.values(), strict=True)]
    model.objects.bulk_create(objects, batch_size=1000)
    return count


INPUT_TABLE = "scoring_revisioninput"
INPUT_FIELDS = ("kind", "object_id", "store_id", "employee_id", "figure", "employee_figure")
# PostgreSQL's binary COPY: each field is its length (int32) and big-endian value.
INPUT_BINARY_TYPES = (">i2", ">i8", ">i8", ">i8", ">f8", ">f8")


_PG_BINARY_HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
_PG_BINARY_TRAILER = struct.pack(">h", -1)
# Rows per binary block: the block and its record arrays stay tens of MiB, not the
# hundreds a quarter's million inputs would take at once (the rollup's peak memory).
_INPUT_BLOCK_ROWS = 200_000


def _pg_binary_rows(frame: pd.DataFrame, rollup_id: int) -> bytes:
    """The frame's rows in PostgreSQL's binary COPY format (no header or trailer), built by
    numpy (no Python loop per row). Rows with the same empty columns share a record layout,
    so each such group is one structured array."""
    out = []
    empty = {name: frame[name].isna().to_numpy() for name in INPUT_FIELDS}
    pattern = np.zeros(len(frame), dtype=np.int64)
    for bit, name in enumerate(INPUT_FIELDS):
        pattern |= empty[name].astype(np.int64) << bit
    for layout in np.unique(pattern):
        rows = frame[pattern == layout]
        fields = [("n", ">i2"), ("rollup_len", ">i4"), ("rollup", ">i8")]
        for bit, (name, kind) in enumerate(zip(INPUT_FIELDS, INPUT_BINARY_TYPES, strict=True)):
            fields.append((f"{name}_len", ">i4"))
            if not (layout >> bit) & 1:
                fields.append((name, kind))
        records = np.empty(len(rows), dtype=fields)
        records["n"] = 1 + len(INPUT_FIELDS)
        records["rollup_len"], records["rollup"] = 8, rollup_id
        for bit, (name, kind) in enumerate(zip(INPUT_FIELDS, INPUT_BINARY_TYPES, strict=True)):
            if (layout >> bit) & 1:
                records[f"{name}_len"] = -1
            else:
                records[f"{name}_len"] = np.dtype(kind).itemsize
                records[name] = rows[name].to_numpy(
                    dtype="float64" if kind == ">f8" else "int64")
        out.append(records.tobytes())
    return b"".join(out)


def _write_inputs(*, rollup: Rollup, frame: pd.DataFrame) -> int:
    """Freeze the inputs the revision counted (how many): the survey responses grouped per
    store and employee (``_write_response_groups``); the visits and complaints one row each,
    by one binary COPY on PostgreSQL, in key order (the primary key's index is filled from
    left to right) and in blocks, bulk_create elsewhere."""
    responses = (frame["kind"] == evidence.RESPONSE).to_numpy()
    written = _write_response_groups(rollup=rollup,
                                     groups=evidence.response_groups(frame[responses]))
    frame = frame[~responses]
    if connection.vendor == "postgresql":
        order = np.lexsort((frame["object_id"].to_numpy(dtype="int64"),
                            frame["kind"].to_numpy(dtype="int64"),
                            frame["store_id"].to_numpy(dtype="int64")))
        with connection.cursor() as cursor, cursor.cursor.copy(
                f"COPY {INPUT_TABLE} (rollup_id, {', '.join(INPUT_FIELDS)}) "
                "FROM STDIN (FORMAT BINARY)") as copy:
            copy.write(_PG_BINARY_HEADER)
            for start in range(0, len(order), _INPUT_BLOCK_ROWS):
                block = frame.iloc[order[start:start + _INPUT_BLOCK_ROWS]]
                copy.write(_pg_binary_rows(block, rollup.pk))
            copy.write(_PG_BINARY_TRAILER)
        return written + len(frame)
    columns = [_python_values(frame[f]) for f in INPUT_FIELDS]
    RevisionInput.objects.bulk_create(
        (RevisionInput(rollup=rollup, **dict(zip(INPUT_FIELDS, row, strict=True)))
         for row in zip(*columns, strict=True)), batch_size=5000)
    return written + len(frame)


def _write_response_groups(*, rollup: Rollup, groups: list[evidence.ResponseGroup]) -> int:
    """Freeze counted responses grouped by ``evidence.response_groups`` (the frame's way:
    SQLite, or frames given to the rollup); how many responses."""
    RevisionResponses.objects.bulk_create(
        (RevisionResponses(rollup=rollup, store_id=store_id,
                           employee_key=employee_id or RevisionResponses.NO_EMPLOYEE,
                           response_ids=ids, figures=figures)
         for store_id, employee_id, ids, figures in groups), batch_size=2000)
    return sum(len(ids) for _store, _employee, ids, _figures in groups)


RESPONSES_TABLE = "scoring_revisionresponses"

# The load staged the counted responses grouped per store and the employee named
# (``loader.STAGED_RESPONSES``). The evidence names only who gets a value: a group of a store
# without one is left out; a group naming an employee without one joins its store's group of
# no employee (key 0; rare: someone who left with their store, or moved to a closed one).
# Written in key order, so the primary key's index is filled from left to right.
_WRITE_STAGED_SQL = """
WITH staged AS MATERIALIZED (
    SELECT store_id, employee_id, response_ids, scores,
           employee_id IS NOT NULL AND NOT employee_id = ANY(%(employees)s::bigint[]) AS dropped
    FROM {table} WHERE store_id = ANY(%(stores)s::bigint[])
), merged AS (
    SELECT DISTINCT store_id FROM staged WHERE dropped
), grouped AS (
    SELECT store_id, employee_id, response_ids, scores FROM staged
    WHERE NOT dropped AND NOT (employee_id IS NULL AND store_id IN (SELECT store_id FROM merged))
    UNION ALL
    SELECT s.store_id, NULL, array_agg(x.id), array_agg(x.score)
    FROM staged s CROSS JOIN LATERAL unnest(s.response_ids, s.scores) AS x(id, score)
    WHERE (s.dropped OR s.employee_id IS NULL) AND s.store_id IN (SELECT store_id FROM merged)
    GROUP BY s.store_id
), written AS (
    INSERT INTO {responses} (rollup_id, store_id, employee_key, response_ids, figures)
    SELECT %(rollup)s, store_id, COALESCE(employee_id, 0), response_ids, scores FROM grouped
    ORDER BY store_id, COALESCE(employee_id, 0)
    RETURNING cardinality(response_ids) AS n
)
SELECT COALESCE(SUM(n), 0) FROM written
"""


def _write_staged_responses(*, rollup: Rollup, table: str,
                            members: tuple[list[int], list[int]]) -> int:
    """Freeze the counted responses the load staged (``loader.STAGED_RESPONSES``, PostgreSQL:
    one row per store and employee named, the ids and scores as arrays) with one ``INSERT …
    SELECT`` in the database, as ``evidence.counted_inputs`` and ``response_groups`` would from
    the frame: only the stores that get a value; the employee only when they get one (none
    when the responses name no one, name who keyed them in, or name someone without a value).
    About 115,000 rows for a million responses at chain scale; how many responses."""
    store_ids, employee_ids = members
    with connection.cursor() as cursor:
        # The arrays of the few merged groups are built in memory (ends with the rollup's
        # transaction); a plan this simple gains nothing from JIT compilation.
        cursor.execute("SET LOCAL work_mem = '256MB'")
        cursor.execute("SET LOCAL jit = off")
        cursor.execute(_WRITE_STAGED_SQL.format(table=table, responses=RESPONSES_TABLE),
                       {"rollup": rollup.pk, "stores": store_ids, "employees": employee_ids})
        return int(cursor.fetchone()[0])


def rollup_refusal(*, quarter: Quarter, reason: str) -> ApplicationError | None:
    """Why a rollup of the quarter would be refused (None: it would run): a quarter whose
    published revision is its latest is locked, and recomputing it needs a reason. The
    rollup page asks before it starts the job; the rollup itself asks again."""
    if reason.strip():
        return None
    statuses = set(Rollup.objects.filter(quarter=quarter).values_list("status", flat=True))
    if RollupStatus.PUBLISHED in statuses and RollupStatus.PROVISIONAL not in statuses:
        return ApplicationError(
            _("%(q)s is published and locked: give a reason to make a new revision.")
            % {"q": quarter}, fields={"reason": [_("A reason is required.")]},
            code="quarter_locked", status=409)
    return None


def _rollup_to_fill(*, quarter: Quarter, scheme: Scheme, user: User | None,
                    reason: str) -> Rollup:
    """The quarter's provisional revision, locked; created (next revision) when there is none.

    A quarter whose published revision is its latest is locked: recomputing it needs a reason
    and makes a new provisional revision beside the published one.
    """
    for _attempt in range(3):
        rollup = (Rollup.objects.select_for_update()
                  .filter(quarter=quarter, status=RollupStatus.PROVISIONAL).first())
        if rollup is not None:
            if reason:
                rollup.reason = reason
            return rollup
        refusal = rollup_refusal(quarter=quarter, reason=reason)
        if refusal is not None:
            raise refusal
        revision = (Rollup.objects.filter(quarter=quarter).aggregate(r=Max("revision"))["r"]
                    or 0) + 1
        try:
            with transaction.atomic():
                return Rollup.objects.create(
                    quarter=quarter, revision=revision, scheme=scheme, reason=reason.strip(),
                    computed_at=timezone.now(), computed_by=user)
        except IntegrityError:
            # Another rollup of the quarter created it at the same moment: use theirs.
            continue
    raise ApplicationError(_("The quarter is being rolled up by another process; try again."),
                           code="busy", status=409)


# The stages of a rollup as it reports its progress (``rollup_quarter(progress=...)``).
ROLLUP_STAGES = ("load", "compute", "evidence", "inputs", "stores", "employees", "save")


@dataclass
class RollupOutcome:
    rollup: Rollup
    stores: int
    employees: int
    seconds: float
    stages: dict[str, float]
    inputs: int = 0


def rollup_quarter(*, quarter: Quarter, user: User | None = None, reason: str = "",
                   data: engine.EngineInput | None = None,
                   progress: Callable[[int, int], None] | None = None) -> RollupOutcome:
    """Compute the quarter's store and employee values and store them as its snapshot, with
    the inputs each value counted and what each contributed (``RevisionInput`` and
    ``RevisionResponses``, frozen: the trace of the revision lists them whatever arrives
    later).

    Idempotent: the quarter's provisional revision is recomputed in place (its rows replaced
    under a row lock), so running it twice, or twice at once, leaves one set of rows.
    ``data`` lets tests pass frames directly; otherwise ``loader.load`` reads the input apps.
    ``progress(done, total)`` is told each stage done (``ROLLUP_STAGES``; a job's progress
    bar): it only reports, it changes nothing.
    """
    _require_hq(user)
    total = len(ROLLUP_STAGES)

    def report(stage: str) -> None:
        if progress is not None:
            progress(ROLLUP_STAGES.index(stage) + 1, total)

    if progress is not None:
        progress(0, total)
    started = time.perf_counter()
    scheme = scheme_current()
    given = data is not None
    try:
        outcome = _rollup_compute_and_write(
            quarter=quarter, user=user, reason=reason, data=data, scheme=scheme, report=report,
            started=started)
    except BaseException:
        if not given:
            with suppress(DatabaseError):  # the error already raised is the one to report
                loader.staged_responses_drop()
        raise
    if not given:
        # The counted responses the load staged in the session's table, now written.
        loader.staged_responses_drop()
    return outcome


def _rollup_compute_and_write(*, quarter: Quarter, user: User | None, reason: str,
                              data: engine.EngineInput | None, scheme: Scheme,
                              report: Callable[[str], None], started: float) -> RollupOutcome:
    """``rollup_quarter`` once the scheme is chosen: load (unless ``data``), compute, freeze
    the evidence and write the snapshot in one transaction, analyze."""
    params = scheme.to_params()
    data, rescored = (data, started) if data is not None else _load_inputs(
        quarter=quarter, params=params)
    staged = getattr(data, "staged_responses", None)
    response_members = loader.members(data) if staged else None
    loaded = time.perf_counter()
    report("load")
    result = engine.compute(data, params)
    computed = time.perf_counter()
    report("compute")
    inputs = evidence.counted_inputs(data, params, getattr(data, "responses", None),
                                     result.visits)
    del data  # the frames: the values and the evidence are all that is left
    evidence_seconds = time.perf_counter() - computed
    report("evidence")
    with transaction.atomic():
        rollup = _rollup_to_fill(quarter=quarter, scheme=scheme, user=user, reason=reason)
        StoreScore.objects.filter(rollup=rollup).delete()
        EmployeeScore.objects.filter(rollup=rollup).delete()
        started_evidence = time.perf_counter()
        RevisionInput.objects.filter(rollup=rollup).delete()
        RevisionResponses.objects.filter(rollup=rollup).delete()
        input_count = _write_inputs(rollup=rollup, frame=inputs)
        del inputs  # written: the snapshot rows are built without them in memory
        if staged:
            input_count += _write_staged_responses(rollup=rollup, table=staged,
                                                   members=response_members)
        evidence_seconds += time.perf_counter() - started_evidence
        report("inputs")
        stores = result.stores
        region_of = stores.set_index("store_id")["region_id"]
        store_count = _write_rows(StoreScore, rollup=rollup, key="store_id", frame=stores,
                                  fields=STORE_SCORE_FIELDS,
                                  extra={"region_id": stores["region_id"]})
        report("stores")
        employees = result.employees
        employee_count = _write_rows(
            EmployeeScore, rollup=rollup, key="employee_id", frame=employees,
            fields=EMPLOYEE_SCORE_FIELDS,
            extra={"store_id": employees["store_id"],
                   "region_id": employees["store_id"].map(region_of)})
        report("employees")
        for name, value in {"scheme": scheme, "computed_at": timezone.now(),
                            "computed_by": user, "store_count": store_count,
                            "employee_count": employee_count, "evidence_recorded": True,
                            "seconds": round(time.perf_counter() - started, 3)}.items():
            setattr(rollup, name, value)
        rollup.save()
    written = time.perf_counter()
    _analyze_snapshot()
    report("save")
    stages = {"rescore": round(rescored - started, 3), "load": round(loaded - rescored, 3),
              "compute": round(computed - loaded, 3),
              "write": round(written - computed - evidence_seconds, 3),
              "evidence": round(evidence_seconds, 3),
              "analyze": round(time.perf_counter() - written, 3)}
    logger.info("scoring: rolled up %s r%s: %s stores, %s employees, %s counted inputs in "
                "%.2fs %s", quarter, rollup.revision, store_count, employee_count, input_count,
                rollup.seconds, stages)
    return RollupOutcome(rollup=rollup, stores=store_count, employees=employee_count,
                         seconds=rollup.seconds, stages=stages, inputs=input_count)


def _load_inputs(*, quarter: Quarter, params: engine.SchemeParams
                 ) -> tuple[engine.EngineInput, float]:
    """The quarter's input frames, and the moment the rescoring before them ended.

    Responses kept under other weights (HQ reweighted) are scored again first, so the load
    reads one kept score per response (docs/architecture.md, "Survey tallies")."""
    response_scores_refresh(quarter=quarter, weights=params.indicator_weights)
    rescored = time.perf_counter()
    return loader.load(quarter=quarter, weights=params.indicator_weights,
                       stage_responses=True), rescored


def _analyze_snapshot() -> None:
    """Fresh planner statistics for the snapshot tables the dashboards read (PostgreSQL).

    Autovacuum would get to them a while later; until then the planner guesses a couple of
    rows per revision and the first dashboard requests after a rollup pick nested loops over
    15,000 stores (``bench/dashboard.py`` measures the first request against the fiftieth).
    """
    if connection.vendor != "postgresql":
        return
    tables = ", ".join(f"{model._meta.db_table} ({', '.join(columns)})"  # noqa: SLF001
                       for model, columns in _ANALYZED_COLUMNS.items())
    with connection.cursor() as cursor:
        # Not the evidence table: a trace reads it by its primary key whatever the
        # statistics say, and sampling it costs seconds at chain scale.
        cursor.execute(f"ANALYZE {tables}")


#: The snapshot columns the dashboards, rankings and exports filter, join and sort on: the
#: ANALYZE after a rollup refreshes these (and the tables' row counts). The JSON and
#: per-indicator columns are only read, never searched; sampling them too took 0.65-0.70 s
#: instead of 0.28-0.34 s at chain scale, and autovacuum's own ANALYZE covers them later.
_ANALYZED_COLUMNS = {
    StoreScore: ("rollup_id", "store_id", "region_id", "quarter", "value", "rank_region",
                 "rank_chain"),
    EmployeeScore: ("rollup_id", "employee_id", "store_id", "region_id", "quarter", "value",
                    "role", "rank_region", "rank_store"),
}


def _publish_refusals(quarter: Quarter) -> list[ApplicationError]:
    """Why the quarter cannot be published now, each as the error the service raises (the
    first one): still running, already published with nothing new to publish, never rolled up,
    appeals still open."""
    refusals = []
    if quarter.end() > timezone.now():
        refusals.append(ApplicationError(
            _("%(q)s has not ended yet; it cannot be published.") % {"q": quarter},
            code="quarter_running", status=409))
    statuses = set(Rollup.objects.filter(quarter=quarter).values_list("status", flat=True))
    if RollupStatus.PROVISIONAL not in statuses:
        if RollupStatus.PUBLISHED in statuses:
            refusals.append(ApplicationError(
                _("%(q)s is already published.") % {"q": quarter},
                code="already_published", status=409))
        else:
            refusals.append(ApplicationError(
                _("%(q)s has no provisional revision: recompute it first.") % {"q": quarter},
                code="not_rolled_up", status=409))
    open_by_app = loader.open_appeals_exist(quarter=quarter)
    labels = {"mystery_shopper": _("mystery-shopper visits"), "complaints": _("complaints")}
    still_open = [str(labels[app]) for app, is_open in open_by_app.items() if is_open]
    if still_open:
        refusals.append(ApplicationError(
            _("Appeals on %(what)s of %(q)s are still open; decide them first.")
            % {"what": ", ".join(still_open), "q": quarter}, code="open_appeals", status=409))
    return refusals


def publish_blockers(quarter: Quarter) -> list[str]:
    """Every reason the quarter cannot be published now (empty: it can): the checks
    ``quarter_publish`` refuses with, for the confirmation page to show beside a disabled
    button."""
    return [refusal.message for refusal in _publish_refusals(quarter)]


def quarter_publish(*, quarter: Quarter, user: User | None,
                    progress: Callable[[int, int], None] | None = None) -> Rollup:
    """Recompute the quarter's provisional revision with the latest data and lock it.

    Refused (``publish_blockers``) while the quarter is still running, has no provisional
    revision (never rolled up, or already published) or any appeal on it is open; the
    revision it replaces (if any) becomes superseded. ``progress`` follows the recompute.
    """
    _require_hq(user)
    refusals = _publish_refusals(quarter)
    if refusals:
        raise refusals[0]
    rollup_quarter(quarter=quarter, user=user, progress=progress)
    with transaction.atomic():
        rollup = (Rollup.objects.select_for_update()
                  .filter(quarter=quarter, status=RollupStatus.PROVISIONAL).first())
        if rollup is None:
            raise ApplicationError(_("%(q)s is already published.") % {"q": quarter},
                                   code="already_published", status=409)
        # An appeal opened during the recompute still blocks.
        appeals = [r for r in _publish_refusals(quarter) if r.code == "open_appeals"]
        if appeals:
            raise appeals[0]
        Rollup.objects.filter(quarter=quarter, status=RollupStatus.PUBLISHED).update(
            status=RollupStatus.SUPERSEDED)
        rollup.status = RollupStatus.PUBLISHED
        rollup.published_at = timezone.now()
        rollup.published_by = user
        rollup.save(update_fields=["status", "published_at", "published_by"])
        hr_users = User.objects.filter(role=Role.HR, is_active=True)
        notification_send(
            users=hr_users, kind="scoring_published",
            title=_("Satisfaction values of %(q)s are published") % {"q": quarter},
            body=_("Revision %(r)s is locked and ready for the bonus export.")
            % {"r": rollup.revision}, url=f"/scoring/?quarter={quarter}")
    return rollup


# --- HR appraisal import ------------------------------------------------------------------

APPRAISAL_ALIASES = {
    "工号": "employee_number", "员工编号": "employee_number", "employee": "employee_number",
    "number": "employee_number", "employee_no": "employee_number",
    "季度": "quarter", "考核季度": "quarter",
    "财务指标": "financial_points", "财务得分": "financial_points",
    "财务指标得分": "financial_points",
    "financial": "financial_points",
    "其他指标": "other_points", "其他得分": "other_points", "其他指标得分": "other_points",
    "other": "other_points",
}
APPRAISAL_COLUMNS = ("employee_number", "quarter", "financial_points", "other_points")


def appraisal_template_columns() -> list[TemplateColumn]:
    """The columns of the appraisal template, headed in the active language (the import reads
    either language's headers: ``APPRAISAL_ALIASES``)."""
    scheme = scheme_current()
    return [
        TemplateColumn(key="employee_number", header=_("Employee number"), example="E10001",
                       note=_("As in the chain's staff list.")),
        TemplateColumn(key="quarter", header=_("Quarter"), example=str(Quarter.current()),
                       note=_("A quarter like 2026Q4.")),
        TemplateColumn(key="financial_points", header=_("Financial points"), example="45",
                       note=_("A number from 0 to %(max)s.")
                       % {"max": f"{scheme.financial_weight:g}"}),
        TemplateColumn(key="other_points", header=_("Other points"), example="18",
                       note=_("A number from 0 to %(max)s.")
                       % {"max": f"{scheme.other_weight:g}"}),
    ]


def _number_text(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _points(value: object, maximum: float) -> float:
    points = float(str(value).strip())
    if not math.isfinite(points) or points < 0 or points > maximum:
        raise ValueError(points)
    return points


APPRAISAL_CREATE, APPRAISAL_UPDATE, APPRAISAL_UNCHANGED = "create", "update", "unchanged"


@dataclass
class AppraisalRow:
    """One valid row of an appraisal file and what importing it does."""

    table: str
    row: int
    number: str
    quarter: Quarter
    financial: float
    other: float
    action: str  # APPRAISAL_CREATE / _UPDATE / _UNCHANGED
    employee_id: int


@dataclass
class AppraisalImportOutcome:
    """What an import did, or (``dry_run``) would do: rows created, updated, left unchanged."""

    dry_run: bool
    rows: list[AppraisalRow]

    def count(self, action: str) -> int:
        return sum(1 for row in self.rows if row.action == action)

    @property
    def created(self) -> int:
        return self.count(APPRAISAL_CREATE)

    @property
    def updated(self) -> int:
        return self.count(APPRAISAL_UPDATE)

    @property
    def unchanged(self) -> int:
        return self.count(APPRAISAL_UNCHANGED)


def _appraisal_row(table: Table, number: int, row: dict, *, scheme: Scheme,
                   employees: dict[str, int], parsed: dict[tuple[str, Quarter], AppraisalRow],
                   errors: RowErrors) -> AppraisalRow | None:
    """One row checked cell by cell: every bad cell is added to ``errors`` (named by the
    file's own header); the row when all its cells are good."""
    bad = len(errors.errors)
    emp_number = _number_text(row.get("employee_number", ""))
    employee_id = employees.get(emp_number)
    if employee_id is None:
        errors.add(table.name, number, table.header_label("employee_number"),
                   _("unknown employee %(n)s") % {"n": emp_number or "-"})
    try:
        quarter = Quarter.parse(_number_text(row.get("quarter", "")))
    except ValueError:
        quarter = None
        errors.add(table.name, number, table.header_label("quarter"),
                   _("not a quarter like 2026Q4"))
    values = []
    for column, maximum in (("financial_points", scheme.financial_weight),
                            ("other_points", scheme.other_weight)):
        try:
            values.append(_points(row.get(column, ""), maximum))
        except ValueError:
            errors.add(table.name, number, table.header_label(column),
                       _("a number from 0 to %(max)s") % {"max": f"{maximum:g}"})
    if quarter is not None and (emp_number, quarter) in parsed:
        errors.add(table.name, number, table.header_label("employee_number"),
                   _("employee %(n)s appears twice for %(q)s") % {"n": emp_number, "q": quarter})
    if len(errors.errors) > bad:
        return None
    return AppraisalRow(table=table.name, row=number, number=emp_number, quarter=quarter,
                        financial=values[0], other=values[1], action=APPRAISAL_CREATE,
                        employee_id=employee_id)


def appraisal_import(*, user: User, file_name: str, content: bytes,
                     dry_run: bool = False) -> AppraisalImportOutcome:
    """Import financial and other points per employee and quarter; all rows or none.

    Every bad cell of every row is reported, by its row number and the header the file uses;
    any error imports nothing. A row replaces the points already imported for the same
    employee and quarter (``update``); the same points are ``unchanged`` and not rewritten.
    ``dry_run``: check everything and say what would happen, write nothing.
    """
    if not rules.can_use_hr_tools(user):
        raise ApplicationError(_("Only HR and HQ may import appraisal points."),
                               code="permission_denied", status=403)
    scheme = scheme_current()
    tables = read_tables(file_name, content, APPRAISAL_ALIASES)
    errors = RowErrors()
    headers = {column.key: str(column.header) for column in appraisal_template_columns()}
    wanted: list[tuple[Table, int, dict]] = []
    for table in tables:
        missing = [c for c in APPRAISAL_COLUMNS if c not in table.headers]
        for column in missing:
            errors.add(table.name, 1, headers[column], _("required column is missing"))
        if not missing:
            wanted.extend((table, number, row) for number, row in table.rows)
    numbers = {_number_text(row.get("employee_number", "")) for _t, _n, row in wanted}
    employees = dict(Employee.objects.filter(number__in=numbers).values_list("number", "pk"))
    parsed: dict[tuple[str, Quarter], AppraisalRow] = {}
    for table, number, row in wanted:
        item = _appraisal_row(table, number, row, scheme=scheme, employees=employees,
                              parsed=parsed, errors=errors)
        if item is not None:
            parsed[(item.number, item.quarter)] = item
    if not wanted and not errors:
        errors.add(tables[0].name if tables else file_name, 1, "", _("the file has no rows"))
    errors.raise_if_any(_("Nothing was imported: correct these rows and upload again."))
    existing = {
        (employee_id, quarter): (financial, other)
        for employee_id, quarter, financial, other in AppraisalPoints.objects.filter(
            employee_id__in={r.employee_id for r in parsed.values()},
            quarter__in={r.quarter for r in parsed.values()}).values_list(
            "employee_id", "quarter", "financial_points", "other_points")}
    for item in parsed.values():
        before = existing.get((item.employee_id, item.quarter))
        if before is not None:
            item.action = (APPRAISAL_UNCHANGED if before == (item.financial, item.other)
                           else APPRAISAL_UPDATE)
    rows = sorted(parsed.values(), key=lambda r: (r.table, r.row))
    outcome = AppraisalImportOutcome(dry_run=dry_run, rows=rows)
    if dry_run:
        return outcome
    with transaction.atomic():
        AppraisalPoints.objects.bulk_create(
            [AppraisalPoints(employee_id=r.employee_id, quarter=r.quarter,
                             financial_points=r.financial, other_points=r.other,
                             imported_by=user)
             for r in rows if r.action != APPRAISAL_UNCHANGED],
            batch_size=1000, update_conflicts=True, unique_fields=["employee", "quarter"],
            update_fields=["financial_points", "other_points", "imported_at", "imported_by"])
    return outcome


# --- HR export ----------------------------------------------------------------------------


@dataclass
class HrExportOutcome:
    name: str
    content_type: str
    rows: int
    log: ExportLog


@transaction.atomic
def hr_export_write(*, user: User, quarter: Quarter, file_format: str, language: str,
                    output: Callable[[str], AbstractContextManager[BinaryIO]]
                    ) -> HrExportOutcome:
    """Write the bonus sheet of the quarter's published revision (``scoring.export``) into
    ``output(file name)`` (a job's output file, or a buffer); every export is logged, and the
    sheet states the log's time as its export time."""
    if not rules.can_use_hr_tools(user):
        raise ApplicationError(_("Only HR and HQ may export scores."),
                               code="permission_denied", status=403)
    if file_format not in export.FORMATS:
        raise ApplicationError(_("Choose XLSX or CSV."), fields={"format": [_("xlsx or csv")]})
    if language not in export.LANGUAGES:
        raise ApplicationError(_("Choose Chinese or English."),
                               fields={"language": [_("zh-hans or en")]})
    rollup = (Rollup.objects.select_related("scheme", "published_by")
              .filter(quarter=quarter, status=RollupStatus.PUBLISHED).first())
    if rollup is None:
        raise ApplicationError(_("%(q)s is not published yet.") % {"q": quarter},
                               code="not_published", status=409)
    employees, stores = export.row_counts(rollup=rollup)
    log = ExportLog.objects.create(user=user, quarter=quarter, rollup=rollup,
                                   file_format=file_format, language=language,
                                   row_count=employees)
    name = export.export_name(rollup=rollup, file_format=file_format, exported_at=log.at)
    with output(name) as out:
        export.write_export(out, rollup=rollup, file_format=file_format, language=language,
                            exported_by=user, exported_at=log.at, employees=employees,
                            stores=stores)
    return HrExportOutcome(name=name, content_type=export.content_type(file_format),
                           rows=employees, log=log)


def hr_export(*, user: User, quarter: Quarter, file_format: str, language: str) -> tuple[
        str, bytes, str]:
    """The bonus sheet in memory: (file name, content, content type); ``hr_export_write``
    writes it (the HR page runs it as a job into a file)."""
    buffer = io.BytesIO()
    outcome = hr_export_write(user=user, quarter=quarter, file_format=file_format,
                              language=language, output=lambda _name: nullcontext(buffer))
    return outcome.name, buffer.getvalue(), outcome.content_type
