"""Pages: store and employee values, their traces, quarters (publish), schemes, HR."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from satisfaction.errors import ApplicationError
from satisfaction.forms import add_application_error
from satisfaction.permissions import role_required
from satisfaction.quarters import Quarter, quarter_param
from scoring import rules, selectors
from scoring.forms import AppraisalImportForm, ExportForm, PublishForm, RollupForm, SchemeForm
from scoring.labels import flag_label, indicator_label
from scoring.models import ExportLog, Rollup, Scheme
from scoring.services import (
    SCHEME_FIELDS,
    appraisal_import,
    hr_export,
    quarter_publish,
    rollup_quarter,
    scheme_create_version,
    scheme_current,
)


def _rollup(request: HttpRequest) -> tuple[Rollup | None, list[Quarter]]:
    quarters = selectors.quarters_with_values()
    quarter = quarter_param(request.GET, default=quarters[0] if quarters else None)
    number = selectors.revision_param(request.GET)
    if quarter is None:
        return None, quarters
    return selectors.rollup_for_display(quarter=quarter, revision=number), quarters


def _labelled(flags: list[str]) -> list[dict]:
    return [{"code": f, "label": flag_label(f)} for f in flags]


TRACE_ROWS_ON_PAGE = 50


def _trace_context(quarter: Quarter, store_id: int, employee_id: int | None) -> list[dict]:
    trace = selectors.score_trace(quarter=quarter, store_id=store_id, employee_id=employee_id,
                                  limit=TRACE_ROWS_ON_PAGE)
    titles = {"responses": _("Survey responses"), "visits": _("Mystery-shopper visits"),
              "complaints": _("Substantiated complaints")}
    return [{"kind": kind, "title": titles[kind], "count": part["count"],
             "rows": [selectors.trace_item(obj) for obj in part["rows"]]}
            for kind, part in trace.items()]


@role_required(rules.can_see_values)
def store_value_trace(request: HttpRequest, code: str) -> HttpResponse:
    """How a store's value of a revision was computed: its parts, the indicators, and the
    responses, visits and complaints it counted (the store's page is the dashboard's)."""
    rollup, quarters = _rollup(request)
    if rollup is None:
        raise Http404
    score = selectors.store_score_get(user=request.user, rollup=rollup, store_code=code)
    indicators = [{"code": code, "label": indicator_label(code), "n": values[0],
                   "score": values[1]} for code, values in sorted(score.indicators.items())]
    return render(request, "scoring/store_trace.html", {
        "rollup": rollup, "quarters": quarters, "score": score,
        "flags": _labelled(score.flags), "indicators": indicators,
        "trace": _trace_context(rollup.quarter, score.store_id, None)})


@role_required(rules.can_see_values)
def employee_score_detail(request: HttpRequest, number: str) -> HttpResponse:
    rollup, quarters = _rollup(request)
    if rollup is None:
        raise Http404
    score = selectors.employee_score_get(user=request.user, rollup=rollup, number=number)
    return render(request, "scoring/employee_detail.html", {
        "rollup": rollup, "quarters": quarters, "score": score, "scheme": rollup.scheme,
        "flags": _labelled(score.flags),
        "trace": _trace_context(rollup.quarter, score.store_id, score.employee_id)})


@login_required
def my_score(request: HttpRequest) -> HttpResponse:
    employee = request.user.employee
    if employee is None:
        raise Http404
    return redirect("scoring:employee_detail", number=employee.number)


@role_required(rules.can_see_quarters)
def quarter_list(request: HttpRequest) -> HttpResponse:
    rollup_form = RollupForm(prefix="rollup")
    publish_form = PublishForm(prefix="publish")
    return render(request, "scoring/quarters.html", {
        "rollups": selectors.rollup_list()[:40], "rollup_form": rollup_form,
        "publish_form": publish_form, "current": Quarter.current()})


@role_required(rules.can_compute_and_publish)
@require_POST
def quarter_rollup(request: HttpRequest) -> HttpResponse:
    form = RollupForm(request.POST, prefix="rollup")
    if form.is_valid():
        try:
            outcome = rollup_quarter(quarter=form.cleaned_data["quarter"], user=request.user,
                                     reason=form.cleaned_data["reason"])
        except ApplicationError as exc:
            messages.error(request, exc.message)
            add_application_error(form, exc)
        else:
            messages.success(request, _("%(q)s revision %(r)s computed: %(s)s stores, "
                                        "%(e)s employees.") % {
                "q": outcome.rollup.quarter, "r": outcome.rollup.revision,
                "s": outcome.stores, "e": outcome.employees})
            return redirect("scoring:quarters")
    return render(request, "scoring/quarters.html", {
        "rollups": selectors.rollup_list()[:40], "rollup_form": form,
        "publish_form": PublishForm(prefix="publish"), "current": Quarter.current()},
        status=400)


@role_required(rules.can_compute_and_publish)
@require_POST
def quarter_publish_view(request: HttpRequest) -> HttpResponse:
    form = PublishForm(request.POST, prefix="publish")
    if form.is_valid():
        try:
            rollup = quarter_publish(quarter=form.cleaned_data["quarter"], user=request.user)
        except ApplicationError as exc:
            messages.error(request, exc.message)
            add_application_error(form, exc)
        else:
            messages.success(request, _("%(q)s revision %(r)s is published and locked.")
                             % {"q": rollup.quarter, "r": rollup.revision})
            return redirect("scoring:quarters")
    return render(request, "scoring/quarters.html", {
        "rollups": selectors.rollup_list()[:40], "rollup_form": RollupForm(prefix="rollup"),
        "publish_form": form, "current": Quarter.current()}, status=400)


@role_required(rules.can_edit_scheme)
def scheme_edit(request: HttpRequest) -> HttpResponse:
    current = scheme_current()
    form = SchemeForm(request.POST or None, instance=None if request.POST else current)
    if request.method == "POST" and form.is_valid():
        values = {f: form.cleaned_data[f] for f in SCHEME_FIELDS}
        try:
            scheme = scheme_create_version(user=request.user, note=form.cleaned_data["note"],
                                           **values)
        except ApplicationError as exc:
            messages.error(request, exc.message)
            add_application_error(form, exc)
        else:
            messages.success(request, _("Scheme version %(v)s saved; the next rollup uses it.")
                             % {"v": scheme.version})
            return redirect("scoring:schemes")
    return render(request, "scoring/schemes.html", {
        "form": form, "current": current, "versions": Scheme.objects.all()[:20]},
        status=400 if form.errors else 200)


@role_required(rules.can_use_hr_tools)
def hr_page(request: HttpRequest) -> HttpResponse:
    import_form = AppraisalImportForm(request.POST or None, request.FILES or None)
    row_errors: list[str] = []
    if request.method == "POST" and import_form.is_valid():
        upload = import_form.cleaned_data["file"]
        try:
            count = appraisal_import(user=request.user, file_name=upload.name,
                                     content=upload.read())
        except ApplicationError as exc:
            import_form.add_error(None, exc.message)
            row_errors = exc.fields.get("rows", [])
            for field, errors in exc.fields.items():
                if field != "rows":
                    row_errors.extend(errors)
        else:
            messages.success(request, _("%(n)s appraisal rows imported.") % {"n": count})
            return redirect("scoring:hr")
    latest = selectors.latest_rollup()
    language = "en" if (get_language() or "").startswith("en") else "zh-hans"
    export_form = ExportForm(initial={
        "quarter": str(latest.quarter) if latest else "", "format": "xlsx",
        "language": language})
    return render(request, "scoring/hr.html", {
        "import_form": import_form, "row_errors": row_errors, "export_form": export_form,
        "exports": ExportLog.objects.select_related("user", "rollup")[:20]},
        status=400 if import_form.errors else 200)


@role_required(rules.can_use_hr_tools)
def hr_export_view(request: HttpRequest) -> HttpResponse:
    form = ExportForm(request.GET)
    if not form.is_valid():
        messages.error(request, _("Choose a quarter, a format and a language."))
        return redirect("scoring:hr")
    try:
        name, content, content_type = hr_export(
            user=request.user, quarter=form.cleaned_data["quarter"],
            file_format=form.cleaned_data["format"], language=form.cleaned_data["language"])
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("scoring:hr")
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
