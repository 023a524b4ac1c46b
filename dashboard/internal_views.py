"""HQ's page of its departments (internal customers, seed 000): each HQ department's internal
satisfaction (the stores' quarterly ratings, ``internal_service``) and its internal complaints
(``complaints``), for the chain and by region. HQ sees every department; a department head
their own (``satisfaction.scoping.headed_departments``)."""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from complaints.selectors import InternalFigureRow, internal_complaint_figures
from dashboard import charts
from internal_service.calc import Satisfaction
from internal_service.models import ITEMS
from internal_service.selectors import department_satisfaction
from satisfaction.db_router import replica_reads
from satisfaction.models import Department, Region, User
from satisfaction.permissions import role_required
from satisfaction.quarters import Quarter, quarter_param
from satisfaction.rules import sees_department_figures
from satisfaction.scoping import headed_departments
from scoring.selectors import quarter_options


@dataclass
class DepartmentRow:
    """One line of the department × region table: a region (or the chain, ``region`` None)."""

    department: Department
    region: Region | None
    satisfaction: Satisfaction
    complaints: InternalFigureRow


def department_rows(*, user: User, quarter: Quarter) -> tuple[list[Department], list[DepartmentRow],
                                                             dict]:
    """The departments ``user`` answers for, the table rows (per department: the chain, then
    each region with ratings or complaints) and each department's item means. Five queries."""
    departments = list(headed_departments(user))
    regions = {r.pk: r for r in Region.objects.order_by("code")}
    ratings = department_satisfaction(quarter=quarter, departments=departments)
    complaints: dict[tuple[int, int | None], InternalFigureRow] = {}
    for row in internal_complaint_figures(start=quarter.start(), end=quarter.end(),
                                          departments=departments):
        complaints[(row.department_id, row.region_id)] = row
        total = complaints.setdefault((row.department_id, None),
                                      InternalFigureRow(row.department_id, None))
        for name in ("total", "open", "overdue", "resolved", "on_time", "closed",
                     "closed_satisfied"):
            setattr(total, name, getattr(total, name) + getattr(row, name))
    rows = []
    empty = Satisfaction(0, None, None, None)
    for department in departments:
        figures = ratings[department.pk]
        rows.append(DepartmentRow(department, None, figures.chain, complaints.get(
            (department.pk, None), InternalFigureRow(department.pk, None))))
        for region_id, region in regions.items():
            shown = figures.regions.get(region_id)
            counted = complaints.get((department.pk, region_id))
            if shown is None and counted is None:
                continue
            rows.append(DepartmentRow(department, region, shown or empty,
                                      counted or InternalFigureRow(department.pk, region_id)))
    items = {d.pk: ratings[d.pk].items for d in departments}
    return departments, rows, items


@role_required(sees_department_figures)
@replica_reads()
def departments_page(request: HttpRequest) -> HttpResponse:
    options = quarter_options()
    quarter = quarter_param(request.GET, default=Quarter.current())
    departments, rows, items = department_rows(user=request.user, quarter=quarter)
    chain_rows = [r for r in rows if r.region is None]
    region_names = sorted({r.region.name for r in rows if r.region is not None})
    by_key = {(r.department.pk, r.region.name): r.satisfaction.mean
              for r in rows if r.region is not None}
    headers = [_("HQ department"), *region_names, _("Chain")]
    return render(request, "dashboard/internal_departments.html", {
        "quarter": quarter, "quarter_options": options, "rows": rows,
        "item_labels": [label for _name, label, _question in ITEMS],
        "item_rows": [(d, [items[d.pk][name] for name, _label, _q in ITEMS])
                      for d in departments],
        "chart_spec": charts.grouped_bars(
            labels=[d.name for d in departments], max_value=100,
            series=[*((name, [by_key.get((d.pk, name)) for d in departments])
                      for name in region_names),
                    (_("Chain"), [r.satisfaction.mean for r in chain_rows])]),
        "chart_headers": headers,
        "chart_rows": [(d.name, *[by_key.get((d.pk, name)) for name in region_names],
                        row.satisfaction.mean) for d, row in zip(departments, chain_rows,
                                                                 strict=True)],
    })
