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
from satisfaction.quarters import InvalidQuarterError, Quarter, quarter_param
from scoring import rules, selectors
from scoring.forms import AppraisalImportForm, ExportForm, PublishForm, RollupForm
from scoring.labels import flag_label, indicator_label
from scoring.models import ExportLog, Rollup, RollupStatus
from scoring.services import (
    appraisal_import,
    hr_export,
    quarter_publish,
    rollup_quarter,
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
LATE_STORES_ON_PAGE = 200


def _trace_context(rollup: Rollup, store_id: int, employee_id: int | None, *,
                   employee_value: bool = False) -> dict:
    """The trace of a value as the page shows it: what the revision counted, by kind
    (``trace``), and apart from it what arrived or changed since, not counted (``late``)."""
    trace = selectors.revision_trace(rollup=rollup, store_id=store_id, employee_id=employee_id,
                                     employee_value=employee_value, limit=TRACE_ROWS_ON_PAGE)
    titles = {"responses": _("Survey responses"), "visits": _("Mystery-shopper visits"),
              "complaints": _("Substantiated complaints")}
    return {"trace_recorded": trace["recorded"], "late": trace["late"],
            "own_only": employee_id is not None and not employee_value,
            "trace": [{"kind": kind, "title": titles[kind], "count": part["count"],
                       "rows": part["rows"]} for kind, part in trace["parts"].items()]}


@role_required(rules.can_see_values)
def store_value_trace(request: HttpRequest, code: str) -> HttpResponse:
    """How a store's value of a revision was computed: its parts, the indicators, and the
    responses, visits and complaints that revision counted (a clerk: only their own), with
    what arrived after it apart (the store's page is the dashboard's)."""
    rollup, quarters = _rollup(request)
    if rollup is None:
        raise Http404
    score = selectors.store_score_get(user=request.user, rollup=rollup, store_code=code)
    indicators = [{"code": code, "label": indicator_label(code), "n": values[0],
                   "score": values[1]} for code, values in sorted(score.indicators.items())]
    others = [number for number in selectors.rollup_list(quarter=rollup.quarter)
              .values_list("revision", flat=True) if number != rollup.revision]
    compare = None
    if others and rules.can_compare_revisions(request.user):
        # This revision against the newest other one, the older of the two first.
        other = max(others)
        compare = {"old": min(other, rollup.revision), "new": max(other, rollup.revision)}
    return render(request, "scoring/store_trace.html", {
        "rollup": rollup, "quarters": quarters, "score": score,
        "flags": _labelled(score.flags), "indicators": indicators, "compare": compare,
        **_trace_context(rollup, score.store_id, selectors.trace_employee_scope(request.user))})


@role_required(rules.can_see_values)
def employee_score_detail(request: HttpRequest, number: str) -> HttpResponse:
    rollup, quarters = _rollup(request)
    if rollup is None:
        raise Http404
    score = selectors.employee_score_get(user=request.user, rollup=rollup, number=number)
    return render(request, "scoring/employee_detail.html", {
        "rollup": rollup, "quarters": quarters, "score": score, "scheme": rollup.scheme,
        "flags": _labelled(score.flags),
        **_trace_context(rollup, score.store_id, score.employee_id, employee_value=True)})


@role_required(rules.can_compare_revisions)
def store_compare(request: HttpRequest, code: str) -> HttpResponse:
    """Two revisions of a store's value side by side: what was added, removed or changed, and
    how much each moved the value (``?quarter=&old=1&new=2``; default: the displayed revision
    and the one before it)."""
    quarters = selectors.quarters_with_values()
    compared = selectors.store_revision_comparison(
        user=request.user, code=code,
        quarter=quarter_param(request.GET, default=quarters[0] if quarters else None),
        old=selectors.revision_param(request.GET, "old"),
        new=selectors.revision_param(request.GET, "new"))
    rollup = compared.rollup
    return render(request, "scoring/store_compare.html", {
        "score": compared.new, "rollup": rollup, "quarters": quarters,
        "revisions": selectors.rollup_list(quarter=rollup.quarter),
        "comparison": compared.comparison})


@login_required
def my_score(request: HttpRequest) -> HttpResponse:
    employee = request.user.employee
    if employee is None:
        raise Http404
    return redirect("scoring:employee_detail", number=employee.number)


# Counting what arrived after publishing reads the quarter's inputs (about 3 s at the chain's
# scale, bench/rollup.py): the page counts it for the latest published quarter only, where late
# data and appeals still come in; an older quarter's count is one click away ("count").
LATE_COUNT_QUARTERS = 1


def _quarters_context(**forms) -> dict:
    """The revisions (newest first) with, for the latest published one, how many inputs
    arrived or changed since it was published (``selectors.late_counts``)."""
    rollups = list(selectors.rollup_list()[:40])
    published = [r for r in rollups if r.status == RollupStatus.PUBLISHED]
    late = selectors.late_counts(published[:LATE_COUNT_QUARTERS])
    for rollup in rollups:
        rollup.late_count = late.get(rollup.pk)
        rollup.has_late_list = rollup.status == RollupStatus.PUBLISHED
    return {"rollups": rollups, "current": Quarter.current(),
            "rollup_form": forms.get("rollup_form") or RollupForm(prefix="rollup"),
            "publish_form": forms.get("publish_form") or PublishForm(prefix="publish")}


@role_required(rules.can_see_quarters)
def quarter_list(request: HttpRequest) -> HttpResponse:
    return render(request, "scoring/quarters.html", _quarters_context())


@role_required(rules.can_see_quarters)
def quarter_late(request: HttpRequest, quarter: str) -> HttpResponse:
    """What arrived or changed after a quarter's published revision, per store (not counted by
    it); HQ starts a new revision with a reason from here."""
    try:
        parsed = Quarter.parse(quarter)
    except InvalidQuarterError:
        raise Http404 from None
    rollups = list(selectors.rollup_list(quarter=parsed))
    if not rollups:
        raise Http404
    rollup = next((r for r in rollups if r.status == RollupStatus.PUBLISHED), None)
    rows = selectors.late_store_rows(rollup=rollup) if rollup is not None else []
    form = RollupForm(prefix="rollup", initial={"quarter": str(parsed)})
    return render(request, "scoring/quarter_late.html", {
        "quarter": parsed, "rollup": rollup, "rows": rows[:LATE_STORES_ON_PAGE],
        "store_count": len(rows), "total": sum(r["total"] for r in rows), "rollup_form": form,
        "provisional": next((r for r in rollups if r.status == RollupStatus.PROVISIONAL),
                            None)})


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
    return render(request, "scoring/quarters.html", _quarters_context(rollup_form=form),
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
    return render(request, "scoring/quarters.html", _quarters_context(publish_form=form),
                  status=400)


def _hr_page(request: HttpRequest, *, import_form: AppraisalImportForm,
             export_form: ExportForm, row_errors: list[str], status: int) -> HttpResponse:
    return render(request, "scoring/hr.html", {
        "import_form": import_form, "row_errors": row_errors, "export_form": export_form,
        "exports": ExportLog.objects.select_related("user", "rollup")[:20]}, status=status)


def _export_form(data=None) -> ExportForm:
    """Offers the published quarters, the latest first and chosen; the page's language."""
    language = "en" if (get_language() or "").startswith("en") else "zh-hans"
    return ExportForm(data, initial={"format": "xlsx", "language": language})


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
    return _hr_page(request, import_form=import_form, export_form=_export_form(),
                    row_errors=row_errors, status=400 if import_form.errors else 200)


@role_required(rules.can_use_hr_tools)
def hr_export_view(request: HttpRequest) -> HttpResponse:
    """POST (it writes the export log, behind the CSRF check); a GET goes to the HR page.
    A quarter that is not published, or any other bad choice, is a form error on the page."""
    if request.method != "POST":
        return redirect("scoring:hr")
    form = _export_form(request.POST)
    if form.is_valid():
        try:
            name, content, content_type = hr_export(
                user=request.user, quarter=form.cleaned_data["quarter"],
                file_format=form.cleaned_data["format"],
                language=form.cleaned_data["language"])
        except ApplicationError as exc:
            add_application_error(form, exc)
        else:
            response = HttpResponse(content, content_type=content_type)
            response["Content-Disposition"] = f'attachment; filename="{name}"'
            return response
    return _hr_page(request, import_form=AppraisalImportForm(), export_form=form,
                    row_errors=[], status=400)
