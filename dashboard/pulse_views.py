"""The staff pulse beside the customer value: the service-profit chain (seed 001) measured on
the chain's own data, for HQ and for regional managers (their regions).

Each store whose pulse is shown (at least ``pulse.calc.MIN_GROUP`` answers in an ended quarter,
``pulse.selectors``) is a point: its staff pulse (0–100) against its customer value of the same
quarter, read as the store list reads it (``dashboard.selectors.quarter_rollup`` and
``ranking``; the region's value from ``revision_figures``), never recomputed. Pearson's r with
its n and 95% interval comes from ``satisfaction.stats.correlation_with_interval``, across
stores and across regions. The chart draws every point; the table beside it is paginated.
The pulse stays out of pay: ``scoring`` may not import ``pulse`` (``pyproject.toml``).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from dashboard import charts, selectors
from pulse import calc
from pulse import rules as pulse_rules
from pulse import selectors as pulse_selectors
from pulse.forms import pulse_query
from satisfaction.db_router import replica_reads
from satisfaction.models import Store
from satisfaction.permissions import role_required
from satisfaction.scoping import visible_stores
from satisfaction.stats import Correlation, correlation_with_interval, rounded

PAGE_SIZE = 50
SORTS = {
    "pulse": lambda p: (p.pulse, p.store_id),
    "-pulse": lambda p: (-p.pulse, p.store_id),
    "value": lambda p: (p.value is None, p.value or 0, p.store_id),
    "-value": lambda p: (p.value is None, -(p.value or 0), p.store_id),
    "store": lambda p: (p.store_id,),
}


@dataclass(frozen=True)
class Point:
    store_id: int
    pulse: float
    n: int
    value: float | None


@dataclass(frozen=True)
class RegionRow:
    name: str
    figure: calc.GroupPulse
    value: float | None


def _sort_choices() -> list[tuple[str, str]]:
    return [("pulse", _("Staff pulse, lowest first")), ("-pulse", _("Staff pulse, highest first")),
            ("value", _("Customer value, lowest first")),
            ("-value", _("Customer value, highest first")), ("store", _("Store code"))]


def _correlation_context(corr: Correlation) -> dict:
    return {"r": rounded(corr.r, 2), "n": corr.n, "low": rounded(corr.low, 2),
            "high": rounded(corr.high, 2),
            "strength": calc.correlation_strength(corr.r, corr.low, corr.high)}


@role_required(pulse_rules.can_compare_pulse_with_values)
@replica_reads()
def pulse_vs_value(request: HttpRequest) -> HttpResponse:
    query = pulse_query(request.GET, user=request.user)
    quarter, region = query.quarter, query.region
    stores = visible_stores(request.user)
    regions = [region] if region is not None else query.regions
    if region is not None:
        stores = stores.filter(region=region)
    figures = pulse_selectors.store_pulse(quarter=quarter, stores=stores)
    region_figures = pulse_selectors.region_pulse(
        quarter=quarter, regions=pulse_selectors.visible_regions(user=request.user).filter(
            pk__in=[r.pk for r in regions]))
    rollup = selectors.quarter_rollup(quarter=quarter)
    values: dict[int, float | None] = {}
    region_values: dict[int, float | None] = {}
    if rollup is not None:
        values = dict(selectors.ranking(user=request.user, rollup=rollup,
                                        region_code=region.code if region else "")
                      .order_by().values_list("store_id", "value"))
        region_values = {pk: figure.mean for pk, figure in
                         selectors.revision_figures(rollup=rollup).regions.items()}

    points = [Point(store_id=pk, pulse=f.score, n=f.n, value=values.get(pk))
              for pk, f in figures.items() if f.shown]
    paired = [p for p in points if p.value is not None]
    store_corr = correlation_with_interval([p.pulse for p in paired], [p.value for p in paired])
    region_rows = [RegionRow(name=r.name, figure=region_figures.get(
        r.pk, calc.GroupPulse(hidden=calc.HIDDEN_SMALL)), value=region_values.get(r.pk))
        for r in regions]
    region_paired = [r for r in region_rows if r.figure.shown and r.value is not None]
    region_corr = correlation_with_interval([r.figure.score for r in region_paired],
                                            [r.value for r in region_paired])

    sort = request.GET.get("sort", "")
    sort = sort if sort in SORTS else "pulse"
    page = Paginator(sorted(points, key=SORTS[sort]), PAGE_SIZE).get_page(
        request.GET.get("page"))
    shown_ids = [p.store_id for p in page] + [p.store_id for p in paired]
    labels = {s.pk: (s.code, s.name, s.region.name) for s in Store.objects.filter(
        pk__in={p.store_id for p in page}).select_related("region").only(
        "code", "name", "region__name")}
    if len(paired) <= charts.NAMED_POINTS_MAX:
        labels.update({pk: (code, name, "") for pk, code, name in Store.objects.filter(
            pk__in=set(shown_ids) - set(labels)).values_list("pk", "code", "name")})
    rows = [(f"{labels[p.store_id][0]} {labels[p.store_id][1]}", labels[p.store_id][2],
             rounded(p.pulse, 1), p.n, rounded(p.value, 1)) for p in page]
    store_name, region_name = _("Store"), _("Region")
    x_name, y_name = _("Staff pulse (0–100)"), _("Customer value")
    params = request.GET.copy()
    params.pop("page", None)
    return render(request, "dashboard/pulse_vs_value.html", {
        "quarter": quarter, "quarters": query.quarters, "regions": query.regions,
        "region": region, "sort": sort, "sorts": _sort_choices(), "page": page,
        "query": params.urlencode(), "min_group": calc.MIN_GROUP, "rollup": rollup,
        "hidden_stores": sum(1 for f in figures.values() if not f.shown),
        "unvalued_stores": len(points) - len(paired),
        "stores_corr": _correlation_context(store_corr),
        "regions_corr": _correlation_context(region_corr),
        "region_rows": region_rows,
        "scatter_spec": charts.pulse_scatter(
            points=[(" ".join(labels.get(p.store_id, ("", ""))[:2]).strip(), p.pulse, p.value)
                    for p in paired],
            regions=[(r.name, r.figure.score, r.value) for r in region_paired],
            x_name=x_name, y_name=y_name, store_name=store_name, region_name=region_name),
        "table_headers": [store_name, region_name, x_name, _("Answers"), y_name],
        "table_rows": rows,
    })
