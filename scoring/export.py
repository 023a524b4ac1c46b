"""The HR bonus export of a published revision: what HR pays from.

XLSX (for Excel users) has three sheets: "About this export" (quarter, revision, scheme
version, publish and export time and user, the rounding and formulas), the employee sheet (one
row per employee; Excel opens on it) and the store sheet (one row per store, for store-level
bonuses). CSV is the employee sheet alone, a plain table that payroll tools read as it is: its
rows carry the quarter and revision, its file name the revision and the export time, and the
export log keeps who exported it when.

Every number is written already rounded (half up, as Excel's ROUND and a person by hand) to the
decimals its cell shows, so that a sum in Excel matches what is shown; a total is the sum of
the rounded points in its row. Everything the export writes (headers, sheet names, roles,
flags, statuses) is rendered inside the chosen language; names of people, stores and regions
are data and stay as entered. No customer data is read: only the published snapshots.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO

from django.db.models import F, OuterRef, Subquery
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from satisfaction import stats, tabular
from satisfaction.db_router import replica_reads
from satisfaction.models import EmployeeRole, User
from satisfaction.quarters import chain_zone
from satisfaction.tabular import Column, Sheet
from scoring.labels import flag_label
from scoring.models import AppraisalPoints, EmployeeScore, Rollup, RollupStatus, StoreScore

# The formats and languages of the export, with their names in the HR page's form.
FORMATS = {"xlsx": "XLSX", "csv": "CSV"}
LANGUAGES = {"zh-hans": "中文", "en": "English"}
# Decimals written and shown: points and percentages 2, the bonus factor 3 (as on the
# employee's page; it multiplies a bonus amount).
DECIMALS = 2
FACTOR_DECIMALS = 3


def rounded(value: float | None, decimals: int = DECIMALS) -> float | None:
    """``value`` as the sheets write it: ``satisfaction.stats.rounded`` (half away from zero),
    to the exports' decimals unless told."""
    return stats.rounded(value, decimals)


@dataclass(frozen=True)
class Field:
    """A column of an export sheet: the row attribute, its header, width and number format
    (``decimals`` for rounded numbers, ``whole`` for counts and ranks)."""

    attr: str
    header: str
    width: float
    decimals: int | None = None
    whole: bool = False

    def column(self) -> Column:
        number_format = "0" if self.whole else (
            "0." + "0" * self.decimals if self.decimals else "")
        return Column(str(self.header), number_format, self.width)


@dataclass
class BonusRow:
    number: str
    name: str
    store_code: str
    store_name: str
    region: str
    role: str  # the code; labelled in the export's language when written
    quarter: str
    revision: int
    value: float | None
    satisfaction_points: float | None
    financial_points: float | None
    other_points: float | None
    total: float | None
    bonus_factor: float | None
    rank_store: int | None
    rank_region: int | None
    flags: list[str]


@dataclass
class StoreRow:
    code: str
    name: str
    region: str
    value: float | None
    survey_pct: float | None
    scenario_pct: float | None
    survey_points: float | None
    scenario_points: float | None
    deductions: float | None
    n_responses: int
    n_visits: int
    n_complaints: int
    ci_low: float | None
    ci_high: float | None
    flags: list[str]
    rank_region: int | None
    rank_chain: int | None


EMPLOYEE_FIELDS = [
    Field("number", gettext_lazy("Employee number"), 12),
    # "Name" alone is a store's or a campaign's name elsewhere (名称): a person's here (姓名).
    Field("name", pgettext_lazy("person", "Name"), 12),
    Field("store_code", gettext_lazy("Store code"), 10),
    Field("store_name", gettext_lazy("Store"), 20),
    Field("region", gettext_lazy("Region"), 10),
    Field("role", gettext_lazy("Role"), 12),
    Field("quarter", gettext_lazy("Quarter"), 9),
    Field("revision", gettext_lazy("Revision"), 8, whole=True),
    Field("value", gettext_lazy("Satisfaction value"), 12, DECIMALS),
    Field("satisfaction_points", gettext_lazy("Satisfaction points"), 12, DECIMALS),
    Field("financial_points", gettext_lazy("Financial points"), 12, DECIMALS),
    Field("other_points", gettext_lazy("Other points"), 12, DECIMALS),
    Field("total", gettext_lazy("Total"), 10, DECIMALS),
    Field("bonus_factor", gettext_lazy("Bonus factor"), 10, FACTOR_DECIMALS),
    Field("rank_store", gettext_lazy("Rank in store"), 9, whole=True),
    Field("rank_region", gettext_lazy("Rank in region"), 9, whole=True),
    Field("flags", gettext_lazy("Flags"), 40),
]

STORE_FIELDS = [
    Field("code", gettext_lazy("Store code"), 10),
    Field("name", gettext_lazy("Store"), 20),
    Field("region", gettext_lazy("Region"), 10),
    Field("value", gettext_lazy("Satisfaction value"), 12, DECIMALS),
    Field("survey_pct", gettext_lazy("Sample survey %"), 11, DECIMALS),
    Field("scenario_pct", gettext_lazy("Scenario survey %"), 11, DECIMALS),
    Field("survey_points", gettext_lazy("Sample survey points"), 11, DECIMALS),
    Field("scenario_points", gettext_lazy("Scenario survey points"), 11, DECIMALS),
    Field("deductions", gettext_lazy("Complaint deductions"), 11, DECIMALS),
    Field("n_responses", gettext_lazy("Survey responses (n)"), 10, whole=True),
    Field("n_visits", gettext_lazy("Approved visits (n)"), 10, whole=True),
    Field("n_complaints", gettext_lazy("Substantiated complaints (n)"), 12, whole=True),
    Field("ci_low", gettext_lazy("95% CI low"), 10, DECIMALS),
    Field("ci_high", gettext_lazy("95% CI high"), 10, DECIMALS),
    Field("flags", gettext_lazy("Flags"), 40),
    Field("rank_region", gettext_lazy("Rank in region"), 9, whole=True),
    Field("rank_chain", gettext_lazy("Rank in chain"), 9, whole=True),
]

INFO_FIELDS = [Field("item", gettext_lazy("Item"), 34),
               Field("value", pgettext_lazy("info sheet", "Value"), 70)]


def published_rollups() -> list[Rollup]:
    """The published revision of every quarter that has one, latest quarter first."""
    return list(Rollup.objects.filter(status=RollupStatus.PUBLISHED).order_by("-quarter"))


def bonus_rows(*, rollup: Rollup) -> Iterator[BonusRow]:
    """One row per employee of the revision, with the imported appraisal points, read in
    chunks (one query; the points are a lookup of the unique (employee, quarter) row), so
    that the whole chain's sheet is written in constant memory.

    Satisfaction points are the stored ones (the engine's value × the scheme's satisfaction
    weight / 100); every figure is rounded to the decimals it is shown with; the total adds
    the rounded points of the row, so that the row adds up in Excel.
    """
    points = AppraisalPoints.objects.filter(employee_id=OuterRef("employee_id"),
                                            quarter=rollup.quarter)
    scores = (EmployeeScore.objects.filter(rollup=rollup)
              .annotate(financial=Subquery(points.values("financial_points")[:1]),
                        other=Subquery(points.values("other_points")[:1]))
              .order_by("region__code", "store__code", F("rank_store").asc(nulls_last=True),
                        "employee__number")
              .values_list("employee__number", "employee__name", "store__code",
                           "store__name", "region__name", "role", "value",
                           "satisfaction_points", "financial", "other", "bonus_factor",
                           "rank_store", "rank_region", "flags"))
    for (number, name, store_code, store_name, region, role, value, stored_points,
         financial_points, other_points, bonus, rank_store, rank_region,
         flags) in scores.iterator(chunk_size=2000):
        financial, other = rounded(financial_points), rounded(other_points)
        satisfaction = rounded(stored_points)
        parts = (satisfaction, financial, other)
        total = None if any(p is None for p in parts) else rounded(sum(parts))
        yield BonusRow(
            number=number, name=name, store_code=store_code, store_name=store_name,
            region=region, role=role, quarter=str(rollup.quarter), revision=rollup.revision,
            value=rounded(value), satisfaction_points=satisfaction, financial_points=financial,
            other_points=other, total=total, bonus_factor=rounded(bonus, FACTOR_DECIMALS),
            rank_store=rank_store, rank_region=rank_region, flags=list(flags or []))


def store_rows(*, rollup: Rollup) -> Iterator[StoreRow]:
    """One row per store of the revision: value, components, n, 95% CI, flags, ranks
    (1 query, in chunks), figures rounded to the decimals shown."""
    scores = (StoreScore.objects.filter(rollup=rollup)
              .order_by("region__code", F("rank_region").asc(nulls_last=True), "store__code")
              .values_list("store__code", "store__name", "region__name", "value", "survey_pct",
                           "scenario_pct", "survey_points", "scenario_points", "deductions",
                           "n_responses", "n_visits", "n_complaints", "ci_low", "ci_high",
                           "flags", "rank_region", "rank_chain"))
    for (code, name, region, value, survey_pct, scenario_pct, survey_points, scenario_points,
         deductions, n_responses, n_visits, n_complaints, ci_low, ci_high, flags, rank_region,
         rank_chain) in scores.iterator(chunk_size=2000):
        yield StoreRow(
            code=code, name=name, region=region, value=rounded(value),
            survey_pct=rounded(survey_pct), scenario_pct=rounded(scenario_pct),
            survey_points=rounded(survey_points), scenario_points=rounded(scenario_points),
            deductions=rounded(deductions), n_responses=n_responses, n_visits=n_visits,
            n_complaints=n_complaints, ci_low=rounded(ci_low), ci_high=rounded(ci_high),
            flags=list(flags or []), rank_region=rank_region, rank_chain=rank_chain)


def row_counts(*, rollup: Rollup) -> tuple[int, int]:
    """How many employee and store rows the revision's export has (two counts)."""
    return (EmployeeScore.objects.filter(rollup=rollup).count(),
            StoreScore.objects.filter(rollup=rollup).count())


def local_time(moment: datetime | None) -> str:
    """``2026-07-03 14:05:09+08:00``: the chain's local time with its offset (ISO 8601)."""
    if moment is None:
        return ""
    return timezone.localtime(moment, chain_zone()).isoformat(sep=" ", timespec="seconds")


def _user_name(user: User | None) -> str:
    if user is None:
        return ""
    full = user.get_full_name().strip()
    return f"{user.username} ({full})" if full else user.username


def _role_label(code: str) -> str:
    try:
        return str(EmployeeRole(code).label)
    except ValueError:
        return code


def _cells(fields: list[Field], rows: Iterable) -> Iterator[list[object]]:
    """Each row's cells in column order; roles and flags as labels in the active language
    (each label translated once per export)."""
    labels: dict[tuple[str, str], str] = {}
    for row in rows:
        cells = []
        for field in fields:
            value = getattr(row, field.attr)
            if field.attr == "flags":
                value = "; ".join(labels.setdefault(("flag", f), str(flag_label(f)))
                                  for f in value)
            elif field.attr == "role":
                value = labels.setdefault(("role", value), _role_label(value))
            cells.append(value)
        yield cells


def _info_rows(rollup: Rollup, *, exported_by: User, exported_at: datetime, employees: int,
               stores: int) -> list[tuple[str, object]]:
    scheme = rollup.scheme
    rows: list[tuple[str, object]] = [
        (_("Quarter"), str(rollup.quarter)),
        (_("Revision"), rollup.revision),
        (_("Status"), str(rollup.get_status_display())),
        (_("Scheme version"), scheme.version),
        (_("Computed at"), local_time(rollup.computed_at)),
        (_("Published at"), local_time(rollup.published_at)),
        (_("Published by"), _user_name(rollup.published_by)),
        (_("Exported by"), _user_name(exported_by)),
        (_("Exported at"), local_time(exported_at)),
        (_("Time zone of the times above"), str(chain_zone())),
        (_("Employees (rows)"), employees),
        (_("Stores (rows)"), stores),
        (_("Rounding"), _("Every number is rounded half up to the decimals shown: %(d)s, the "
                          "bonus factor %(f)s. A total is the sum of the rounded points in its "
                          "row.") % {"d": DECIMALS, "f": FACTOR_DECIMALS}),
        (_("Satisfaction points"), _("satisfaction value × %(w)s / 100")
         % {"w": f"{scheme.satisfaction_weight:g}"}),
        (_("Bonus factor"), _("max(0, 1 + %(k)s × (satisfaction value − %(t)s) / 100)")
         % {"k": f"{scheme.bonus_k:g}", "t": f"{scheme.bonus_target:g}"}),
    ]
    if rollup.reason:
        rows.append((_("Reason for the recompute"), rollup.reason))
    return rows


def export_name(*, rollup: Rollup, file_format: str, exported_at: datetime) -> str:
    """``satisfaction-bonus-2026Q2-r1-20260703-140509.xlsx``: quarter, revision, export time."""
    stamp = timezone.localtime(exported_at, chain_zone())
    return (f"satisfaction-bonus-{rollup.quarter}-r{rollup.revision}-"
            f"{stamp:%Y%m%d-%H%M%S}.{file_format}")


def content_type(file_format: str) -> str:
    return tabular.CSV_CONTENT_TYPE if file_format == "csv" else tabular.XLSX_CONTENT_TYPE


@replica_reads()  # a published revision's rows: immutable; see satisfaction.db_router
def write_export(out: BinaryIO, *, rollup: Rollup, file_format: str, language: str,
                 exported_by: User, exported_at: datetime, employees: int,
                 stores: int) -> None:
    """Write the file HR downloads into ``out``, all text in ``language``, rows streamed from
    the database (``employees`` / ``stores``: the row counts the first sheet states)."""
    with translation.override(language):
        employee_columns = [field.column() for field in EMPLOYEE_FIELDS]
        rows = bonus_rows(rollup=rollup)
        if file_format == "csv":
            tabular.write_csv(out, employee_columns, _cells(EMPLOYEE_FIELDS, rows))
            return
        info = _info_rows(rollup, exported_by=exported_by, exported_at=exported_at,
                          employees=employees, stores=stores)
        quarter = {"q": rollup.quarter}
        tabular.write_workbook(out, [
            Sheet(_("About this export"), [f.column() for f in INFO_FIELDS], info),
            Sheet(_("Bonus %(q)s") % quarter, employee_columns, _cells(EMPLOYEE_FIELDS, rows),
                  frozen_columns=2),
            Sheet(_("Stores %(q)s") % quarter, [f.column() for f in STORE_FIELDS],
                  _cells(STORE_FIELDS, store_rows(rollup=rollup)), frozen_columns=2),
        ], active=1)
