"""Pages: the store manager's page, the ranking, the complaint and mystery-shopper figures, and
the improvement actions. They read through ``selectors`` and write through ``services``."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from complaints.models import Category
from dashboard import calc, charts, rules, selectors
from dashboard.forms import ImprovementActionForm, ReviewForm
from dashboard.models import ActionSource, ActionStatus, ImprovementAction
from dashboard.services import (
    action_review_quarter,
    improvement_action_complete,
    improvement_action_create,
    improvement_action_review,
)
from mystery_shopper.models import ScorecardPart
from pos.selectors import receipt_counts
from satisfaction.errors import ApplicationError
from satisfaction.models import Role
from satisfaction.permissions import role_required
from satisfaction.quarters import Quarter, quarter_param
from satisfaction.scoping import get_scoped_or_404, get_visible_store_or_404, visible_store_ids
from satisfaction.selectors import region_list

PAGE_SIZE = 50


def _quarter(request: HttpRequest, default: Quarter | None) -> Quarter | None:
    return quarter_param(request.GET, default=default)


def _scripts_context() -> dict:
    return {"has_charts": True}


# --- Landing page -----------------------------------------------------------------------------

# Where each role lands after login.
_ROLE_HOME = {
    Role.HQ_ADMIN: "dashboard:ranking",
    Role.REGIONAL_MANAGER: "dashboard:ranking",
    Role.HR: "dashboard:ranking",
    Role.MYSTERY_SHOPPER: "mystery_shopper:my_visits",
    Role.STORE_MANAGER: "dashboard:store_home",
    Role.CLERK: "dashboard:store_home",
}


@login_required
def home(request: HttpRequest) -> HttpResponse:
    return redirect(_ROLE_HOME.get(request.user.role, "store_list"))


# --- Store page -------------------------------------------------------------------------------


@role_required(rules.can_see_store_pages)
def store_home(request: HttpRequest) -> HttpResponse:
    store = selectors.user_home_store(user=request.user)
    if request.user.role in (Role.STORE_MANAGER, Role.CLERK) and store is not None:
        return redirect("dashboard:store", code=store.code)
    return redirect("dashboard:ranking")


def _component_rows(score) -> list[tuple[str, float]]:
    if score is None:
        return []
    return [(_("Sample survey points"), score.survey_points),
            (_("Scenario survey points"), score.scenario_points),
            (_("Complaint deductions"), -score.deductions)]


@role_required(rules.can_see_store_pages)
def store_page(request: HttpRequest, code: str) -> HttpResponse:
    store = get_visible_store_or_404(request.user, code=code)
    quarter = _quarter(request, Quarter.current())
    page = selectors.store_scores(store=store, quarter=quarter)
    labels = selectors.indicator_labels()
    today = timezone.localdate()

    codes = [c for c in labels if c in page.store_means or c in page.region_means]
    codes += sorted(c for c in page.store_means if c not in labels)
    indicator_rows = [(labels.get(c, c), page.store_means.get(c), page.region_means.get(c))
                      for c in codes]
    weakest = calc.weakest(page.store_means, page.region_means)
    weakest_rows = [{"code": c, "label": labels.get(c, c), "value": page.store_means[c],
                     "region": page.region_means.get(c)} for c in weakest]
    gaps = selectors.expectation_gaps(store=store, quarter=quarter)
    gap_rows = [{"label": labels.get(g.code, g.code), "code": g.code, "p": g.perception,
                 "e": g.expectation, "gap": g.gap} for g in gaps]
    gap_rows.sort(key=lambda r: list(labels).index(r["code"]) if r["code"] in labels else 99)
    components = _component_rows(page.current)
    trend_rows = [(str(q), v) for q, v in page.trend]
    actions = selectors.store_actions(store=store)
    for action in actions:
        action.overdue = selectors.action_is_overdue(action, today)
        action.indicator_label = labels.get(action.indicator_code, action.indicator_code)
        action.reviewable = (action.status != ActionStatus.REVIEWED
                             and action_review_quarter(action) < Quarter.current())
    complaints = selectors.open_complaints(store=store)
    for complaint in complaints:
        complaint.url = reverse("complaints:detail", args=[complaint.pk])
    visits = selectors.approved_visits(store=store)
    for visit in visits:
        visit.url = reverse("mystery_shopper:store_visit", args=[visit.pk])
        for photo in visit.photos:
            photo.url = reverse("mystery_shopper:evidence", args=[photo.public_id])
    store_name = _("This store")
    region_name = _("Region average")
    context = {
        "store": store, "quarter": quarter, "page": page, "score": page.current,
        "is_running": quarter == Quarter.current(),
        "staff": selectors.staff_scores(user=request.user, score=page.current),
        "weakest": weakest_rows, "gap_rows": gap_rows, "actions": actions,
        "overdue_count": sum(1 for a in actions if a.overdue),
        "complaints": complaints, "visits": visits,
        "can_manage": rules.can_manage_actions(request.user, store),
        "trend_spec": charts.trend_line(quarters=[q for q, _v in trend_rows],
                                        values=[v for _q, v in trend_rows],
                                        name=_("Satisfaction value")),
        "trend_headers": [_("Quarter"), _("Value")],
        "trend_rows": [(q, None if v is None else round(v, 1)) for q, v in trend_rows],
        "components_spec": charts.components_bar(labels=[label for label, _v in components],
                                                 values=[v for _l, v in components]),
        "components_headers": [_("Component"), _("Points")],
        "components_rows": [(label, round(v, 2)) for label, v in components],
        "indicator_spec": charts.indicator_bars(
            labels=[r[0] for r in indicator_rows], store=[r[1] for r in indicator_rows],
            region=[r[2] for r in indicator_rows], store_name=store_name,
            region_name=region_name),
        "indicator_headers": [_("Indicator"), store_name, region_name],
        "indicator_rows": [(r[0], _fmt(r[1]), _fmt(r[2])) for r in indicator_rows],
        "gap_spec": charts.gap_bars(labels=[r["label"] for r in gap_rows],
                                    gaps=[r["gap"] for r in gap_rows]),
        "gap_headers": [_("Indicator"), _("Perception"), _("Expectation"), _("Gap P − E")],
        "gap_table": [(r["label"], _fmt(r["p"]), _fmt(r["e"]), _fmt(r["gap"]))
                      for r in gap_rows],
        "scoring_url": reverse("scoring:store_detail", args=[store.code]),
    }
    return render(request, "dashboard/store.html", context)


def _fmt(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


# --- Improvement actions ----------------------------------------------------------------------


@role_required(rules.can_see_store_pages)
def action_create(request: HttpRequest, code: str) -> HttpResponse:
    store = get_visible_store_or_404(request.user, code=code)
    if not rules.can_manage_actions(request.user, store):
        raise Http404
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
            for name, errors in exc.fields.items():
                for error in errors:
                    form.add_error(name if name in form.fields else None, error)
            if not exc.fields:
                form.add_error(None, exc.message)
        else:
            messages.success(request, _("The improvement action was saved."))
            return redirect(reverse("dashboard:store", args=[store.code]) + "#actions")
    return render(request, "dashboard/action_form.html", {"store": store, "form": form})


def _action_for(request: HttpRequest, pk: int) -> ImprovementAction:
    return get_scoped_or_404(ImprovementAction.objects.select_related("store"), request.user,
                             pk=pk)


@role_required(rules.can_see_store_pages)
@require_POST
def action_complete(request: HttpRequest, pk: int) -> HttpResponse:
    action = _action_for(request, pk)
    try:
        improvement_action_complete(action=action, user=request.user)
        messages.success(request, _("Marked done; it will be reviewed next quarter."))
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return redirect(reverse("dashboard:store", args=[action.store.code]) + "#actions")


@role_required(rules.can_see_store_pages)
@require_POST
def action_review(request: HttpRequest, pk: int) -> HttpResponse:
    action = _action_for(request, pk)
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


# --- Ranking ----------------------------------------------------------------------------------


@role_required(rules.can_see_chain_figures)
def ranking_view(request: HttpRequest) -> HttpResponse:
    quarter = _quarter(request, selectors.latest_display_quarter())
    filters = {k: request.GET.get(k, "") for k in ("region", "city", "sort")}
    context: dict = {"quarter": quarter, "quarters": selectors.quarter_choices(),
                     "filters": filters, "regions": region_list(user=request.user),
                     "cities": selectors.cities(user=request.user, region_code=filters["region"]),
                     "sorts": _sort_choices()}
    rollup = selectors.quarter_rollup(quarter=quarter) if quarter else None
    context["rollup"] = rollup
    if rollup is not None:
        scores = selectors.ranking(user=request.user, rollup=rollup,
                                   region_code=filters["region"], city=filters["city"],
                                   sort=filters["sort"])
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
        query = request.GET.copy()
        query.pop("page", None)
        context.update({
            "page": page, "previous": previous, "up": up, "down": down,
            "query": query.urlencode(),
            "histogram_spec": charts.histogram_bar(buckets=buckets, name=_("Stores")),
            "histogram_headers": [_("Value"), _("Stores")],
            "histogram_rows": buckets,
        })
    return render(request, "dashboard/ranking.html", context)


def _sort_choices() -> list[tuple[str, str]]:
    return [("rank", _("Rank in chain")), ("value", _("Value, highest first")),
            ("-value", _("Value, lowest first")), ("survey", _("Sample survey points")),
            ("scenario", _("Scenario survey points")), ("deductions", _("Deductions")),
            ("region", _("Region, then rank in region")), ("store", _("Store code"))]


# --- Complaint figures ------------------------------------------------------------------------


@role_required(rules.can_see_chain_figures)
def complaint_figures(request: HttpRequest) -> HttpResponse:
    quarter = _quarter(request, Quarter.current())
    region_code = request.GET.get("region", "")
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
        "quarter": quarter, "region": region_code,
        "regions": region_list(user=request.user),
        "by_region": by_region, "iceberg_totals": iceberg_totals,
        "rates_spec": charts.grouped_bars(
            labels=region_labels, max_value=100, horizontal=False,
            series=[(_("On-time rate %"), [r.on_time_rate for r in by_region]),
                    (_("Closed-loop rate %"), [r.closed_loop_rate for r in by_region]),
                    (_("Second-complaint rate %"), [r.second_rate for r in by_region])]),
        "rates_headers": [_("Region"), _("Complaints"), _("On-time rate %"),
                          _("Closed-loop rate %"), _("Second-complaint rate %"),
                          _("Per 1,000 receipts")],
        "rates_rows": [(r.name, r.total, r.on_time_rate, r.closed_loop_rate, r.second_rate,
                        rate) for r, rate in zip(by_region, per_thousand, strict=True)],
        "pareto_spec": charts.pareto_chart(
            labels=[r[0] for r in pareto_rows], counts=[r[1] for r in pareto_rows],
            cumulative=[r[3] for r in pareto_rows], count_name=_("Complaints"),
            cumulative_name=_("Cumulative %")),
        "pareto_headers": [_("Category"), _("Complaints"), _("Share %"), _("Cumulative %")],
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
def mystery_figures(request: HttpRequest) -> HttpResponse:
    quarter = _quarter(request, Quarter.current())
    region_code = request.GET.get("region", "")
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
        "quarter": quarter, "region": region_code,
        "regions": region_list(user=request.user), "rows": rows,
        "items_spec": charts.grouped_bars(labels=[r[0] for r in rows], max_value=100,
                                          series=[(_("Share of points %"), [r[2] for r in rows])]),
        "items_headers": [_("Scorecard item"), _("Part"), _("Share of points %"),
                          _("Answers"), _("Scored 0")],
    })
