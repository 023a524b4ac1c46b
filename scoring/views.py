"""Pages: store and employee values, their traces, quarters (publish), schemes, HR."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from satisfaction.errors import ApplicationError
from satisfaction.forms import add_application_error
from satisfaction.jobs import job_start, jobs_for
from satisfaction.permissions import role_required
from satisfaction.quarters import InvalidQuarterError, Quarter, quarter_param
from satisfaction.tabular import template_file
from scoring import jobs, rules, selectors
from scoring.forms import AppraisalImportForm, ExportForm, QuarterPickForm, RollupForm
from scoring.labels import flag_label, indicator_label
from scoring.models import ExportLog, Rollup, RollupStatus
from scoring.selectors import QuarterOption
from scoring.services import (
    appraisal_template_columns,
    publish_blockers,
    rollup_refusal,
)


def _with_values(options: list[QuarterOption]) -> list[tuple[Quarter, str]]:
    """The quarters a value page can show: those with a provisional or published revision."""
    return [(o.quarter, o.label) for o in options
            if o.revision is not None or o.pending_revision is not None]


def _picker(quarters: list[tuple[Quarter, str]], quarter: Quarter | None) -> QuarterPickForm:
    return QuarterPickForm(quarters=quarters, initial={"quarter": quarter})


def _rollup(request: HttpRequest) -> tuple[Rollup | None, QuarterPickForm]:
    """The revision a value page shows (``?quarter=&revision=``; default: the latest quarter
    with values) and the page's quarter picker (``selectors.quarter_options``)."""
    quarters = _with_values(selectors.quarter_options())
    latest = max((q for q, _label in quarters), default=None)
    quarter = quarter_param(request.GET, default=latest)
    number = selectors.revision_param(request.GET)
    if quarter is None:
        return None, _picker(quarters, None)
    return (selectors.rollup_for_display(quarter=quarter, revision=number),
            _picker(quarters, quarter))


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
    rollup, picker = _rollup(request)
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
        "rollup": rollup, "picker": picker, "score": score,
        "flags": _labelled(score.flags), "indicators": indicators, "compare": compare,
        **_trace_context(rollup, score.store_id, selectors.trace_employee_scope(request.user))})


@role_required(rules.can_see_values)
def employee_score_detail(request: HttpRequest, number: str) -> HttpResponse:
    rollup, picker = _rollup(request)
    if rollup is None:
        raise Http404
    score = selectors.employee_score_get(user=request.user, rollup=rollup, number=number)
    return render(request, "scoring/employee_detail.html", {
        "rollup": rollup, "picker": picker, "score": score, "scheme": rollup.scheme,
        "flags": _labelled(score.flags),
        **_trace_context(rollup, score.store_id, score.employee_id, employee_value=True)})


@role_required(rules.can_compare_revisions)
def store_compare(request: HttpRequest, code: str) -> HttpResponse:
    """Two revisions of a store's value side by side: what was added, removed or changed, and
    how much each moved the value (``?quarter=&old=1&new=2``; default: the displayed revision
    and the one before it)."""
    options = selectors.quarter_options()
    # Only quarters with two revisions or more have something to compare: revisions are
    # numbered from 1, so a latest revision of 2 or more has one before it.
    quarters = [(o.quarter, o.label) for o in options
                if max(o.revision or 0, o.pending_revision or 0) >= 2]
    latest = max((q for q, _label in _with_values(options)), default=None)
    compared = selectors.store_revision_comparison(
        user=request.user, code=code, quarter=quarter_param(request.GET, default=latest),
        old=selectors.revision_param(request.GET, "old"),
        new=selectors.revision_param(request.GET, "new"))
    rollup = compared.rollup
    return render(request, "scoring/store_compare.html", {
        "score": compared.new, "rollup": rollup, "picker": _picker(quarters, rollup.quarter),
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


def _quarters_context(*, rollup_form: RollupForm | None = None) -> dict:
    """The revisions (newest first) with, for the latest published one, how many inputs
    arrived or changed since it was published (``selectors.late_counts``); the quarters with
    their states; the recompute form."""
    options = selectors.quarter_options()
    rollups = list(selectors.rollup_list()[:40])
    published = [r for r in rollups if r.status == RollupStatus.PUBLISHED]
    late = selectors.late_counts(published[:LATE_COUNT_QUARTERS])
    for rollup in rollups:
        rollup.late_count = late.get(rollup.pk)
        rollup.has_late_list = rollup.status == RollupStatus.PUBLISHED
    return {"rollups": rollups, "current": Quarter.current(), "options": options,
            "rollup_form": rollup_form or RollupForm(prefix="rollup", options=options)}


@role_required(rules.can_see_quarters)
def quarter_list(request: HttpRequest) -> HttpResponse:
    return render(request, "scoring/quarters.html", _quarters_context())


def _quarter_or_404(text: str) -> Quarter:
    try:
        return Quarter.parse(text)
    except InvalidQuarterError:
        raise Http404 from None


@role_required(rules.can_see_quarters)
def quarter_late(request: HttpRequest, quarter: str) -> HttpResponse:
    """What arrived or changed after a quarter's published revision, per store (not counted by
    it); HQ starts a new revision with a reason from here."""
    parsed = _quarter_or_404(quarter)
    rollups = list(selectors.rollup_list(quarter=parsed))
    if not rollups:
        raise Http404
    rollup = next((r for r in rollups if r.status == RollupStatus.PUBLISHED), None)
    rows = selectors.late_store_rows(rollup=rollup) if rollup is not None else []
    form = RollupForm(prefix="rollup", initial={"quarter": parsed})
    return render(request, "scoring/quarter_late.html", {
        "quarter": parsed, "rollup": rollup, "rows": rows[:LATE_STORES_ON_PAGE],
        "store_count": len(rows), "total": sum(r["total"] for r in rows), "rollup_form": form,
        "provisional": next((r for r in rollups if r.status == RollupStatus.PROVISIONAL),
                            None)})


def _started(request: HttpRequest, job, started: bool) -> HttpResponse:
    """To the job's page; a job of the same kind and key already queued or running is shown
    instead of a second one."""
    if not started:
        messages.info(request, _("This job is already running: here it is."))
    return redirect(job)


@role_required(rules.can_compute_and_publish)
@require_POST
def quarter_rollup(request: HttpRequest) -> HttpResponse:
    """Start the rollup of a quarter as a job (one per quarter at a time) and show it."""
    form = RollupForm(request.POST, prefix="rollup")
    refusal = form.is_valid() and rollup_refusal(quarter=form.cleaned_data["quarter"],
                                                 reason=form.cleaned_data["reason"])
    if refusal:
        messages.error(request, refusal.message)
        add_application_error(form, refusal)
    elif form.is_valid():
        quarter = form.cleaned_data["quarter"]
        job, started = job_start(kind=jobs.ROLLUP_KIND, user=request.user,
                                 params={"quarter": str(quarter),
                                         "reason": form.cleaned_data["reason"]},
                                 key=jobs.quarter_key(quarter))
        return _started(request, job, started)
    return render(request, "scoring/quarters.html", _quarters_context(rollup_form=form),
                  status=400)


@role_required(rules.can_compute_and_publish)
def quarter_publish_confirm(request: HttpRequest, quarter: str) -> HttpResponse:
    """What publishing the quarter locks (its provisional revision, stores and employees, the
    open appeals that block it, what arrived since it was computed) and, when it is refused,
    why (``services.publish_blockers``, the service's own checks). A POST starts the publish
    job; the service checks again when it runs."""
    parsed = _quarter_or_404(quarter)
    preview = selectors.publish_preview(quarter=parsed)
    blockers = publish_blockers(parsed)
    if request.method == "POST" and not blockers:
        job, started = job_start(kind=jobs.PUBLISH_KIND, user=request.user,
                                 params={"quarter": str(parsed)}, key=jobs.quarter_key(parsed))
        return _started(request, job, started)
    return render(request, "scoring/quarter_publish.html", {
        "quarter": parsed, "preview": preview, "blockers": blockers},
        status=409 if request.method == "POST" else 200)


HR_JOB_KINDS = (jobs.HR_EXPORT_KIND, jobs.APPRAISAL_IMPORT_KIND)


def _hr_page(request: HttpRequest, *, import_form: AppraisalImportForm,
             export_form: ExportForm, status: int) -> HttpResponse:
    return render(request, "scoring/hr.html", {
        "import_form": import_form, "export_form": export_form,
        "jobs": jobs_for(request.user).filter(kind__in=HR_JOB_KINDS).order_by("-created_at")[:5],
        "exports": ExportLog.objects.select_related("user", "rollup")[:20]}, status=status)


def _export_form(data=None) -> ExportForm:
    """Offers the published quarters, the latest first and chosen; the page's language."""
    language = "en" if (get_language() or "").startswith("en") else "zh-hans"
    return ExportForm(data, initial={"format": "xlsx", "language": language})


@role_required(rules.can_use_hr_tools)
def hr_page(request: HttpRequest) -> HttpResponse:
    """The HR tools. A POST uploads appraisal points: a dry run job first (what would be
    created, updated, left unchanged, or every bad cell), whose page offers the import."""
    import_form = AppraisalImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and import_form.is_valid():
        upload = import_form.cleaned_data["file"]
        try:
            job, started = job_start(
                kind=jobs.APPRAISAL_IMPORT_KIND, user=request.user, params={"dry_run": True},
                key=jobs.import_key(user=request.user, file_name=upload.name), upload=upload)
        except ApplicationError as exc:
            add_application_error(import_form, exc)
        else:
            return _started(request, job, started)
    return _hr_page(request, import_form=import_form, export_form=_export_form(),
                    status=400 if import_form.errors else 200)


TEMPLATE_FORMATS = ("xlsx", "csv")


@role_required(rules.can_use_hr_tools)
@require_GET
def appraisal_template(request: HttpRequest) -> HttpResponse:
    """The appraisal points template, headed in the user's language (``?format=csv``; XLSX by
    default); the import reads either language's headers."""
    fmt = request.GET.get("format") or "xlsx"
    if fmt not in TEMPLATE_FORMATS:
        raise ApplicationError(_("Choose XLSX or CSV."), fields={"format": [_("xlsx or csv")]})
    content, content_type = template_file(appraisal_template_columns(), fmt,
                                          sheet=_("Appraisal points"))
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="appraisal-points-template.{fmt}"'
    return response


@role_required(rules.can_use_hr_tools)
def hr_export_view(request: HttpRequest) -> HttpResponse:
    """POST starts the export job (it writes the export log and the file; its page shows the
    progress, then the download); a GET goes to the HR page. A quarter that is not
    published, or any other bad choice, is a form error on the page."""
    if request.method != "POST":
        return redirect("scoring:hr")
    form = _export_form(request.POST)
    if form.is_valid():
        quarter, file_format, language = (form.cleaned_data["quarter"],
                                          form.cleaned_data["format"],
                                          form.cleaned_data["language"])
        job, started = job_start(
            kind=jobs.HR_EXPORT_KIND, user=request.user,
            params={"quarter": str(quarter), "format": file_format, "language": language},
            key=jobs.export_key(user=request.user, quarter=quarter, file_format=file_format,
                                language=language))
        return _started(request, job, started)
    return _hr_page(request, import_form=AppraisalImportForm(), export_form=form, status=400)
