"""Survey pages: the public questionnaire (no login), posters, and the staff pages."""

from __future__ import annotations

import hashlib
import io

from django.conf import settings
from django.contrib import messages
from django.core import signing
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from satisfaction.errors import ApplicationError
from satisfaction.jobs import job_start
from satisfaction.masking import mask_name
from satisfaction.models import Employee, Store
from satisfaction.permissions import role_required
from satisfaction.ratelimit import client_ip
from satisfaction.scoping import get_visible_store_or_404, visible_stores
from satisfaction.tabular import template_file
from surveys import exports, jobs, posters, rules
from surveys.charts import drivers_chart
from surveys.drivers import MIN_NPS_RESPONSES
from surveys.forms import PaperUploadForm
from surveys.models import (
    Campaign,
    FlagReason,
    Indicator,
    IndicatorGroup,
    ResponseStatus,
    StoreFlag,
)
from surveys.selectors import (
    campaign_drivers,
    campaign_list,
    campaign_result_rows,
    campaign_stores,
    driver_regions,
    flagged_response_list,
    open_campaign_for_store,
    open_store_flags,
)
from surveys.services import (
    ResponseInput,
    campaign_covers,
    invitation_create,
    invitation_for_token,
    paper_batch_create,
    paper_columns,
    public_response_submit,
    response_review,
    store_flag_review,
)
from surveys.weights import indicator_weights

_STARTED_SALT = "surveys.started"
PAPER_ROWS = 10


# --- Public questionnaire -----------------------------------------------------------------


def _screens(indicators: list[Indicator], errors: dict, posted) -> list[dict]:
    """One screen per indicator group, in the order of the groups' first indicator."""
    screens: dict[str, dict] = {}
    labels = dict(IndicatorGroup.choices)
    for indicator in indicators:
        screen = screens.setdefault(indicator.group, {"title": labels.get(indicator.group, ""),
                                                      "items": []})
        screen["items"].append({
            "indicator": indicator,
            "value": posted.get(f"rating_{indicator.code}", ""),
            "expect_value": posted.get(f"expect_{indicator.code}", ""),
            "errors": errors.get(f"ratings.{indicator.code}", []),
            "expect_errors": errors.get(f"expectations.{indicator.code}", [])})
    return list(screens.values())


def _duration(request: HttpRequest) -> int | None:
    """Seconds since the form was served, from the signed start time (None if missing)."""
    try:
        started = signing.TimestampSigner(salt=_STARTED_SALT).unsign(
            request.POST.get("started", ""), max_age=24 * 3600)
        return max(0, int(timezone.now().timestamp() - float(started)))
    except (signing.BadSignature, ValueError):
        return None


def _answers_from_post(request: HttpRequest, indicators: list[Indicator]) -> ResponseInput:
    post = request.POST
    return ResponseInput(
        ratings={i.code: post.get(f"rating_{i.code}", "") for i in indicators},
        expectations={i.code: post.get(f"expect_{i.code}", "") for i in indicators},
        employee_number=post.get("employee_number", "") or post.get("employee", ""),
        comment=post.get("comment", ""), overall=post.get("overall", ""),
        recommend=post.get("recommend", ""))


def _questionnaire(request: HttpRequest, *, store: Store, invitation=None) -> HttpResponse:
    campaign = (invitation.campaign if invitation and invitation.campaign
                and invitation.campaign.is_open else None) or open_campaign_for_store(
        store=store, day=timezone.localdate())
    if campaign is None or not store.is_active:
        return render(request, "surveys/public_message.html", {
            "title": _("No survey right now"), "store": store,
            "message": _("This store has no survey running at the moment. Thank you for "
                         "your interest!")}, status=200)
    indicators = list(Indicator.objects.filter(is_active=True).order_by("order", "code"))
    errors: dict[str, list[str]] = {}
    message = ""
    if request.method == "POST":
        try:
            public_response_submit(
                store=store, campaign=campaign, data=_answers_from_post(request, indicators),
                invitation=invitation, duration_seconds=_duration(request),
                ip=client_ip(request) or "", user_agent=request.META.get("HTTP_USER_AGENT", ""),
                language=get_language() or "")
        except ApplicationError as exc:
            if exc.code in ("token_used", "throttled", "campaign_closed"):
                return render(request, "surveys/public_message.html", {
                    "title": _("Thank you"), "store": store, "message": exc.message},
                    status=exc.status)
            errors, message = exc.fields, exc.message
        else:
            return render(request, "surveys/public_message.html", {
                "title": _("Thank you!"), "store": store, "thanks": True,
                "message": _("Your answers help us serve you better.")})
    staff = Employee.objects.filter(store=store, is_active=True).order_by("number")
    return render(request, "surveys/questionnaire.html", {
        "store": store, "campaign": campaign, "screens": _screens(indicators, errors, request.POST),
        "indicators": indicators, "scale": range(1, campaign.scale_max + 1),
        "recommend_scale": range(11),
        "errors": errors, "message": message, "posted": request.POST,
        "staff": [(e.number, _masked(e.name)) for e in staff],
        "started": signing.TimestampSigner(salt=_STARTED_SALT).sign(
            str(timezone.now().timestamp())),
    }, status=400 if errors else 200)


def _masked(name: str) -> str:
    return mask_name(name)


def store_questionnaire(request: HttpRequest, code: str) -> HttpResponse:
    store = Store.objects.filter(code__iexact=code).first()
    if store is None:
        return render(request, "surveys/public_message.html", {
            "title": _("Unknown store"),
            "message": _("We could not find this store. Please scan the code at the counter "
                         "again.")}, status=404)
    return _questionnaire(request, store=store)


def invitation_questionnaire(request: HttpRequest, token: str) -> HttpResponse:
    try:
        invitation = invitation_for_token(token=token)
    except ApplicationError as exc:
        return render(request, "surveys/public_message.html", {
            "title": _("Survey link"), "message": exc.message}, status=exc.status)
    return _questionnaire(request, store=invitation.store, invitation=invitation)


# --- Posters ------------------------------------------------------------------------------


@role_required(rules.can_see_surveys)
def store_poster(request: HttpRequest, code: str, fmt: str) -> HttpResponse:
    store = get_visible_store_or_404(request.user, code=code)
    url = settings.PUBLIC_BASE_URL + reverse("surveys_public:store", args=[store.code])
    if fmt == "svg":
        body, content_type = posters.poster_svg(store=store, url=url), "image/svg+xml"
    else:
        body, content_type = posters.poster_png(store=store, url=url), "image/png"
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'inline; filename="survey-{store.code}.{fmt}"'
    return response


# --- Staff pages --------------------------------------------------------------------------


@role_required(rules.can_see_surveys)
def campaign_list_view(request: HttpRequest) -> HttpResponse:
    return render(request, "surveys/campaign_list.html",
                  {"campaigns": campaign_list(user=request.user)[:200]})


def _campaign_for(request: HttpRequest, pk: int) -> Campaign:
    return get_object_or_404(campaign_list(user=request.user), pk=pk)


@role_required(rules.can_see_surveys)
def campaign_results_view(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = _campaign_for(request, pk)
    stores = campaign_stores(campaign=campaign, user=request.user)
    query = request.GET.get("q", "").strip()
    if query:
        stores = stores.filter(code__icontains=query) | stores.filter(name__icontains=query)
    page = Paginator(stores, 50).get_page(request.GET.get("page"))
    indicators = list(Indicator.objects.filter(is_active=True).order_by("order", "code"))
    weights = indicator_weights(quarter=campaign.quarter)
    rows = [(store, result, [result.indicator(i.code) for i in indicators])
            for store, result in campaign_result_rows(campaign=campaign, user=request.user,
                                                      weights=weights.weights,
                                                      stores=list(page))]
    return render(request, "surveys/campaign_results.html", {
        "campaign": campaign, "page": page, "rows": rows, "query": query,
        "indicators": [(i, weights.of(i.code)) for i in indicators], "weights": weights,
        **_drivers_section(request, campaign)})


def _drivers_section(request: HttpRequest, campaign: Campaign, *,
                     store: Store | None = None) -> dict:
    """What drives satisfaction, for the page's scope: one store (its results page), a region
    (``?region=``, one the user may choose), or every store the user sees."""
    user = request.user
    regions = list(driver_regions(user=user)) if store is None else []
    region = None
    code = request.GET.get("region", "")
    if code and store is None:
        region = next((r for r in regions if r.code == code), None)
        if region is None:  # not a region, or not one of the user's
            raise Http404
    result = campaign_drivers(campaign=campaign, user=user, region=region, store=store)
    if store is not None:
        scope = str(store)
    elif region is not None:
        scope = region.name
    else:
        scope = {rules.ALL_REGIONS: _("the whole chain"),
                 rules.OWN_REGIONS: _("your regions")}.get(rules.driver_region_choice(user),
                                                           _("your stores"))
    return {"drivers": result, "driver_scope": scope, "driver_regions": regions,
            "driver_region": region,
            "driver_all_label": (_("Whole chain") if rules.driver_region_choice(user)
                                 == rules.ALL_REGIONS else _("All my regions")),
            "driver_chart": drivers_chart(result) if result and result.enough else None,
            "min_nps": MIN_NPS_RESPONSES}



@role_required(rules.can_see_surveys)
def store_results_view(request: HttpRequest, pk: int, code: str) -> HttpResponse:
    campaign = _campaign_for(request, pk)
    store = get_visible_store_or_404(request.user, code=code)
    if not campaign_covers(campaign, store):
        raise Http404
    weights = indicator_weights(quarter=campaign.quarter)
    [(store, result)] = campaign_result_rows(campaign=campaign, user=request.user,
                                             weights=weights.weights, stores=[store])
    kano = {i.code: i.effective_kano_label for i in Indicator.objects.all()}
    return render(request, "surveys/store_results.html",
                  {"campaign": campaign, "store": store, "result": result, "weights": weights,
                   "indicator_rows": [(i, kano.get(i.code, "")) for i in result.indicators],
                   **_drivers_section(request, campaign, store=store)})


@role_required(rules.can_see_surveys)
def campaign_export_view(request: HttpRequest, pk: int, fmt: str) -> HttpResponse:
    """The results of the user's stores as a file in their language. Up to
    ``exports.STREAM_LIMIT`` stores are written in this response; more run as the job
    ``surveys.results_export`` (its page shows the progress, then the download)."""
    campaign = _campaign_for(request, pk)
    if exports.store_count(campaign=campaign, user=request.user) <= exports.STREAM_LIMIT:
        buffer = io.BytesIO()
        exports.write_export(buffer, campaign=campaign, user=request.user, fmt=fmt)
        response = HttpResponse(buffer.getvalue(), content_type=exports.CONTENT_TYPES[fmt])
        response["Content-Disposition"] = (
            f'attachment; filename="{exports.file_name(campaign, fmt)}"')
        return response
    job, started = job_start(
        kind=jobs.RESULTS_EXPORT_KIND, user=request.user,
        params=jobs.results_export_params(campaign=campaign, fmt=fmt),
        key=f"user-{request.user.pk}-campaign-{campaign.pk}-{fmt}")
    if not started:
        messages.info(request, _("This export is already running: here it is."))
    return redirect(job)


@role_required(rules.can_collect_responses)
def invitation_create_view(request: HttpRequest) -> HttpResponse:
    stores = visible_stores(request.user).filter(is_active=True).order_by("code")
    invitation = None
    errors: dict = {}
    if request.method == "POST":
        store = get_visible_store_or_404(request.user, code=request.POST.get("store", ""))
        try:
            days = request.POST.get("expires_in_days") or None
            invitation = invitation_create(
                store=store, transaction_ref=request.POST.get("transaction_ref", ""),
                expires_in_days=int(days) if days else None, channel="staff",
                created_by=request.user)
        except ValueError:
            errors = {"expires_in_days": [_("Enter a whole number of days.")]}
        except ApplicationError as exc:
            errors = exc.fields or {"non_field_errors": [exc.message]}
    return render(request, "surveys/invitation_create.html", {
        "stores": stores[:500], "invitation": invitation, "errors": errors,
        "qr": posters.qr_svg_inline(invitation.qr_payload) if invitation else "",
        "default_days": settings.SURVEY_INVITATION_DAYS},
        status=400 if errors else 200)


def _paper_upload(request: HttpRequest, form: PaperUploadForm) -> HttpResponse | None:
    """Start the dry run of an uploaded file of paper questionnaires (the job
    ``surveys.paper_import``) and show its page; the same file while its import runs shows
    that job."""
    if not form.is_valid():
        return None
    upload = form.cleaned_data["file"]
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    job, started = job_start(kind=jobs.PAPER_IMPORT_KIND, user=request.user,
                             params={"dry_run": True}, upload=upload,
                             key=f"user-{request.user.pk}-{digest.hexdigest()[:32]}")
    if not started:
        messages.info(request, _("This file is already being checked or imported: here it "
                                 "is."))
    return redirect(job)


@role_required(rules.can_collect_responses)
def paper_template_view(request: HttpRequest) -> HttpResponse:
    """The empty file of paper questionnaires, headed in the user's language
    (``?format=csv`` or ``xlsx``)."""
    fmt = request.GET.get("format", "xlsx")
    if fmt not in exports.FORMATS:
        raise ApplicationError(_("Choose CSV or XLSX."),
                               fields={"format": [_("Choose CSV or XLSX.")]})
    indicators = list(Indicator.objects.filter(is_active=True).order_by("order", "code"))
    body, content_type = template_file(paper_columns(indicators), fmt,
                                       sheet=_("Questionnaires"))
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = (
        f'attachment; filename="paper-questionnaires-{get_language() or "zh-hans"}.{fmt}"')
    return response


@role_required(rules.can_collect_responses)
def paper_entry_view(request: HttpRequest) -> HttpResponse:
    """Key in up to ``PAPER_ROWS`` paper questionnaires of one store, or upload a file of them
    (checked first in a dry run, then imported from the job's page)."""
    stores = visible_stores(request.user).filter(is_active=True).order_by("code")
    today = timezone.localdate()
    campaigns = list(campaign_list(user=request.user).filter(
        opens_on__lte=today, closes_on__gte=today))
    indicators = list(Indicator.objects.filter(is_active=True).order_by("order", "code"))
    errors: list[str] = []
    uploading = request.method == "POST" and request.POST.get("action") == "upload"
    upload_form = (PaperUploadForm(request.POST, request.FILES) if uploading
                   else PaperUploadForm())
    if uploading:
        started = _paper_upload(request, upload_form)
        if started is not None:
            return started
        errors = [e for messages_ in upload_form.errors.values() for e in messages_]
    elif request.method == "POST":
        store = get_visible_store_or_404(request.user, code=request.POST.get("store", ""))
        campaign = next((c for c in campaigns if str(c.pk) == request.POST.get("campaign")),
                        None)
        rows = []
        for index in range(PAPER_ROWS):
            prefix = f"r{index}_"
            values = {i.code: request.POST.get(prefix + i.code, "").strip() for i in indicators}
            employee = request.POST.get(prefix + "employee", "").strip()
            comment = request.POST.get(prefix + "comment", "").strip()
            overall = request.POST.get(prefix + "overall", "").strip()
            recommend = request.POST.get(prefix + "recommend", "").strip()
            if any(values.values()) or employee or comment or overall or recommend:
                rows.append(ResponseInput(ratings=values, employee_number=employee,
                                          comment=comment, overall=overall,
                                          recommend=recommend))
        if campaign is None:
            errors = [_("Choose an open campaign.")]
        else:
            try:
                batch = paper_batch_create(store=store, campaign=campaign, rows=rows,
                                           entered_by=request.user,
                                           note=request.POST.get("note", ""))
            except ApplicationError as exc:
                errors = [exc.message, *exc.fields.get("rows", []),
                          *[m for k, v in exc.fields.items() if k != "rows" for m in v]]
            else:
                held = batch.responses.filter(status=ResponseStatus.FLAGGED).count()
                messages.success(request, _("%(n)s paper questionnaires saved for %(store)s.") % {
                    "n": batch.responses.count(), "store": store})
                if held:
                    messages.warning(request, _(
                        "%(n)s of them wait for HQ review before they count: questionnaires "
                        "keyed in by the store's own staff, or naming who keyed them in as "
                        "the one who served, are checked first.") % {"n": held})
                return redirect("surveys:paper_entry")
    return render(request, "surveys/paper_entry.html", {
        "stores": stores[:500], "campaigns": campaigns, "indicators": indicators,
        "rows": range(PAPER_ROWS), "errors": errors, "posted": request.POST,
        "asks_overall": any(c.ask_overall for c in campaigns),
        "asks_recommend": any(c.ask_recommend for c in campaigns),
        "upload_form": upload_form}, status=400 if errors else 200)


@role_required(rules.can_review_flags)
def review_view(request: HttpRequest) -> HttpResponse:
    """HQ's queue: suspicious stores, and the held answers (suspicious public ones and those
    keyed in by the store's own staff) to clear or reject, filtered by reason."""
    reason = request.GET.get("reason", "")
    reason = reason if reason in FlagReason.values else ""
    page = Paginator(flagged_response_list(user=request.user, reason=reason), 50).get_page(
        request.GET.get("page"))
    return render(request, "surveys/review.html", {
        "page": page, "flags": open_store_flags(user=request.user)[:100],
        "reasons": FlagReason.choices, "reason": reason})


@role_required(rules.can_review_flags)
@require_POST
def review_responses_view(request: HttpRequest) -> HttpResponse:
    ids = [int(x) for x in request.POST.getlist("response") if x.isdigit()]
    try:
        count = response_review(user=request.user, response_ids=ids,
                                clear=request.POST.get("action") == "clear")
    except ApplicationError as exc:
        raise PermissionDenied(exc.message) from exc
    messages.success(request, _("%(n)s answers reviewed.") % {"n": count})
    return redirect("surveys:review")


@role_required(rules.can_review_flags)
@require_POST
def review_store_flag_view(request: HttpRequest, pk: int) -> HttpResponse:
    flag = get_object_or_404(StoreFlag, pk=pk)
    try:
        store_flag_review(user=request.user, flag=flag,
                          clear=request.POST.get("action") == "clear")
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return redirect("surveys:review")
