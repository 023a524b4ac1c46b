"""Pages: the store manager's page, the ranking, the complaint and mystery-shopper figures, and
the improvement actions. They read through ``selectors`` and write through ``services``."""

from __future__ import annotations

import io
from dataclasses import dataclass

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views.decorators.http import require_GET, require_POST

from complaints.models import Category
from dashboard import calc, charts, export, page_cache, rules, selectors
from dashboard.forms import (
    FiguresFilterForm,
    ImprovementActionForm,
    RankingFilterForm,
    ReviewForm,
)
from dashboard.jobs import RANKING_EXPORT
from dashboard.models import ActionSource, ActionStatus, ImprovementAction
from dashboard.region_views import region_of_store_link, store_loyalty_context
from dashboard.services import (
    improvement_action_complete,
    improvement_action_create,
    improvement_action_review,
)
from mystery_shopper import rules as visit_rules
from mystery_shopper.models import ScorecardPart
from pos.selectors import receipt_counts
from satisfaction import rules as satisfaction_rules
from satisfaction.db_router import replica_reads
from satisfaction.errors import ApplicationError
from satisfaction.forms import add_application_error
from satisfaction.jobs import EXPORT_IN_REQUEST_ROWS as EXPORT_ROWS_IN_REQUEST
from satisfaction.jobs import job_start, personal_key
from satisfaction.permissions import role_required
from satisfaction.quarters import Quarter, quarter_param
from satisfaction.scoping import get_scoped_or_404, get_visible_store_or_404, visible_store_ids
from satisfaction.selectors import region_list
from satisfaction.selectors import store_list as chain_store_list
from scoring.labels import flag_label
from scoring.models import Rollup, StoreScore
from scoring.selectors import (
    QuarterOption,
    employee_score_scope,
    quarter_options,
    revision_param,
)

PAGE_SIZE = 50


# --- Landing page -----------------------------------------------------------------------------

@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Where a login lands: a mystery shopper on their visits, everyone else on the store they
    work in or the list of stores they look after."""
    if visit_rules.can_report_visits(request.user):
        return redirect("mystery_shopper:my_visits")
    if satisfaction_rules.is_department_head(request.user):  # no store: their complaints
        return redirect("complaints:internal_list")
    return redirect("dashboard:store_home")


# --- Store page -------------------------------------------------------------------------------


@role_required(rules.can_see_store_pages)
def store_home(request: HttpRequest) -> HttpResponse:
    """A store's own staff land on their store's page; those who look across stores, on the
    list."""
    store = selectors.user_home_store(user=request.user)
    if not rules.can_see_chain_figures(request.user) and store is not None:
        return redirect("dashboard:store", code=store.code)
    return redirect("dashboard:store_list")


@role_required(rules.can_see_store_pages)
@replica_reads()
def store_page(request: HttpRequest, code: str) -> HttpResponse:
    """The store's page, from ``page_cache``: its body rendered once per store, reader's view
    and state of its data, and the layout around it once per reader for a few minutes."""
    store = get_visible_store_or_404(request.user, code=code)
    quarter = quarter_param(request.GET, default=Quarter.current())
    variant = page_cache.BodyVariant(
        can_manage=rules.can_manage_actions(request.user, store, visible=True),
        with_photos=visit_rules.can_see_store_evidence(request.user),
        staff_scope=employee_score_scope(request.user),
        region_link=region_of_store_link(user=request.user, store=store))

    def render_body(csrf_token: str) -> str:
        data = selectors.store_page_data(user=request.user, store=store, quarter=quarter,
                                         today=timezone.localdate())
        return render_to_string("dashboard/_store_body.html", {
            **data.context(), **charts.store_page_charts(data),
            **store_loyalty_context(store=store, quarter=quarter),
            "region_link": variant.region_link, "csrf_token": csrf_token}, request=request)

    def render_frame(body: str, csrf_token: str) -> str:
        return render_to_string("dashboard/store.html", {
            "store": store, "body": body, "csrf_token": csrf_token}, request=request)

    return HttpResponse(page_cache.store_page(
        request=request, store=store, quarter=quarter, variant=variant,
        render_body=render_body, render_frame=render_frame))


# --- Improvement actions ----------------------------------------------------------------------


@role_required(rules.can_see_store_pages)
def action_create(request: HttpRequest, code: str) -> HttpResponse:
    store = get_visible_store_or_404(request.user, code=code)
    if not rules.can_manage_actions(request.user, store):
        raise PermissionDenied
    labels = selectors.indicator_labels()
    initial = {k: request.GET.get(k, "") for k in ("indicator_code", "source", "source_ref",
                                                   "title")}
    initial["source"] = initial["source"] or ActionSource.INDICATOR
    form = ImprovementActionForm(request.POST or None, store=store, indicators=labels,
                                 initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            improvement_action_create(user=request.user, store=store, **form.cleaned_data)
        except ApplicationError as exc:
            add_application_error(form, exc)
        else:
            messages.success(request, _("The improvement action was saved."))
            return redirect(reverse("dashboard:store", args=[store.code]) + "#actions")
    return render(request, "dashboard/action_form.html", {"store": store, "form": form})


def _managed_action(request: HttpRequest, pk: int) -> ImprovementAction:
    """The action if the user sees its store (else 404) and may manage it (else 403)."""
    action = get_scoped_or_404(ImprovementAction.objects.select_related("store"), request.user,
                               pk=pk)
    if not rules.can_manage_actions(request.user, action.store):
        raise PermissionDenied
    return action


@role_required(rules.can_see_store_pages)
@require_POST
def action_complete(request: HttpRequest, pk: int) -> HttpResponse:
    action = _managed_action(request, pk)
    try:
        improvement_action_complete(action=action, user=request.user)
        messages.success(request, _("Marked done; it will be reviewed next quarter."))
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return redirect(reverse("dashboard:store", args=[action.store.code]) + "#actions")


@role_required(rules.can_see_store_pages)
@require_POST
def action_review(request: HttpRequest, pk: int) -> HttpResponse:
    action = _managed_action(request, pk)
    form = ReviewForm(request.POST)
    note = form.cleaned_data["note"] if form.is_valid() else ""
    try:
        action = improvement_action_review(action=action, user=request.user, note=note)
        messages.success(request, _("Reviewed: %(outcome)s.") % {
            "outcome": action.get_outcome_display()})
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return redirect(reverse("dashboard:store", args=[action.store.code]) + "#actions")


@role_required(rules.can_see_store_pages)
def action_list_view(request: HttpRequest) -> HttpResponse:
    actions = selectors.action_list(user=request.user)
    status = request.GET.get("status", "")
    if status in ActionStatus.values:
        actions = actions.filter(status=status)
    if request.GET.get("overdue"):
        actions = actions.filter(status=ActionStatus.OPEN, deadline__lt=timezone.localdate())
    page = Paginator(actions.order_by("deadline", "pk"), PAGE_SIZE).get_page(
        request.GET.get("page"))
    labels = selectors.indicator_labels()
    today = timezone.localdate()
    for action in page:
        action.overdue = selectors.action_is_overdue(action, today)
        action.indicator_label = labels.get(action.indicator_code, action.indicator_code)
    return render(request, "dashboard/actions.html", {
        "page": page, "status": status, "statuses": ActionStatus.choices,
        "overdue": bool(request.GET.get("overdue"))})


# --- The store list ---------------------------------------------------------------------------


def _form_or_400(form: forms.Form) -> dict:
    """The form's cleaned values, or the page's 400 naming each bad field (a crafted or stale
    query: the page only offers valid choices)."""
    if not form.is_valid():
        raise ApplicationError(_("Check the filters of the page."), fields={
            name: [str(m) for m in errors] for name, errors in form.errors.items()})
    return form.cleaned_data


@dataclass
class _Ranking:
    """The store list's query as the page and its export read it: one owner of the filters
    (``RankingFilterForm``), of the scope and of the order (``selectors.ranking``)."""

    quarter: Quarter | None
    options: list[QuarterOption]
    filters: dict[str, str]
    rollup: Rollup | None
    scores: QuerySet[StoreScore] | None


def _ranking(request: HttpRequest) -> _Ranking:
    options = quarter_options()
    cleaned = _form_or_400(RankingFilterForm(request.GET,
                                             quarters=[(o.quarter, o.label) for o in options]))
    quarter = cleaned["quarter"] or selectors.latest_display_quarter(options)
    filters = {k: cleaned[k].strip() for k in ("region", "city", "q", "sort")}
    revision = revision_param(request.GET)
    rollup = selectors.quarter_rollup(quarter=quarter, revision=revision) if quarter else None
    scores = None if rollup is None else selectors.ranking(
        user=request.user, rollup=rollup, region_code=filters["region"], city=filters["city"],
        query=filters["q"], sort=filters["sort"])
    return _Ranking(quarter=quarter, options=options, filters=filters, rollup=rollup,
                    scores=scores)


@role_required(rules.can_see_store_pages)
@replica_reads()
def store_list(request: HttpRequest) -> HttpResponse:
    """The one list of stores: the quarter's values ranked (sortable, filtered by region, city
    and code or name, with the distribution and the movers); before any quarter has values,
    the chain's stores as imported."""
    ranking = _ranking(request)
    quarter, filters, rollup = ranking.quarter, ranking.filters, ranking.rollup
    query = request.GET.copy()
    query.pop("page", None)
    context: dict = {"quarter": quarter, "quarter_options": ranking.options,
                     "filters": filters, "regions": region_list(user=request.user),
                     "cities": selectors.cities(user=request.user, region_code=filters["region"]),
                     "sorts": _sort_choices(), "query": query.urlencode()}
    context["rollup"] = rollup
    if rollup is None:
        stores = chain_store_list(user=request.user, region_code=filters["region"],
                                  city=filters["city"], query=filters["q"])
        context["stores"] = Paginator(stores, PAGE_SIZE).get_page(request.GET.get("page"))
    else:
        scores = ranking.scores
        # The export names the revision shown, so that a recompute meanwhile does not change
        # what the file holds.
        export_query = query.copy()
        export_query["quarter"], export_query["revision"] = str(quarter), str(rollup.revision)
        context["export_query"] = export_query.urlencode()
        previous = selectors.quarter_rollup(quarter=quarter.previous())
        page = Paginator(scores.values_list("id", flat=True), PAGE_SIZE).get_page(
            request.GET.get("page"))
        page.object_list = selectors.ranking_rows(ids=list(page.object_list),
                                                  previous=previous)
        for score in page:
            score.delta = (None if score.value is None or score.previous_value is None
                           else score.value - score.previous_value)
        buckets = selectors.value_histogram(scores=scores)
        up, down = selectors.movers(scores=scores, previous=previous)
        for score in page:
            score.flag_list = [flag_label(flag) for flag in score.flags]
        context.update({
            "page": page, "previous": previous, "up": up, "down": down,
            "histogram_spec": charts.histogram_bar(buckets=buckets,
                name=pgettext("count", "Stores")),
            "histogram_headers": [_("Value"), pgettext("count", "Stores")],
            "histogram_rows": buckets,
        })
    return render(request, "dashboard/store_list.html", context)


#: The most rows an export writes in the request; more go through a background job.
EXPORT_IN_REQUEST_ROWS = EXPORT_ROWS_IN_REQUEST


@role_required(rules.can_see_store_pages)
@require_GET
@replica_reads()
def store_list_export(request: HttpRequest) -> HttpResponse:
    """The store list as CSV or XLSX (``?format=``), with the page's filters, scope and order,
    in the user's language. Up to ``EXPORT_IN_REQUEST_ROWS`` stores the file is the response;
    more are written by a background job (``dashboard.ranking_export``) whose page shows the
    progress and then the download."""
    file_format = request.GET.get("format", "")
    if file_format not in export.FORMATS:
        raise ApplicationError(_("Choose CSV or XLSX."), fields={"format": [
            _("Choose CSV or XLSX.")]})
    ranking = _ranking(request)
    rollup, scores = ranking.rollup, ranking.scores
    back = f"{reverse('dashboard:store_list')}?{request.GET.urlencode()}"
    if rollup is None or scores is None:
        messages.error(request, _("This quarter has no values yet: there is nothing to "
                                  "export."))
        return redirect(back)
    if scores.count() <= EXPORT_IN_REQUEST_ROWS:
        buffer = io.BytesIO()
        export.write_ranking(buffer, rollup=rollup, scores=scores, file_format=file_format)
        response = HttpResponse(buffer.getvalue(), content_type=export.CONTENT_TYPES[file_format])
        name = export.file_name(rollup=rollup, file_format=file_format)
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response
    params = {"quarter": str(rollup.quarter), "revision": rollup.revision,
              "format": file_format, **ranking.filters}
    # One running export per user and query: a double click gets the running one.
    job, started = job_start(kind=RANKING_EXPORT, user=request.user, params=params,
                             key=personal_key(user=request.user, params=params))
    if not started:
        messages.info(request, _("This export is already running: here it is."))
    return redirect(job)


def _sort_choices() -> list[tuple[str, str]]:
    return [("rank", _("Rank in chain")), ("value", _("Value, highest first")),
            ("-value", _("Value, lowest first")), ("survey", _("Sample survey points")),
            ("scenario", _("Scenario survey points")), ("deductions", _("Deductions")),
            ("region", _("Region, then rank in region")), ("store", _("Store code"))]


def _figures_query(request: HttpRequest) -> tuple[Quarter, str, list[QuarterOption]]:
    """The quarter (by default the current one) and region of a figures page, and the
    quarters its select offers (``scoring.selectors.quarter_options``, each with its state)."""
    options = quarter_options()
    cleaned = _form_or_400(FiguresFilterForm(request.GET,
                                             quarters=[(o.quarter, o.label) for o in options]))
    return cleaned["quarter"] or Quarter.current(), cleaned["region"].strip(), options


# --- Complaint figures ------------------------------------------------------------------------


@role_required(rules.can_see_chain_figures)
@replica_reads()
def complaint_figures(request: HttpRequest) -> HttpResponse:
    quarter, region_code, options = _figures_query(request)
    figures = selectors.complaint_figures_by_region(user=request.user, quarter=quarter)
    by_region = figures.rows
    category_labels = dict(Category.choices)
    pareto = (selectors.complaint_category_pareto(user=request.user, quarter=quarter,
                                                  region_code=region_code)
              if region_code else figures.pareto)
    pareto_rows = [(str(category_labels.get(r["key"], r["key"])), r["count"], r["share"],
                    r["cumulative"]) for r in pareto]
    iceberg_rows, iceberg_totals = selectors.iceberg(user=request.user, quarter=quarter,
                                                     region_code=region_code)
    receipts = receipt_counts(start=quarter.start(), end=quarter.end(), level="region",
                              store_ids=visible_store_ids(request.user))
    per_thousand = [calc.per_thousand(r.total, receipts.get(r.key)) for r in by_region]
    region_labels = [r.name for r in by_region]
    complaints_name, unhappy_name = _("Formal complaints"), _("Respondents who rated 1")
    return render(request, "dashboard/complaints.html", {
        "quarter": quarter, "region": region_code, "quarter_options": options,
        "regions": region_list(user=request.user),
        "by_region": by_region, "iceberg_totals": iceberg_totals,
        "rates_spec": charts.grouped_bars(
            labels=region_labels, max_value=100, horizontal=False,
            series=[(_("On-time rate %"), [r.on_time_rate for r in by_region]),
                    (_("Closed-loop rate %"), [r.closed_loop_rate for r in by_region]),
                    (_("Second-complaint rate %"), [r.second_rate for r in by_region])]),
        "rates_headers": [_("Region"), pgettext("count", "Complaints"), _("On-time rate %"),
                          _("Closed-loop rate %"), _("Second-complaint rate %"),
                          _("Per 1,000 receipts")],
        "rates_rows": [(r.name, r.total, r.on_time_rate, r.closed_loop_rate, r.second_rate,
                        rate) for r, rate in zip(by_region, per_thousand, strict=True)],
        "pareto_spec": charts.pareto_chart(
            labels=[r[0] for r in pareto_rows], counts=[r[1] for r in pareto_rows],
            cumulative=[r[3] for r in pareto_rows], count_name=pgettext("count", "Complaints"),
            cumulative_name=_("Cumulative %")),
        "pareto_headers": [_("Category"), pgettext("count", "Complaints"), _("Share %"),
                           _("Cumulative %")],
        "pareto_rows": pareto_rows,
        "iceberg_spec": charts.grouped_bars(
            labels=[f"{r['store'].code} {r['store'].name}" for r in iceberg_rows],
            series=[(complaints_name, [r["complaints"] for r in iceberg_rows]),
                    (unhappy_name, [r["unhappy"] for r in iceberg_rows])]),
        "iceberg_headers": [_("Store"), complaints_name, unhappy_name],
        "iceberg_rows": [(f"{r['store'].code} {r['store'].name}", r["complaints"],
                          r["unhappy"]) for r in iceberg_rows],
    })


# --- Mystery-shopper figures ------------------------------------------------------------------


@role_required(rules.can_see_chain_figures)
@replica_reads()
def mystery_figures(request: HttpRequest) -> HttpResponse:
    quarter, region_code, options = _figures_query(request)
    items = selectors.weakest_scorecard_items(user=request.user, quarter=quarter,
                                              region_code=region_code)
    english = (request.LANGUAGE_CODE or "").startswith("en")
    parts = dict(ScorecardPart.choices)
    rows = []
    for item in items:
        text = (item["item__text_en"] or item["item__text_zh"]) if english else (
            item["item__text_zh"] or item["item__text_en"])
        rows.append((text, str(parts.get(item["item__part"], item["item__part"])),
                     round(item["pct"], 1), item["n"], item["failed"]))
    return render(request, "dashboard/mystery.html", {
        "quarter": quarter, "region": region_code, "quarter_options": options,
        "regions": region_list(user=request.user), "rows": rows,
        "items_spec": charts.grouped_bars(labels=[r[0] for r in rows], max_value=100,
                                          series=[(_("Share of points %"), [r[2] for r in rows])]),
        "items_headers": [_("Scorecard item"), _("Part"), _("Share of points %"),
                          _("Answers"), _("Scored 0")],
    })
