"""The HR bonus sheet: rows of a published revision, written as XLSX (for Excel users) or CSV."""

from __future__ import annotations

import io
from dataclasses import dataclass

from django.db.models import F
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from satisfaction import tabular
from satisfaction.models import EmployeeRole
from satisfaction.quarters import Quarter
from satisfaction.tabular import Column
from scoring.labels import flag_label
from scoring.models import AppraisalPoints, EmployeeScore, Rollup


@dataclass
class BonusRow:
    number: str
    name: str
    store: str
    region: str
    role: str
    quarter: str
    value: float | None
    satisfaction_points: float | None
    financial_points: float | None
    other_points: float | None
    total: float | None
    bonus_factor: float | None
    rank_store: int | None
    rank_region: int | None
    flags: list[str]


# (attribute, header, number format, width)
COLUMNS = [
    ("number", gettext_lazy("Employee number"), None, 12),
    ("name", gettext_lazy("Name"), None, 12),
    ("store", gettext_lazy("Store"), None, 24),
    ("region", gettext_lazy("Region"), None, 10),
    ("role", gettext_lazy("Role"), None, 10),
    ("quarter", gettext_lazy("Quarter"), None, 9),
    ("value", gettext_lazy("Satisfaction value"), "0.00", 12),
    ("satisfaction_points", gettext_lazy("Satisfaction points"), "0.00", 12),
    ("financial_points", gettext_lazy("Financial points"), "0.00", 12),
    ("other_points", gettext_lazy("Other points"), "0.00", 12),
    ("total", gettext_lazy("Total"), "0.00", 10),
    ("bonus_factor", gettext_lazy("Bonus factor"), "0.000", 10),
    ("rank_store", gettext_lazy("Rank in store"), "0", 9),
    ("rank_region", gettext_lazy("Rank in region"), "0", 9),
    ("flags", gettext_lazy("Flags"), None, 40),
]


def bonus_rows(*, rollup: Rollup) -> list[BonusRow]:
    """One row per employee of the revision, with the imported appraisal points (2 queries)."""
    weight = rollup.scheme.satisfaction_weight
    points = {
        employee_id: (financial, other)
        for employee_id, financial, other in AppraisalPoints.objects.filter(
            quarter=rollup.quarter).values_list("employee_id", "financial_points",
                                                "other_points")}
    roles = dict(EmployeeRole.choices)
    rows = []
    scores = (EmployeeScore.objects.filter(rollup=rollup)
              .order_by("region__code", "store__code", F("rank_store").asc(nulls_last=True),
                        "employee__number")
              .values_list("employee_id", "employee__number", "employee__name", "store__code",
                           "store__name", "region__name", "role", "value", "bonus_factor",
                           "rank_store", "rank_region", "flags"))
    for (employee_id, number, name, store_code, store_name, region, role, value, bonus,
         rank_store, rank_region, flags) in scores.iterator(chunk_size=5000):
        financial, other = points.get(employee_id, (None, None))
        satisfaction = None if value is None else round(value * weight / 100.0, 4)
        parts = (satisfaction, financial, other)
        total = None if any(p is None for p in parts) else round(sum(parts), 4)
        rows.append(BonusRow(
            number=number, name=name, store=f"{store_code} {store_name}", region=region,
            role=str(roles.get(role, role)), quarter=str(rollup.quarter), value=value,
            satisfaction_points=satisfaction, financial_points=financial, other_points=other,
            total=total, bonus_factor=bonus, rank_store=rank_store, rank_region=rank_region,
            flags=list(flags or [])))
    return rows


def _values(rows: list[BonusRow]):
    """Each row's cells in column order; flags as labels (translated once per export)."""
    labels: dict[str, str] = {}
    role_labels: dict[str, str] = {}
    for row in rows:
        cells = []
        for attr, _header, _fmt, _width in COLUMNS:
            value = getattr(row, attr)
            if attr == "flags":
                value = "; ".join(labels.setdefault(f, str(flag_label(f))) for f in value)
            elif attr == "role":
                value = role_labels.setdefault(value, str(value))
            cells.append(value)
        yield cells


def _columns() -> list[Column]:
    return [Column(str(header), number_format or "", width)
            for _attr, header, number_format, width in COLUMNS]


def write_csv(buffer: io.BytesIO, rows: list[BonusRow], *, language: str) -> None:
    with translation.override(language):
        tabular.write_csv(buffer, _columns(), _values(rows))


def write_xlsx(buffer: io.BytesIO, rows: list[BonusRow], *, language: str,
               quarter: Quarter) -> None:
    """Frozen header and first two columns, number formats, widths, a filter; headers in the
    chosen language."""
    with translation.override(language):
        tabular.write_xlsx(buffer, _columns(), _values(rows),
                           sheet=_("Bonus %(q)s") % {"q": quarter}, frozen_columns=2)
