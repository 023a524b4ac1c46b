"""The region page (a region's values, its stores ranked, its loyalty figures) and the list of
the regions a user may open. They read through ``selectors`` and ``loyalty``."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from dashboard import charts, loyalty, rules, selectors
from satisfaction.db_router import replica_reads
from satisfaction.models import Region, Store, User
from satisfaction.permissions import role_required
from satisfaction.quarters import Quarter, quarter_param
from scoring.labels import flag_label
from scoring.selectors import QuarterOption, quarter_options

PAGE_SIZE = 50


def _quarter(request: HttpRequest) -> tuple[Quarter, list[QuarterOption]]:
    """The quarter asked for (a malformed one is a 400 naming the field), else the newest
    with values, else the running one: the store list's default."""
    options = quarter_options()
    default = selectors.latest_display_quarter(options) or Quarter.current()
    return quarter_param(request.GET, default=default), options


def _percent(value: float | None) -> str | None:
    return None if value is None else f"{100 * value:.1f}%"


def _per_thousand(value: float | None) -> str | None:
    return None if value is None else f"{value:.2f}"


def loyalty_definitions() -> dict[str, str]:
    """The definitions the pages show on hover and in the footnote (as ``pos.selectors``
    computes the figures)."""
    return {
        "loyalty": _("Loyalty: of the members who bought at a store in the previous "
                     "quarter, the share who bought again at the same store in this quarter."),
        "retention": _("Retention: of those same members, the share who bought again "
                       "anywhere in the chain in this quarter, at the same store or at another "
                       "of ours."),
        "complaints_per_1000": _("Complaints per 1,000 receipts: the customer complaints "
                                 "received about a store in the quarter (all channels; not the "
                                 "store's own complaints to HQ departments), per 1,000 receipts "
                                 "its POS recorded in the quarter."),
    }


def loyalty_context(section: loyalty.Loyalty, *, own_name: str) -> dict:
    """The loyalty section of the store and region pages (``dashboard/_loyalty.html``): the
    quarter's figures beside the chain's median, their definitions, and the trend charts."""
    row = section.current
    definitions = loyalty_definitions()
    figures = []
    for key, label, show in (("loyalty", _("Loyalty"), _percent),
                             ("retention", _("Retention"), _percent),
                             ("complaints_per_1000", _("Complaints per 1,000 receipts"),
                              _per_thousand)):
        figures.append({"key": key, "label": label, "definition": definitions[key],
                        "own": show(getattr(row.figures, key)) if row.has_data else None,
                        "median": show(getattr(row.chain, key))})
    return {"loyalty": section, "loyalty_figures": figures, "loyalty_own_name": own_name,
            "loyalty_definitions": definitions,
            "loyalty_previous": row.quarter.previous(),
            "loyalty_charts": charts.loyalty_charts(section, own_name=own_name)}


def store_loyalty_context(*, store: Store, quarter: Quarter) -> dict:
    """The store page's loyalty section (``dashboard/store.html``)."""
    return loyalty_context(loyalty.store_loyalty(store=store, quarter=quarter),
                           own_name=_("This store"))


def region_of_store_link(*, user: User, store: Store) -> bool:
    """Whether the store page links its region's page (the reader may open it)."""
    return rules.can_see_chain_figures(user) and selectors.visible_regions(user=user).filter(
        pk=store.region_id).exists()


@role_required(rules.can_see_chain_figures)
def region_list(request: HttpRequest) -> HttpResponse:
    """The regions the user may open; a regional manager of one region goes straight to it."""
    regions = list(selectors.visible_regions(user=request.user).order_by("code"))
    if len(regions) == 1:
        return redirect("dashboard:region", code=regions[0].code)
    return render(request, "dashboard/region_list.html", {"regions": regions})


@role_required(rules.can_see_store_pages)
@replica_reads()
def region_page(request: HttpRequest, code: str) -> HttpResponse:
    """A region's page: HQ, HR and the region's own managers; anyone else gets a 404, as for
    another store's page."""
    region: Region = selectors.get_visible_region_or_404(user=request.user, code=code)
    quarter, options = _quarter(request)
    page = selectors.region_page(user=request.user, region=region, quarter=quarter)
    context = {"region": region, "quarter": quarter, "quarter_options": options,
               "data": page, "query": f"quarter={quarter}",
               **loyalty_context(loyalty.region_loyalty(region=region, quarter=quarter),
                                 own_name=_("This region"))}
    if page.scores is not None:
        ranked = Paginator(page.scores.values_list("id", flat=True), PAGE_SIZE).get_page(
            request.GET.get("page"))
        ranked.object_list = selectors.ranking_rows(ids=list(ranked.object_list),
                                                    previous=page.previous)
        for score in ranked:
            score.delta = (None if score.value is None or score.previous_value is None
                           else score.value - score.previous_value)
            score.flag_list = [flag_label(flag) for flag in score.flags]
        context["ranked"] = ranked
    return render(request, "dashboard/region.html", context)
