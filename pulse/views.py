"""The pulse's pages: the answer form for store staff, the group results and one store's."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from pulse import calc, rules, selectors
from pulse.forms import PulseForm, pulse_query
from pulse.services import pulse_answer
from pulse.statements import STATEMENTS
from satisfaction.errors import ApplicationError
from satisfaction.forms import add_application_error
from satisfaction.models import Store
from satisfaction.permissions import role_required
from satisfaction.quarters import Quarter
from satisfaction.scoping import get_visible_store_or_404, visible_stores

PAGE_SIZE = 50
TREND_QUARTERS = 4


@role_required(rules.can_take_pulse)
def take(request: HttpRequest) -> HttpResponse:
    quarter = Quarter.current()
    stores = selectors.pulse_stores(user=request.user)
    context = {"quarter": quarter, "min_group": calc.MIN_GROUP,
               "answered": selectors.has_answered(user=request.user, quarter=quarter),
               "has_store": stores.exists()}
    if context["answered"] or not context["has_store"]:
        return render(request, "pulse/take.html", context)
    form = PulseForm(request.POST or None, stores=stores,
                     initial={"store": stores.first()})
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                pulse_answer(user=request.user, store=form.cleaned_data["store"],
                             quarter=quarter, answers=form.answers(),
                             comment=form.cleaned_data["comment"])
            except ApplicationError as exc:
                add_application_error(form, exc)
                status = exc.status
            else:
                messages.success(request, _("Thank you: your answers are saved, without your "
                                            "name."))
                return redirect("pulse:take")
        else:
            status = 400
    context.update({"form": form, "one_store": stores.count() == 1})
    return render(request, "pulse/take.html", context, status=status)


@dataclass(frozen=True)
class Row:
    code: str
    name: str
    figure: calc.GroupPulse

    @property
    def values(self) -> list[tuple[str, float | None]]:
        """Each statement with its 0–100 figure, in order (None when hidden)."""
        return [(s.text, self.figure.statements.get(s.code)) for s in STATEMENTS]


@role_required(rules.can_see_pulse_results)
def results(request: HttpRequest) -> HttpResponse:
    """The regions the reader sees and their stores, each as a group figure or hidden."""
    query = pulse_query(request.GET, user=request.user)
    quarter, region, quarters, regions = query.quarter, query.region, query.quarters, query.regions
    by_region = selectors.region_pulse(quarter=quarter, regions=selectors.visible_regions(
        user=request.user))
    hidden = calc.GroupPulse(hidden=calc.HIDDEN_SMALL)
    region_rows = [Row(r.code, r.name, by_region.get(r.pk, hidden)) for r in regions]
    stores = visible_stores(request.user).order_by("code")
    if region is not None:
        stores = stores.filter(region=region)
    page = Paginator(stores.only("code", "name"), PAGE_SIZE).get_page(request.GET.get("page"))
    page_stores = list(page.object_list)
    by_store = selectors.store_pulse(quarter=quarter, stores=Store.objects.filter(
        pk__in=[s.pk for s in page_stores]))
    page.object_list = [Row(s.code, s.name, by_store.get(s.pk, hidden)) for s in page_stores]
    params = request.GET.copy()
    params.pop("page", None)
    return render(request, "pulse/results.html", {
        "quarter": quarter, "quarters": quarters, "regions": regions, "region": region,
        "region_rows": region_rows, "page": page, "query": params.urlencode(),
        "statements": STATEMENTS, "min_group": calc.MIN_GROUP,
        "quarter_running": not selectors.quarter_ended(quarter)})


@role_required(rules.can_see_pulse_results)
def store(request: HttpRequest, code: str) -> HttpResponse:
    store = get_visible_store_or_404(request.user, code=code)
    query = pulse_query(request.GET, user=request.user)
    quarter, quarters = query.quarter, query.quarters
    data = selectors.store_results(user=request.user, store=store, quarter=quarter)
    statement_rows = [(s.text, data.figure.statements.get(s.code),
                       data.region_figure.statements.get(s.code)) for s in STATEMENTS]
    return render(request, "pulse/store.html", {
        "quarter": quarter, "quarters": quarters, "store": store, "data": data,
        "statement_rows": statement_rows, "min_group": calc.MIN_GROUP,
        "trend": selectors.store_trend(store=store, quarters=quarter.last_n(TREND_QUARTERS)),
        "can_read_comments": rules.can_read_pulse_comments(request.user)})
