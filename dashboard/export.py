"""The ranking export: the store list as CSV or XLSX, the same rows as the page.

The rows are the page's query (``selectors.ranking``: the user's scope and the page's filters,
in the page's order), read as plain tuples in chunks (``.iterator``) and written as they come,
so that 15,000 stores take the memory of one chunk, not of the chain. Headers, the revision's
state and the sheet's name are in the active language (the request's, or the job's starter's);
names of stores, regions and cities are data and stay as entered. Numbers are rounded half up
to two decimals, as in the HR export (``scoring.export.rounded``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import IO

from django.db.models import QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from satisfaction import tabular
from satisfaction.jobs import EXPORT_CHUNK_ROWS
from scoring.export import Field, rounded
from scoring.models import Rollup, StoreScore

FORMATS = ("csv", "xlsx")
CONTENT_TYPES = {"csv": tabular.CSV_CONTENT_TYPE, "xlsx": tabular.XLSX_CONTENT_TYPE}
#: Rows read from the database at a time (and between two progress reports).
CHUNK_SIZE = EXPORT_CHUNK_ROWS

# (the snapshot's column or lookup, its field). Percentages and points as on the page.
RANKING_FIELDS = [
    ("rank_chain", Field("rank_chain", gettext_lazy("Rank in chain"), 8, whole=True)),
    ("rank_region", Field("rank_region", gettext_lazy("Rank in region"), 8, whole=True)),
    ("store__code", Field("store_code", gettext_lazy("Store code"), 10)),
    ("store__name", Field("store_name", gettext_lazy("Store name"), 24)),
    ("region__name", Field("region", gettext_lazy("Region"), 12)),
    ("store__city", Field("city", gettext_lazy("City"), 10)),
    ("value", Field("value", gettext_lazy("Satisfaction value"), 10, decimals=2)),
    ("survey_pct", Field("survey_pct", gettext_lazy("Sample survey %"), 10, decimals=2)),
    ("scenario_pct", Field("scenario_pct", gettext_lazy("Scenario survey %"), 10,
                           decimals=2)),
    ("deductions", Field("deductions", gettext_lazy("Complaint deductions"), 10, decimals=2)),
    ("n_responses", Field("n_responses", gettext_lazy("Survey responses"), 9, whole=True)),
    ("n_visits", Field("n_visits", gettext_lazy("Mystery-shopper visits"), 9, whole=True)),
    ("n_complaints", Field("n_complaints", pgettext_lazy("count", "Complaints"), 9, whole=True)),
]
# What every row repeats: which quarter, revision and state the values are (a file read
# alone, or pasted beside another quarter's, still says so).
REVISION_FIELDS = [
    Field("quarter", gettext_lazy("Quarter"), 8),
    Field("revision", gettext_lazy("Revision"), 8, whole=True),
    Field("status", gettext_lazy("State of the revision"), 16),
]


def columns() -> list[tabular.Column]:
    """The export's columns, headed in the active language."""
    return [field.column() for _lookup, field in RANKING_FIELDS] + [
        field.column() for field in REVISION_FIELDS]


def file_name(*, rollup: Rollup, file_format: str) -> str:
    return f"store-ranking-{rollup.quarter}-r{rollup.revision}.{file_format}"


def ranking_cells(*, rollup: Rollup, scores: QuerySet[StoreScore]) -> Iterator[list[object]]:
    """Each store's cells in column order, read ``CHUNK_SIZE`` rows at a time."""
    lookups = [lookup for lookup, _field in RANKING_FIELDS]
    decimals = [field.decimals for _lookup, field in RANKING_FIELDS]
    revision = [str(rollup.quarter), rollup.revision, str(rollup.get_status_display())]
    for row in scores.values_list(*lookups).iterator(chunk_size=CHUNK_SIZE):
        yield [rounded(value, places) if places is not None else value
               for value, places in zip(row, decimals, strict=True)] + revision


def write_ranking(handle: IO[bytes], *, rollup: Rollup, scores: QuerySet[StoreScore],
                  file_format: str,
                  wrap: Callable[[Iterator[list[object]]], Iterator[list[object]]] | None = None,
                  ) -> int:
    """Write the ranking to ``handle`` as ``file_format``; returns the number of stores.
    ``wrap`` sees the rows on their way (a job's progress)."""
    cells = ranking_cells(rollup=rollup, scores=scores)
    if wrap is not None:
        cells = wrap(cells)
    if file_format == "xlsx":
        sheet = _("Ranking %(quarter)s") % {"quarter": rollup.quarter}
        return tabular.write_xlsx(handle, columns(), cells, sheet=sheet, frozen_columns=4)
    return tabular.write_csv(handle, columns(), cells)
