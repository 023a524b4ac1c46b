"""Pages: the shopper's phone report, HQ planning and review, the store's follow-up."""

from __future__ import annotations

import io
import uuid
from pathlib import Path

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.staticfiles import finders
from django.contrib.staticfiles.storage import staticfiles_storage
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from mystery_shopper import export as visit_export
from mystery_shopper import rules, selectors, services
from mystery_shopper.forms import ExportForm, QuarterForm
from mystery_shopper.jobs import EXPORT_KIND
from mystery_shopper.models import (
    Appeal,
    AppealStatus,
    EvidenceKind,
    ItemKind,
    ScorecardItem,
    ShopperCity,
    Visit,
    VisitStatus,
)
from satisfaction.errors import ApplicationError
from satisfaction.forms import QuarterChoiceField, quarter_choices_around
from satisfaction.jobs import job_start
from satisfaction.models import Role, User
from satisfaction.permissions import role_required
from satisfaction.quarters import Quarter, chain_zone, quarter_param
from satisfaction.tabular import CSV_CONTENT_TYPE, XLSX_CONTENT_TYPE


def _quarter(request: HttpRequest) -> Quarter:
    params = request.POST if "quarter" in request.POST else request.GET
    return quarter_param(params, default=Quarter.current())


shopper_required = role_required(rules.can_report_visits)
DONE_PAGE_SIZE = 20


# --- Shopper ----------------------------------------------------------------------------------


@login_required
@shopper_required
def my_visits(request: HttpRequest) -> HttpResponse:
    """The shopper's open visits (all of them), then their finished ones a page at a time."""
    groups = selectors.shopper_visit_groups(shopper=request.user)
    done = Paginator(selectors.shopper_done_visits(shopper=request.user), DONE_PAGE_SIZE
                     ).get_page(request.GET.get("page"))
    return render(request, "mystery_shopper/my_visits.html", {"groups": groups, "page": done})


def _answer_map(visit: Visit) -> dict[int, object]:
    return {a.item_id: a for a in visit.answers.all()}


def _collect_answers(request: HttpRequest, items) -> dict[int, dict]:
    answers = {}
    for item in items:
        key = f"item_{item.pk}"
        if key not in request.POST and f"{key}_na" not in request.POST:
            continue
        raw = request.POST.get(key, "")
        answers[item.pk] = {"value": None if raw == "na" else raw,
                            "not_applicable": raw == "na" or bool(request.POST.get(f"{key}_na")),
                            "comment": request.POST.get(f"{key}_comment", "")}
    return answers


def _visit_fields(request: HttpRequest) -> dict:
    """The visit's own fields among the posted ones (check-in, badge, notes)."""
    kwargs: dict = {}
    if "checked_in_at" in request.POST:
        moment = parse_datetime(request.POST["checked_in_at"] or "")
        if moment is not None and timezone.is_naive(moment):
            moment = timezone.make_aware(moment, chain_zone())
        kwargs["checked_in_at"] = moment
        kwargs["latitude"] = request.POST.get("latitude") or None
        kwargs["longitude"] = request.POST.get("longitude") or None
    if "served_by_badge" in request.POST:
        kwargs["served_by_badge"] = request.POST["served_by_badge"]
    if "notes" in request.POST:
        kwargs["notes"] = request.POST["notes"]
    return kwargs


def _save_step(request: HttpRequest, visit: Visit, items) -> None:
    services.visit_draft_save(visit=visit, shopper=request.user,
                              answers=_collect_answers(request, items), **_visit_fields(request))
    for item in items:
        for upload in request.FILES.getlist(f"evidence_{item.pk}"):
            services.visit_evidence_add(visit=visit, shopper=request.user, upload=upload,
                                        item=item)
    for upload in request.FILES.getlist("evidence"):
        services.visit_evidence_add(visit=visit, shopper=request.user, upload=upload)


@login_required
@shopper_required
def report(request: HttpRequest, pk: int) -> HttpResponse:
    """One screen per section: 0 is the check-in, then the sections, then notes and submit."""
    visit = selectors.shopper_visit_get(shopper=request.user, pk=pk)
    if not visit.is_editable_by_shopper:
        return redirect("mystery_shopper:report_view", pk=visit.pk)
    sections = selectors.sections_with_items(visit)
    last = len(sections) + 1
    try:
        step = max(0, min(last, int(request.GET.get("step", request.POST.get("step", 0)))))
    except ValueError:
        step = 0
    section = sections[step - 1] if 0 < step <= len(sections) else None
    items = list(section.items.all()) if section else []
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        try:
            _save_step(request, visit, items)
        except ApplicationError as exc:
            errors = exc.fields or {"non_field_errors": [exc.message]}
            if request.headers.get("x-autosave"):
                return JsonResponse(exc.as_dict(), status=exc.status)
        else:
            if request.headers.get("x-autosave"):
                return JsonResponse({"saved": timezone.now().isoformat()})
            target = request.POST.get("go", "next")
            if target == "submit":
                return _submit(request, visit)
            next_step = step - 1 if target == "back" else step + 1
            return redirect(f"{request.path}?step={max(0, min(last, next_step))}")
    visit.refresh_from_db()
    answers = _answer_map(visit)
    evidence = list(visit.evidence.filter(appeal__isnull=True))
    rows = [{"item": item, "answer": answers.get(item.pk),
             "evidence": [e for e in evidence if e.item_id == item.pk],
             "errors": errors.get(f"item_{item.pk}", []) + errors.get(f"evidence_{item.pk}", [])}
            for item in items]
    return render(request, "mystery_shopper/report.html", {
        "visit": visit, "step": step, "last": last, "section": section, "rows": rows,
        "sections": sections, "errors": errors, "ItemKind": ItemKind,
        "visit_evidence": [e for e in evidence if e.item_id is None],
        "now": timezone.localtime(timezone.now(), chain_zone()).strftime("%Y-%m-%dT%H:%M"),
        "checked_in_local": timezone.localtime(visit.checked_in_at, chain_zone())
        .strftime("%Y-%m-%dT%H:%M") if visit.checked_in_at else "",
        "steps": range(last + 1),
    })


# --- The report offline: the phone's queue, sent when the connection returns ---------------


SERVICE_WORKER = "mystery_shopper/sw.js"


def service_worker(request: HttpRequest) -> HttpResponse:
    """The report's service worker (static/mystery_shopper/sw.js), served from this app's
    path so that its scope covers the report pages. The same file for everyone: no login."""
    path = finders.find(SERVICE_WORKER)
    if path:
        content = Path(path).read_bytes()
    else:  # collected (production) without the app's sources
        with staticfiles_storage.open(SERVICE_WORKER) as handle:
            content = handle.read()
    response = HttpResponse(content, content_type="application/javascript; charset=utf-8")
    response["Service-Worker-Allowed"] = reverse("mystery_shopper:my_visits")
    return response


def _json_error(exc: ApplicationError) -> JsonResponse:
    return JsonResponse(exc.as_dict(), status=exc.status)


@require_POST
@login_required
@shopper_required
def report_draft(request: HttpRequest, pk: int) -> JsonResponse:
    """Save the report's draft the phone kept (the report's own field names, any subset of
    every step). Each answer is stored per item, last write wins: sending it again changes
    nothing."""
    visit = selectors.shopper_visit_get(shopper=request.user, pk=pk)
    items = [item for section in selectors.sections_with_items(visit)
             for item in section.items.all()]
    try:
        services.visit_draft_save(visit=visit, shopper=request.user,
                                  answers=_collect_answers(request, items),
                                  **_visit_fields(request))
    except ApplicationError as exc:
        return _json_error(exc)
    return JsonResponse({"saved": timezone.now().isoformat()})


@require_POST
@login_required
@shopper_required
def report_evidence(request: HttpRequest, pk: int) -> JsonResponse:
    """Upload one queued photo or recording (multipart ``file``, optional ``item``, the phone's
    ``client_id``): 201 when stored, 200 with the stored file when that id was sent before."""
    visit = selectors.shopper_visit_get(shopper=request.user, pk=pk)
    try:
        client_id = uuid.UUID(request.POST.get("client_id", ""))
    except ValueError:
        return _json_error(ApplicationError(_("Not a valid id."),
                                            fields={"client_id": [_("Not a valid id.")]}))
    upload = request.FILES.get("file")
    if upload is None:
        return _json_error(ApplicationError(_("No file."), fields={"file": [_("No file.")]}))
    item = None
    if request.POST.get("item"):
        item = get_object_or_404(ScorecardItem.objects.select_related("section"),
                                 pk=request.POST["item"] if request.POST["item"].isdigit()
                                 else 0, section__template=visit.template_id)
    try:
        evidence, created = services.visit_evidence_add_once(
            visit=visit, shopper=request.user, upload=upload, item=item, client_id=client_id)
    except ApplicationError as exc:
        return _json_error(exc)
    return JsonResponse({"id": str(evidence.public_id), "client_id": str(client_id),
                         "kind": evidence.kind, "item": evidence.item_id,
                         "url": reverse("mystery_shopper:evidence", args=[evidence.public_id])},
                        status=201 if created else 200)


def _report_files(request: HttpRequest, visit: Visit) -> list:
    """The report's photos and recordings the user sees (``selectors.visit_evidence_for``)."""
    return selectors.visit_evidence_for(user=request.user, visit=visit)[0]


def _review_rows(visit: Visit, report_files: list, errors: dict | None = None) -> list[dict]:
    """The report section by section, each item with its files among ``report_files``."""
    answers = _answer_map(visit)
    result = []
    for number, section in enumerate(selectors.sections_with_items(visit), start=1):
        result.append({"section": section, "step": number, "rows": [
            {"item": item, "answer": answers.get(item.pk),
             "evidence": [e for e in report_files if e.item_id == item.pk],
             "errors": (errors or {}).get(f"item_{item.pk}", [])}
            for item in section.items.all()]})
    return result


def _submit(request: HttpRequest, visit: Visit) -> HttpResponse:
    try:
        services.visit_submit(visit=visit, shopper=request.user)
    except ApplicationError as exc:
        visit.refresh_from_db()
        return render(request, "mystery_shopper/report_check.html", {
            "visit": visit, "errors": exc.fields, "fixable": True, "message": exc.message,
            "groups": _review_rows(visit, _report_files(request, visit), exc.fields)},
            status=400)
    messages.success(request, _("Report submitted. Thank you!"))
    return redirect("mystery_shopper:my_visits")


@login_required
@shopper_required
def report_view(request: HttpRequest, pk: int) -> HttpResponse:
    visit = selectors.shopper_visit_get(shopper=request.user, pk=pk)
    return render(request, "mystery_shopper/report_readonly.html", {
        "visit": visit, "groups": _review_rows(visit, _report_files(request, visit)),
        "show_shopper": True})


# --- Evidence ---------------------------------------------------------------------------------


@login_required
def evidence_file(request: HttpRequest, public_id) -> FileResponse:
    evidence = selectors.evidence_get_for(user=request.user, public_id=public_id)
    try:
        handle = evidence.file.open("rb")
    except (FileNotFoundError, OSError):
        raise Http404 from None
    # Photos are shown inline (the report pages' thumbnails); recordings are downloads (an
    # <audio> element plays them all the same). Every file keeps its sniffed type (nosniff) and
    # runs nothing from our origin (a sandbox): a photo that is also HTML stays a photo.
    response = FileResponse(handle, content_type=evidence.content_type,
                            filename=evidence.download_name,
                            as_attachment=evidence.kind != EvidenceKind.PHOTO)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "sandbox; default-src 'none'"
    return response


# --- HQ: planning -----------------------------------------------------------------------------


def _plan_quarters(*extra: Quarter) -> list[tuple[Quarter, str]]:
    """The quarters the plan offers: around the current one, and every quarter with visits."""
    return quarter_choices_around(before=2, after=3,
                                  extra=[*selectors.visit_quarters(), *extra])


OVERDUE = "overdue"  # the plan's status filter: past their due date and not reported


@role_required(rules.can_plan_visits)
def plan(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        quarter = _quarter(request)
        action = request.POST.get("action")
        try:
            if action == "generate":
                result = services.visit_plan_generate(quarter=quarter, user=request.user)
                messages.success(request, _("%(created)s visits planned, %(unassigned)s without "
                                            "a shopper.") % {"created": result.created,
                                                             "unassigned": result.unassigned})
            elif action == "frequency":
                count = services.visit_frequency_set_many(
                    store_codes=request.POST.get("stores", "").replace(",", " ").split(),
                    quarter=quarter, visits=int(request.POST.get("visits") or 0))
                messages.success(request, _("Frequency saved for %(n)s stores.")
                                 % {"n": count})
        except (ApplicationError, ValueError) as exc:
            messages.error(request, getattr(exc, "message", str(exc)))
        return redirect(f"{request.path}?quarter={quarter}")
    form = QuarterForm(request.GET if "quarter" in request.GET else None,
                       quarters=_plan_quarters(), initial={"quarter": Quarter.current()})
    quarter = form.cleaned_data["quarter"] if form.is_bound and form.is_valid() \
        else Quarter.current()
    status = request.GET.get("status", "")
    if status == OVERDUE:
        visits = selectors.overdue_visits(quarter=quarter)
    else:
        visits = selectors.review_list(status=status, quarter=quarter)
    page = Paginator(visits, 50).get_page(request.GET.get("page"))
    return render(request, "mystery_shopper/plan.html", {
        "quarter": quarter, "page": page, "status": status, "form": form,
        "statuses": [(OVERDUE, _("Overdue")), *VisitStatus.choices],
        "overdue": selectors.overdue_visits(quarter=quarter).count(),
        "export_form": _export_form(request, initial_quarter=quarter),
        "changes": selectors.visit_frequency_changes(quarter=quarter)},
        status=400 if form.errors else 200)


@role_required(rules.can_plan_visits)
def visit_manage(request: HttpRequest, pk: int) -> HttpResponse:
    visit = get_object_or_404(Visit.objects.select_related("store", "shopper"), pk=pk)
    if request.method == "POST":
        try:
            if request.POST.get("action") == "cancel":
                services.visit_cancel(visit=visit, user=request.user,
                                      comment=request.POST.get("comment", ""))
                messages.success(request, _("Visit cancelled."))
            else:
                shopper = get_object_or_404(User, pk=request.POST.get("shopper") or 0,
                                            role=Role.MYSTERY_SHOPPER)
                services.visit_reassign(visit=visit, shopper=shopper, user=request.user)
                messages.success(request, _("Visit reassigned."))
            return redirect(f"/mystery-shopper/plan/?quarter={visit.quarter}")
        except ApplicationError as exc:
            messages.error(request, exc.message)
    shoppers = User.objects.filter(
        role=Role.MYSTERY_SHOPPER, is_active=True,
        pk__in=ShopperCity.objects.filter(city=visit.store.city).values("shopper_id"))
    return render(request, "mystery_shopper/visit_manage.html", {
        "visit": visit, "shoppers": shoppers, "events": visit.events.select_related("actor")})


# --- HQ: scorecards --------------------------------------------------------------------------


@role_required(rules.can_plan_visits)
def scorecards(request: HttpRequest) -> HttpResponse:
    """The scorecards are edited in the setup area now (item by item); this address is kept
    for bookmarks and links."""
    return redirect("mystery_shopper_setup:scorecards")


# --- HQ: review -------------------------------------------------------------------------------


@role_required(rules.can_review_visits)
def review_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", VisitStatus.SUBMITTED)
    page = Paginator(selectors.review_list(status=status), 50).get_page(request.GET.get("page"))
    return render(request, "mystery_shopper/review_list.html", {
        "page": page, "status": status, "statuses": VisitStatus.choices})


@role_required(rules.can_review_visits)
def review_detail(request: HttpRequest, pk: int) -> HttpResponse:
    visit = get_object_or_404(Visit.objects.select_related(
        "store", "shopper", "employee", "template", "scenario"), pk=pk)
    if request.method == "POST":
        comment = request.POST.get("comment", "")
        try:
            if request.POST.get("action") == "approve":
                services.visit_approve(visit=visit, reviewer=request.user, comment=comment)
                messages.success(request, _("Report approved."))
            else:
                services.visit_return(visit=visit, reviewer=request.user, comment=comment)
                messages.success(request, _("Report sent back to the shopper."))
            return redirect("mystery_shopper:review_list")
        except ApplicationError as exc:
            messages.error(request, exc.message)
    score = services.visit_compute_score(visit)
    return render(request, "mystery_shopper/review_detail.html", {
        "visit": visit, "groups": _review_rows(visit, _report_files(request, visit)),
        "score": score, "show_shopper": True,
        "events": visit.events.select_related("actor"),
        "parts": [(_("Purchase evaluation"), score.part_points["purchase"],
                   score.part_max["purchase"]),
                  (_("Ask-then-dispense process"), score.part_points["process"],
                   score.part_max["process"]),
                  (_("Store image"), score.part_points["image"], score.part_max["image"])]})


# --- Store ------------------------------------------------------------------------------------


@role_required(rules.can_see_store_visits)
def store_visits(request: HttpRequest) -> HttpResponse:
    quarter = None
    if request.GET.get("quarter"):
        quarter = _quarter(request)
    page = Paginator(selectors.store_visit_list(user=request.user, quarter=quarter), 50
                     ).get_page(request.GET.get("page"))
    return render(request, "mystery_shopper/store_visits.html",
                  {"page": page, "quarter": quarter or ""})


@role_required(rules.can_see_store_visits)
def store_visit(request: HttpRequest, pk: int) -> HttpResponse:
    visit = selectors.store_visit_get(user=request.user, pk=pk)
    can_follow_up = rules.can_follow_up(request.user)
    if request.method == "POST":
        if not can_follow_up:
            raise PermissionDenied
        try:
            if request.POST.get("action") == "appeal":
                services.appeal_raise(visit=visit, user=request.user,
                                      reason=request.POST.get("reason", ""),
                                      uploads=request.FILES.getlist("evidence"))
                messages.success(request, _("Appeal sent to HQ."))
            else:
                services.visit_acknowledge(visit=visit, user=request.user,
                                           coaching=request.POST.get("coaching", ""))
                messages.success(request, _("Saved."))
            return redirect("mystery_shopper:store_visit", pk=visit.pk)
        except ApplicationError as exc:
            messages.error(request, exc.message)
    deadline = services.appeal_deadline(visit)
    appeals = list(visit.appeals.all())
    report_files, appeal_files = selectors.visit_evidence_for(user=request.user, visit=visit)
    return render(request, "mystery_shopper/store_visit.html", {
        "visit": visit, "groups": _review_rows(visit, report_files),
        "can_follow_up": can_follow_up, "appeals": appeals, "deadline": deadline,
        "appeal_evidence": appeal_files,
        "can_appeal": can_follow_up and not appeals and deadline is not None
        and timezone.now() <= deadline,
    })


# --- HQ: appeals ------------------------------------------------------------------------------


@role_required(rules.can_decide_appeals)
def appeal_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", AppealStatus.OPEN)
    appeals = selectors.appeal_list(user=request.user, status=status)
    return render(request, "mystery_shopper/appeal_list.html", {
        "appeals": appeals[:200], "status": status, "statuses": AppealStatus.choices})


@role_required(rules.can_decide_appeals)
def appeal_decide(request: HttpRequest, pk: int) -> HttpResponse:
    appeal = get_object_or_404(Appeal.objects.select_related("visit", "visit__store"), pk=pk)
    visit = appeal.visit
    groups = _review_rows(visit, _report_files(request, visit))
    if request.method == "POST":
        items = [row["item"] for group in groups for row in group["rows"]]
        corrections = {}
        for item in items:
            raw = request.POST.get(f"item_{item.pk}")
            if raw is not None:
                corrections[item.pk] = {"value": None if raw == "na" else raw,
                                        "not_applicable": raw == "na"}
        try:
            services.appeal_decide(appeal=appeal, user=request.user,
                                   note=request.POST.get("note", ""), corrections=corrections)
            messages.success(request, _("Decision recorded."))
            return redirect("mystery_shopper:appeal_list")
        except ApplicationError as exc:
            messages.error(request, exc.message)
    return render(request, "mystery_shopper/appeal_decide.html", {
        "appeal": appeal, "visit": visit, "groups": groups, "ItemKind": ItemKind,
        "appeal_evidence": list(appeal.evidence.all())})


@require_POST
@login_required
@shopper_required
def evidence_delete(request: HttpRequest, pk: int, public_id) -> HttpResponse:
    visit = selectors.shopper_visit_get(shopper=request.user, pk=pk)
    evidence = get_object_or_404(visit.evidence, public_id=public_id, appeal__isnull=True)
    try:
        services.visit_evidence_delete(evidence=evidence, shopper=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    step = request.POST.get("step", "0")
    return redirect(f"{reverse('mystery_shopper:report', args=[visit.pk])}"
                    f"?step={int(step) if step.isdigit() else 0}")



# --- Export -----------------------------------------------------------------------------------


def _export_form(request: HttpRequest, *, initial_quarter: Quarter | None = None,
                 data=None) -> ExportForm:
    """The export's form: the quarters that have visits (the current one when none has)."""
    quarters = selectors.visit_quarters() or [Quarter.current()]
    form = ExportForm(data, initial={"quarter": initial_quarter or quarters[0]})
    form.fields["quarter"] = QuarterChoiceField(
        label=_("Quarter"), quarters=[(q, str(q)) for q in quarters])
    form.order_fields(["quarter", "format"])
    return form


@role_required(rules.can_export_visits)
def export(request: HttpRequest) -> HttpResponse:
    """The visit reports of a quarter the user may export, as CSV or XLSX in their language:
    built in the response up to ``export.SMALL_EXPORT_ROWS`` rows, by a job beyond."""
    form = _export_form(request, data=request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        quarter, file_format = form.cleaned_data["quarter"], form.cleaned_data["format"]
        count = visit_export.export_count(user=request.user, quarter=quarter)
        if count > visit_export.SMALL_EXPORT_ROWS:
            job, started = job_start(kind=EXPORT_KIND, user=request.user,
                                     params={"quarter": str(quarter), "format": file_format},
                                     key=f"{request.user.pk}-{quarter}-{file_format}")
            if not started:
                messages.info(request, _("This export is already running; here it is."))
            return redirect(job)
        buffer = io.BytesIO()
        visit_export.export_write(buffer, user=request.user, quarter=quarter,
                                  file_format=file_format)
        content_type = XLSX_CONTENT_TYPE if file_format == "xlsx" else CSV_CONTENT_TYPE
        response = HttpResponse(buffer.getvalue(), content_type=content_type)
        response["Content-Disposition"] = (
            f'attachment; filename="{visit_export.export_name(quarter, file_format)}"')
        return response
    return render(request, "mystery_shopper/export.html", {
        "form": form, "limit": visit_export.SMALL_EXPORT_ROWS,
        "sees_shopper": rules.sees_shopper(request.user)},
        status=400 if form.errors else 200)
