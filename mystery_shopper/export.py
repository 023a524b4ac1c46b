"""The export of a quarter's visit reports (CSV or XLSX, in the user's language).

Rows are read with ``.iterator()`` and written as they come (``satisfaction.tabular``), so a
file of any size is built in constant memory: in the response when it is small
(``SMALL_EXPORT_ROWS``), by the job ``mystery_shopper.export`` (``jobs.py``) when it is not.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import BinaryIO

from django.utils import timezone
from django.utils.translation import gettext as _

from mystery_shopper import calc, rules, selectors
from mystery_shopper.models import VisitStatus
from satisfaction import tabular
from satisfaction.jobs import EXPORT_CHUNK_ROWS, EXPORT_IN_REQUEST_ROWS
from satisfaction.models import User
from satisfaction.quarters import Quarter, chain_zone

#: Exports up to this many rows are built in the request; larger ones by a job.
SMALL_EXPORT_ROWS = EXPORT_IN_REQUEST_ROWS
FORMATS = ("csv", "xlsx")
CHUNK = EXPORT_CHUNK_ROWS

_FIELDS = ("store__code", "store__name", "store__region__name", "quarter", "due_on",
           "visited_on", "shopper__username", "status", "score_pct", "purchase_points",
           "purchase_max", "process_points", "process_max", "image_points", "image_max",
           "red_line", "employee__number", "employee__name", "served_by_badge", "approved_at")


def _columns(with_shopper: bool) -> list[tabular.Column]:
    pct, points = "0.00", "0.##"
    columns = [
        tabular.Column(_("Store code"), width=10), tabular.Column(_("Store"), width=20),
        tabular.Column(_("Region"), width=12), tabular.Column(_("Quarter"), width=8),
        tabular.Column(_("Due on"), width=11), tabular.Column(_("Visit date"), width=11),
    ]
    if with_shopper:
        columns.append(tabular.Column(_("Shopper"), width=12))
    columns += [
        tabular.Column(_("Status"), width=10),
        tabular.Column(_("Score (%)"), pct, 10),
        tabular.Column(_("Mystery-shopper score (%)"), pct, 12),
        tabular.Column(_("Purchase evaluation points"), points, 12),
        tabular.Column(_("Purchase evaluation maximum"), points, 12),
        tabular.Column(_("Process points"), points, 10),
        tabular.Column(_("Process maximum"), points, 10),
        tabular.Column(_("Store image points"), points, 10),
        tabular.Column(_("Store image maximum"), points, 10),
        tabular.Column(_("Red-line failure"), width=8),
        tabular.Column(_("Served by"), width=16),
        tabular.Column(_("Approved at"), width=17),
    ]
    return columns


def _rows(values, *, with_shopper: bool,
          progress: Callable[[int], None] | None) -> Iterator[list[object]]:
    statuses = {value: str(label) for value, label in VisitStatus.choices}
    yes, no = _("Yes"), _("No")
    zone = chain_zone()
    for count, row in enumerate(values.iterator(chunk_size=CHUNK), start=1):
        data = dict(zip(_FIELDS, row, strict=True))
        scored = data["score_pct"] is not None
        figures = calc.part_figures(
            {part: data[f"{part}_points"] for part in calc.PARTS},
            {part: data[f"{part}_max"] for part in calc.PARTS},
            red_line=data["red_line"], red_line_pct=data["score_pct"]) if scored else None
        served = (f"{data['employee__number']} {data['employee__name']}"
                  if data["employee__number"] else data["served_by_badge"])
        approved = data["approved_at"]
        line: list[object] = [data["store__code"], data["store__name"],
                              data["store__region__name"], str(data["quarter"]),
                              data["due_on"].isoformat(),
                              data["visited_on"].isoformat() if data["visited_on"] else ""]
        if with_shopper:
            line.append(data["shopper__username"] or "")
        line += [statuses.get(data["status"], data["status"]),
                 _round(data["score_pct"]),
                 _round(figures.purchase_process_pct) if figures else None]
        for part in ("purchase", "process", "image"):
            line += ([_round(data[f"{part}_points"]), _round(data[f"{part}_max"])]
                     if scored else [None, None])
        line += [(yes if data["red_line"] else no) if scored else "", served,
                 timezone.localtime(approved, zone).strftime("%Y-%m-%d %H:%M")
                 if approved else ""]
        if progress is not None and count % CHUNK == 0:
            progress(count)
        yield line


def _round(value: float | None) -> float | None:
    return None if value is None else round(float(value), 2)


def export_name(quarter: Quarter, file_format: str) -> str:
    stamp = timezone.localtime(timezone.now(), chain_zone())
    return f"mystery-shopper-{quarter}-{stamp:%Y%m%d-%H%M%S}.{file_format}"


def export_count(*, user: User, quarter: Quarter) -> int:
    return selectors.visit_export_list(user=user, quarter=quarter).count()


def export_write(fh: BinaryIO, *, user: User, quarter: Quarter, file_format: str,
                 progress: Callable[[int], None] | None = None) -> int:
    """Write the visit reports of ``quarter`` that ``user`` may export to ``fh``, headers and
    labels in the active language; the shopper only for those who may see who visited
    (``rules.sees_shopper``). Returns the number of rows."""
    with_shopper = rules.sees_shopper(user)
    values = selectors.visit_export_list(user=user, quarter=quarter).values_list(*_FIELDS)
    rows = _rows(values, with_shopper=with_shopper, progress=progress)
    if file_format == "xlsx":
        return tabular.write_xlsx(fh, _columns(with_shopper), rows, sheet=str(quarter),
                                  frozen_columns=2)
    return tabular.write_csv(fh, _columns(with_shopper), rows)
