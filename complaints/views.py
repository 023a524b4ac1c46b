"""Complaint pages: staff intake, list, detail with its actions, 8D report, figures; and the
customer's public form and status check."""

from __future__ import annotations

import io
from datetime import timedelta

import segno
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from satisfaction import ratelimit
from satisfaction.errors import ApplicationError
from satisfaction.forms import add_application_error
from satisfaction.jobs import job_start, personal_key
from satisfaction.masking import mask_name, mask_phone
from satisfaction.models import Store
from satisfaction.permissions import role_required
from satisfaction.ratelimit import client_ip
from satisfaction.scoping import get_visible_store_or_404

from . import exports, jobs, rules, selectors, services
from .forms import (
    ActionForm,
    AdrExportForm,
    AdrReportedForm,
    AppealDecisionForm,
    AppealForm,
    ComplaintExportForm,
    ComplaintFilterForm,
    ComplaintPolicyForm,
    EightDForm,
    FigureFilterForm,
    GradePolicyForm,
    InternalComplaintForm,
    InternalConfirmForm,
    InternalFilterForm,
    InternalResolveForm,
    ProductEditForm,
    ProductPeriodForm,
    PublicComplaintForm,
    RecurrenceForm,
    ResolveForm,
    StaffComplaintForm,
    StoreHoursForm,
    StoreHoursSearchForm,
    TicketLookupForm,
    TriageForm,
    yes_no,
)
from .models import (
    GRADE_DEFINITIONS,
    AppealStatus,
    Category,
    Complaint,
    ComplaintAttachment,
    ComplaintEvent,
    ComplaintPolicy,
    ComplaintProduct,
    EightDReport,
    Grade,
    RecurrenceCheck,
    Source,
    Status,
)


def _masked(complaint: Complaint, user) -> tuple[str, str]:
    if rules.sees_contact(user, complaint):
        return complaint.customer_name, complaint.customer_phone
    return mask_name(complaint.customer_name), mask_phone(complaint.customer_phone)


# --- Staff pages ----------------------------------------------------------------------------

def _list_response(request: HttpRequest, form: ComplaintFilterForm,
                   status: int = 200) -> HttpResponse:
    filters = form.filters()
    complaints = selectors.complaint_list(user=request.user, **filters)
    page = Paginator(complaints, 50).get_page(request.GET.get("page"))
    full = rules.sees_contact(request.user)
    clocks = selectors.sla_clocks(complaints=page)
    for complaint in page:
        complaint.clock = clocks.get(complaint.pk)
        complaint.shown_name = complaint.customer_name if full else mask_name(
            complaint.customer_name)
        complaint.shown_phone = complaint.customer_phone if full else mask_phone(
            complaint.customer_phone)
    query = request.GET.copy()
    for name in ("page", "format"):
        query.pop(name, None)
    return render(request, "complaints/list.html", {
        "page": page, "form": form,
        "filters": {"status": filters["status"], "grade": filters["grade"],
                    "category": filters["category"], "store": filters["store_code"],
                    "q": filters["query"], "batch": filters["batch"]},
        "statuses": Status.choices, "grades": Grade.choices, "categories": Category.choices,
        "can_record": rules.can_record(request.user),
        "can_see_products": rules.can_see_products(request.user),
        "overdue": filters["overdue"], "mine": filters["mine"],
        "export_query": query.urlencode(), "export_limit": exports.STREAM_LIMIT,
    }, status=status)


@role_required(rules.can_see_complaints)
def complaint_list(request: HttpRequest) -> HttpResponse:
    return _list_response(request, ComplaintFilterForm(request.GET))


@role_required(rules.can_export)
def complaint_export(request: HttpRequest) -> HttpResponse:
    """The list as a file, with the page's filters and scope. Up to ``exports.STREAM_LIMIT``
    rows are written in this response; more run as the job ``complaints.export`` (its page
    shows the progress and then the download)."""
    form = ComplaintExportForm(request.GET)
    if not form.is_valid():
        return _list_response(request, form, status=400)
    filters, fmt = form.filters(), form.cleaned_data["format"]
    count = exports.export_queryset(user=request.user, filters=filters).count()
    if count <= exports.STREAM_LIMIT:
        buffer = io.BytesIO()
        exports.write_export(buffer, user=request.user, filters=filters, fmt=fmt)
        response = HttpResponse(buffer.getvalue(), content_type=exports.CONTENT_TYPES[fmt])
        response["Content-Disposition"] = f'attachment; filename="{exports.file_name(fmt)}"'
        return response
    params = jobs.export_params(filters=filters, fmt=fmt)
    job, started = job_start(kind=jobs.EXPORT_KIND, user=request.user, params=params,
                             key=personal_key(user=request.user, params=params))
    if not started:
        messages.info(request, _("This export is already running: here it is."))
    return redirect(job)


@role_required(rules.can_record)
@require_http_methods(["GET", "POST"])
def complaint_create(request: HttpRequest) -> HttpResponse:
    form = StaffComplaintForm(request.POST or None, request.FILES or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            complaint = services.complaint_create(
                store=data["store"], channel=data["channel"], category=data["category"],
                description=data["description"], customer_name=data["customer_name"],
                customer_phone=data["customer_phone"], occurred_at=data["occurred_at"],
                received_at=data["received_at"], employee=data["employee"],
                received_by=request.user, source=Source.STAFF,
                attachments=data["attachments"], previous_ticket=data["previous_ticket"],
                product=form.product(), customer_email=data["customer_email"])
        except ApplicationError as error:
            add_application_error(form, error)
        else:
            messages.success(request, _("Complaint %(ticket)s recorded.") % {
                "ticket": complaint.ticket_no})
            return redirect("complaints:detail", pk=complaint.pk)
    return render(request, "complaints/form.html", {"form": form},
                  status=400 if form.errors else 200)


def _detail_context(request: HttpRequest, complaint: Complaint, forms: dict) -> dict:
    user = request.user
    report = EightDReport.objects.filter(complaint=complaint).first()
    name, phone = _masked(complaint, user)
    can_handle = rules.can_handle(user, complaint)
    actions = services.allowed_actions(complaint) if can_handle else []
    appeals = list(complaint.appeals.select_related("filed_by", "decided_by"))
    open_appeal = next((a for a in appeals if a.status == AppealStatus.OPEN), None)
    deadline = services.appeal_deadline(complaint)
    checks = list(RecurrenceCheck.objects.filter(complaint=complaint)
                  .select_related("recurrence", "confirmed_by").order_by("cycle", "due_at"))
    # The owner answers the earliest open check of the last cycle (services.recurrence_confirm).
    check = next((c for c in checks if c.cycle == complaint.cycle and c.confirmed_at is None),
                 None)
    version = {"version": complaint.version}
    context = {
        "complaint": complaint, "customer_name": name, "customer_phone": phone,
        "report": report, "eight_d_required": services.eight_d_required(complaint),
        "events": ComplaintEvent.with_fields(complaint.events.select_related("actor")),
        "attachments": complaint.attachments.all(),
        "alerts": complaint.alerts.all(), "appeals": appeals, "open_appeal": open_appeal,
        "appeal_deadline": deadline, "check": check, "checks": checks,
        "clock": selectors.sla_clocks(complaints=[complaint]).get(complaint.pk),
        "can_triage": rules.can_triage(user) and complaint.status != Status.CLOSED,
        "can_handle": can_handle, "actions": [a for a in actions if a != "resolve"],
        "can_resolve": "resolve" in actions,
        "can_appeal": (rules.can_appeal(user) and deadline is not None
                       and timezone.now() <= deadline and open_appeal is None),
        "can_decide": rules.can_decide_appeal(user) and open_appeal is not None,
        "repeats": complaint.repeats.all(), "recurrences": complaint.recurrences.all(),
    }
    context["triage_form"] = forms.get("triage") or TriageForm(
        store=complaint.store, initial={
            **version, "grade": complaint.grade, "responsibility": complaint.responsibility,
            "owner": complaint.owner_id,
            "substantiated": {True: "yes", False: "no"}.get(complaint.substantiated, "")})
    context["action_form"] = forms.get("action") or ActionForm(initial=version)
    context["resolve_form"] = forms.get("resolve") or ResolveForm(initial=version)
    context["appeal_form"] = forms.get("appeal") or AppealForm()
    context["decision_form"] = forms.get("decision") or AppealDecisionForm(
        initial={"appeal": open_appeal.pk} if open_appeal else None)
    context["recurrence_form"] = forms.get("recurrence") or RecurrenceForm()
    _product_context(context, complaint, user, forms)
    return context


def _product_context(context: dict, complaint: Complaint, user, forms: dict) -> None:
    """The product block: the medicine, the adverse-reaction flag (prominent for HQ), the
    form that completes / corrects it and HQ's "reported to the monitoring system" button."""
    product = ComplaintProduct.objects.filter(complaint=complaint).first()
    is_product = complaint.category == Category.PRODUCT_QUALITY
    context["product"] = product
    context["can_edit_product"] = (is_product and context["can_handle"]
                                   and complaint.status != Status.CLOSED)
    context["can_report_adr"] = (rules.can_report_adr(user) and product is not None
                                 and product.suspected_adr and product.adr_reported_at is None)
    if context["can_edit_product"]:
        initial = {"version": complaint.version}
        if product is not None:
            initial.update({name: getattr(product, name) for name in services.PRODUCT_FIELDS})
        context["product_form"] = forms.get("product") or ProductEditForm(initial=initial)


def _do_triage(complaint: Complaint, user, d: dict) -> None:
    services.complaint_triage(
        complaint=complaint, user=user, version=d["version"], grade=d["grade"],
        substantiated=yes_no(d["substantiated"]), responsibility=d["responsibility"],
        owner=d["owner"])


def _do_resolve(complaint: Complaint, user, d: dict) -> None:
    services.complaint_resolve(
        complaint=complaint, user=user, version=d["version"], remedy=d["remedy"],
        customer_satisfied=yes_no(d["customer_satisfied"]), note=d["note"])


def _do_appeal(complaint: Complaint, user, d: dict) -> None:
    services.appeal_file(
        complaint=complaint, user=user, kind=d["kind"], reason=d["reason"],
        requested_grade=d["requested_grade"],
        requested_substantiated=yes_no(d["requested_substantiated"]))


def _do_decision(complaint: Complaint, user, d: dict) -> None:
    services.appeal_decide(appeal=get_object_or_404(complaint.appeals, pk=d["appeal"]),
                           user=user, accept=d["decision"] == "accept",
                           reason=d["decision_reason"])


def _do_product(complaint: Complaint, user, d: dict) -> None:
    services.complaint_product_set(
        complaint=complaint, user=user, version=d["version"],
        product=services.ProductInput(**{name: d[name] for name in services.PRODUCT_FIELDS}))


def _do_adr_reported(complaint: Complaint, user, d: dict) -> None:
    services.adr_mark_reported(complaint=complaint, user=user)


def _do_recurrence(complaint: Complaint, user, d: dict) -> None:
    services.recurrence_confirm(complaint=complaint, user=user,
                                recurred=yes_no(d["recurred"]) is True, note=d["note"],
                                interval_days=d["interval_days"])


POSTED_FORMS = {
    "triage": (lambda c, data: TriageForm(data, store=c.store), _do_triage),
    "resolve": (lambda c, data: ResolveForm(data), _do_resolve),
    "appeal": (lambda c, data: AppealForm(data), _do_appeal),
    "decision": (lambda c, data: AppealDecisionForm(data), _do_decision),
    "recurrence": (lambda c, data: RecurrenceForm(data), _do_recurrence),
    "product": (lambda c, data: ProductEditForm(data), _do_product),
    "adr_reported": (lambda c, data: AdrReportedForm(data), _do_adr_reported),
}


def _post(request: HttpRequest, complaint: Complaint, forms_by_kind: dict) -> dict:
    """Run the posted action (``form``: one of the SLA actions of ``services.ACTIONS``, or a
    key of ``forms_by_kind``: (form maker, handler)) through the complaint services; return
    bound forms with errors, or {} on success (a user who may not act gets a 403)."""
    kind = request.POST.get("form", "")
    if kind in services.ACTIONS:
        action = services.ACTIONS[kind]
        kind, form = "action", ActionForm(request.POST)

        def handler(c: Complaint, user, d: dict) -> None:
            action(complaint=c, user=user, version=d["version"], note=d["note"])
    elif kind in forms_by_kind:
        make_form, handler = forms_by_kind[kind]
        form = make_form(complaint, request.POST)
    else:
        messages.error(request, _("Unknown action."))
        return {}
    if not form.is_valid():
        return {kind: form}
    try:
        handler(complaint, request.user, form.cleaned_data)
    except ApplicationError as error:
        if error.status == 403:
            raise PermissionDenied from error
        add_application_error(form, error)
        messages.error(request, error.message)
        return {kind: form}
    messages.success(request, _("Saved."))
    return {}


@role_required(rules.can_see_complaints)
@require_http_methods(["GET", "POST"])
def complaint_detail(request: HttpRequest, pk: int) -> HttpResponse:
    complaint = selectors.complaint_get(user=request.user, pk=pk)
    forms: dict = {}
    if request.method == "POST":
        forms = _post(request, complaint, POSTED_FORMS)
        if not forms:
            return redirect("complaints:detail", pk=complaint.pk)
        complaint = selectors.complaint_get(user=request.user, pk=pk)
    return render(request, "complaints/detail.html",
                  _detail_context(request, complaint, forms),
                  status=400 if forms else 200)


@role_required(rules.can_see_complaints)
@require_http_methods(["GET", "POST"])
def eight_d_edit(request: HttpRequest, pk: int) -> HttpResponse:
    complaint = selectors.complaint_get(user=request.user, pk=pk)
    report = EightDReport.objects.filter(complaint=complaint).first() or EightDReport(
        complaint=complaint)
    # A recurrence reopens the archived report of a closed complaint at D4–D7 only.
    reopened = (report.reopened_at is not None and report.archived_at is None
                and complaint.status == Status.CLOSED)
    read_only = not rules.can_handle(request.user, complaint) or (not reopened and (
        report.archived_at is not None or complaint.status == Status.CLOSED))
    form = EightDForm(request.POST or None, instance=report,
                      initial={"version": report.version})
    if reopened:
        for name, field in form.fields.items():
            field.disabled = name != "version" and name not in services.REOPENED_SECTIONS
    if request.method == "POST":
        if read_only:
            raise PermissionDenied
        if form.is_valid():
            try:
                services.eight_d_save(
                    complaint=complaint, user=request.user,
                    version=form.cleaned_data["version"],
                    sections={n: form.cleaned_data[n] for n in EightDReport.SECTIONS},
                    customer_summary=form.cleaned_data["customer_summary"])
            except ApplicationError as error:
                add_application_error(form, error)
            else:
                messages.success(request, _("8D report saved."))
                return redirect("complaints:detail", pk=complaint.pk)
    return render(request, "complaints/eight_d.html", {
        "complaint": complaint, "form": form, "report": report, "read_only": read_only,
        "reopened": reopened})


@role_required(rules.can_see_complaints)
def eight_d_print(request: HttpRequest, pk: int) -> HttpResponse:
    complaint = selectors.complaint_get(user=request.user, pk=pk)
    report = get_object_or_404(EightDReport, complaint=complaint)
    name, phone = _masked(complaint, request.user)
    return render(request, "complaints/eight_d_print.html", {
        "complaint": complaint, "report": report, "customer_name": mask_name(name),
        "customer_phone": phone})


@role_required(rules.can_see_complaints)
def complaint_letter(request: HttpRequest, pk: int) -> HttpResponse:
    """The handling report for the customer as a letter to print (a customer without e-mail
    gets it this way): for staff who may handle the complaint, once it is closed with a
    summary for the customer (``services.customer_letter``)."""
    complaint = selectors.complaint_get(user=request.user, pk=pk)
    if not rules.can_handle(request.user, complaint):
        raise PermissionDenied
    letter = services.customer_letter(complaint)
    if letter is None:
        raise Http404
    return render(request, "complaints/letter.html", {
        "complaint": complaint, "letter": letter, "public_base_url": settings.PUBLIC_BASE_URL})


@role_required(rules.can_see_complaints)
def attachment_download(request: HttpRequest, pk: int, attachment_id: int) -> FileResponse:
    complaint = selectors.complaint_get(user=request.user, pk=pk)
    attachment = get_object_or_404(ComplaintAttachment, pk=attachment_id, complaint=complaint)
    # A customer's file is downloaded, never shown from our origin: a PDF's scripts or an
    # image that is also HTML (a polyglot) must not run with a staff member's session. The
    # type is the sniffed one; nosniff and a sandbox keep a browser from reading it otherwise.
    response = FileResponse(attachment.file.open("rb"), filename=attachment.name,
                            as_attachment=True,
                            content_type=attachment.content_type or "application/octet-stream")
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "sandbox; default-src 'none'"
    return response


@role_required(rules.can_see_complaints)
def figures(request: HttpRequest) -> HttpResponse:
    form = FigureFilterForm(request.GET or None)
    result, error, spikes = None, "", []
    if request.GET and not form.is_valid():
        return render(request, "complaints/figures.html", {
            "form": form, "figures": None, "grades": Grade.values, "pareto": [],
            "error": "; ".join(str(e) for errors in form.errors.values() for e in errors)},
            status=400)
    data = form.cleaned_data if request.GET else {}
    try:
        # A date range, if given, is the period: the quarter is then not read.
        dated = data.get("start") or data.get("end")
        quarter = None if dated else data.get("quarter")
        start, end = selectors.figure_period(quarter=quarter, start=data.get("start"),
                                             end=data.get("end"))
        result = selectors.complaint_figures(user=request.user, start=start, end=end,
                                             level=data.get("level") or "store")
        spikes = selectors.complaint_spikes(user=request.user, start=start, end=end)
    except ApplicationError as exc:
        error = exc.message
    labels = dict(Category.choices)
    return render(request, "complaints/figures.html", {
        "form": form, "figures": result, "error": error, "grades": Grade.values,
        "spikes": spikes, "pareto": [{**row, "label": labels[row["key"]]} for row in
                   (result.pareto if result else [])]})


@role_required(rules.can_see_complaints)
def poster(request: HttpRequest, code: str) -> HttpResponse:
    """A printable QR poster linking to the store's public complaint form."""
    store = get_visible_store_or_404(request.user, code=code)
    url = settings.PUBLIC_BASE_URL + reverse("complaints_public:complain", args=[store.code])
    return render(request, "complaints/poster.html", {
        "store": store, "url": url, "qr_svg": segno.make(url, error="m").svg_inline(scale=8)})


# --- Product complaints (HQ and regional managers) ------------------------------------------

PRODUCT_PERIOD_DAYS = 90  # the page's default period: the last 90 days


def _product_period(form: ProductPeriodForm) -> tuple:
    """[start, end) from the form's dates, by default the last ``PRODUCT_PERIOD_DAYS`` days
    (an ``ApplicationError`` for a bad range)."""
    data = form.cleaned_data
    start, end = data.get("start"), data.get("end")
    if not (start or end):
        end = timezone.localdate()
        start = end - timedelta(days=PRODUCT_PERIOD_DAYS - 1)
    return selectors.figure_period(start=start, end=end)


@role_required(rules.can_see_products)
def products(request: HttpRequest) -> HttpResponse:
    """Product complaints grouped by manufacturer, batch and medicine across the user's
    stores: one bad batch is one row, with the stores and regions it reached."""
    form = ProductPeriodForm(request.GET)  # empty dates: the default period
    batches, error, period = [], "", None
    if not form.is_valid():
        error = "; ".join(str(e) for errors in form.errors.values() for e in errors)
    else:
        try:
            period = _product_period(form)
            batches = selectors.product_batches(user=request.user, start=period[0],
                                                end=period[1])
        except ApplicationError as exc:
            error = exc.message
    query = request.GET.copy()
    query.pop("format", None)
    return render(request, "complaints/products.html", {
        "form": form, "batches": batches, "error": error,
        "period": (period[0], period[1] - timedelta(days=1)) if period else None,
        "can_export_adr": rules.can_report_adr(request.user),
        "export_query": query.urlencode()}, status=400 if error else 200)


@role_required(rules.can_report_adr)
def adr_export(request: HttpRequest) -> HttpResponse:
    """The suspected adverse reactions of a period as CSV / XLSX for the pharmacovigilance
    report (``exports.write_adr_export``): clinical fields, no customer name or phone."""
    form = AdrExportForm(request.GET)
    if not form.is_valid():
        return HttpResponse("; ".join(str(e) for errors in form.errors.values() for e in errors),
                            status=400, content_type="text/plain; charset=utf-8")
    try:
        start, end = _product_period(form)
    except ApplicationError as exc:
        return HttpResponse(exc.message, status=400, content_type="text/plain; charset=utf-8")
    fmt = form.cleaned_data["format"] or "xlsx"
    buffer = io.BytesIO()
    exports.write_adr_export(buffer, user=request.user, start=start, end=end, fmt=fmt)
    response = HttpResponse(buffer.getvalue(), content_type=exports.CONTENT_TYPES[fmt])
    response["Content-Disposition"] = f'attachment; filename="{exports.adr_file_name(fmt)}"'
    return response


# --- Public pages ---------------------------------------------------------------------------

@require_http_methods(["GET", "POST"])
def public_complain(request: HttpRequest, code: str) -> HttpResponse:
    store = get_object_or_404(Store, code=code, is_active=True)
    form = PublicComplaintForm(request.POST or None, request.FILES or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            # Counted per store and client, and only once filed (ratelimit.COMPLAINT_FILINGS).
            with ratelimit.counted_if_accepted(ratelimit.COMPLAINT_FILINGS, store.pk,
                                               client_ip(request)):
                complaint = services.complaint_create(
                    store=store, channel="web", category=data["category"],
                    description=data["description"], customer_name=data["customer_name"],
                    customer_phone=data["customer_phone"], occurred_at=data["occurred_at"],
                    source=Source.PUBLIC, attachments=data["attachments"],
                    previous_ticket=data["previous_ticket"],
                    customer_email=data["customer_email"])
        except ratelimit.RateLimitedError:
            form.add_error(None, _("Too many complaints from this connection. Please call "
                                   "the store or try again later."))
            status = 429
        except ApplicationError as error:
            add_application_error(form, error)
        else:
            return render(request, "complaints/public_done.html",
                          {"complaint": complaint, "store": store})
    if form.errors and status == 200:
        status = 400
    return render(request, "complaints/public_form.html", {"form": form, "store": store},
                  status=status)


@require_http_methods(["GET", "POST"])
def public_ticket(request: HttpRequest) -> HttpResponse:
    form = TicketLookupForm(request.POST or None,
                            initial={"ticket_no": request.GET.get("t", "")})
    complaint = None
    status = 200
    if request.method == "POST" and form.is_valid():
        ticket = form.cleaned_data["ticket_no"].strip().upper()
        client = client_ip(request)
        # Wrong digits count per client and ticket: a stranger guessing locks out only
        # themselves, never the customer whose ticket it is (ratelimit.TICKET_LOOKUP_FAILURES).
        if (not ratelimit.hit(ratelimit.TICKET_LOOKUPS, client)
                or ratelimit.exceeded(ratelimit.TICKET_LOOKUP_FAILURES, client, ticket)):
            form.add_error(None, _("Too many attempts. Please try again in 15 minutes."))
            status = 429
        else:
            complaint = selectors.public_ticket_lookup(
                ticket_no=ticket, phone_last4=form.cleaned_data["phone_last4"])
            if complaint is None:
                ratelimit.hit(ratelimit.TICKET_LOOKUP_FAILURES, client, ticket)
                form.add_error(None, _("No complaint matches this ticket number and phone."))
                status = 404
    timeline = []
    if complaint is not None:
        timeline = [(e.at, e.changes["status"][1]) for e in complaint.events.all()
                    if "status" in e.changes]
        labels = dict(Status.choices)
        timeline = [(at, labels.get(value, value)) for at, value in timeline]
    return render(request, "complaints/public_ticket.html",
                  {"form": form, "complaint": complaint, "timeline": timeline}, status=status)



# --- HQ setup (complaints/setup_urls.py, mounted at /setup/) ---------------------------------

POLICY_FIELDS = ("warn_fraction", "ungraded_resolution_hours", "internal_resolution_hours",
                 "backdate_days", "pause_while_waiting", "business_hours_clock")
GRADE_FIELDS = ("definition_zh", "definition_en", "examples_zh", "examples_en",
                "resolution_hours", "first_response_hours", "escalation_interval_hours",
                "requires_8d", "recurrence_days")


def _grade_prefix(grade: str) -> str:
    return f"grade-{grade}"


def _saved_or_errors(request: HttpRequest, form, save) -> bool:
    """Run ``save(cleaned_data)`` (a service) for a valid form; put its errors on the form.
    True when saved."""
    if not form.is_valid():
        return False
    try:
        save(form.cleaned_data)
    except ApplicationError as error:
        if error.status == 403:
            raise PermissionDenied from error
        add_application_error(form, error)
        return False
    messages.success(request, _("Saved."))
    return True


@role_required(rules.can_edit_policies)
@require_http_methods(["GET", "POST"])
def setup_policies(request: HttpRequest) -> HttpResponse:
    """The chain's complaint policy and each grade's current policy version, one form each,
    with the grade's versions (from when, by whom, how many complaints were graded under
    each); the points per grade are the scoring scheme's (shown, linked). A change applies as
    ``services.setup`` says: a grade's new version to complaints graded from now on."""
    policy = ComplaintPolicy.current()
    grades = selectors.grade_policies()
    policy_form = ComplaintPolicyForm(
        prefix="policy", initial={name: getattr(policy, name) for name in POLICY_FIELDS})
    grade_forms = {grade: GradePolicyForm(prefix=_grade_prefix(grade), initial={
        **{name: getattr(grades[grade], name) for name in GRADE_FIELDS},
        # A grade without HQ's text yet starts from the built-in definition.
        "definition_zh": grades[grade].definition_zh or _in_language(grades[grade], "zh-hans"),
        "definition_en": grades[grade].definition_en or _in_language(grades[grade], "en"),
    }) for grade in Grade.values}
    if request.method == "POST":
        posted = request.POST.get("form", "")
        if posted == "policy":
            policy_form = ComplaintPolicyForm(request.POST, prefix="policy")
            saved = _saved_or_errors(request, policy_form, lambda d: (
                services.complaint_policy_update(user=request.user, **d)))
        elif posted in grade_forms:
            grade_forms[posted] = GradePolicyForm(request.POST, prefix=_grade_prefix(posted))
            saved = _saved_or_errors(request, grade_forms[posted], lambda d: (
                services.grade_policy_update(user=request.user, grade=posted, **d)))
        else:
            messages.error(request, _("Unknown action."))
            saved = False
        if saved:
            return redirect("complaints_setup:policies")
    points = selectors.deduction_points()
    versions: dict[str, list] = {grade: [] for grade in Grade.values}
    for version in selectors.grade_policy_versions():
        versions[version.grade].append(version)
    return render(request, "complaints/setup/policies.html", {
        "policy_form": policy_form,
        "grades": [{"grade": grade, "label": dict(Grade.choices)[grade], "form": form,
                    "current": grades[grade], "versions": versions[grade],
                    "points": points.get(grade) if points else None}
                   for grade, form in grade_forms.items()],
        "changes": selectors.complaint_policy_changes(),
    }, status=400 if request.method == "POST" else 200)


def _in_language(policy, language: str) -> str:
    with translation.override(language):
        return str(GRADE_DEFINITIONS.get(policy.grade, ""))


@role_required(rules.can_edit_policies)
@require_http_methods(["GET", "POST"])
def setup_store_hours(request: HttpRequest) -> HttpResponse:
    """Store opening hours for the business-hours clock: find stores by code, name or region;
    set one store's hours, a list of stores' or a whole region's at once."""
    search = StoreHoursSearchForm(request.GET or None, auto_id="search_%s")
    search_data = search.cleaned_data if search.is_valid() else {}
    query, region = (search_data.get("q") or "").strip(), search_data.get("region")
    stores = selectors.store_hours_list(query=query, region=region)
    page = Paginator(stores, 50).get_page(request.GET.get("page"))
    status = 200
    if request.method == "POST":
        form = StoreHoursForm(request.POST)
        if _saved_or_errors(request, form, lambda d: _set_store_hours(request.user, form, d)):
            return redirect(request.get_full_path())
        status = 400
    else:
        form = StoreHoursForm(initial=_edit_initial(request.GET.get("edit", "")))
    filtered = bool(query or region)
    return render(request, "complaints/setup/store_hours.html", {
        "search": search, "page": page, "form": form, "filtered": filtered,
        "business_hours_clock": ComplaintPolicy.current().business_hours_clock,
        "changes": selectors.store_hours_changes(
            store_ids=[store.pk for store in page] if filtered else None),
    }, status=status)


def _edit_initial(code: str) -> dict:
    """The form filled in with one store's hours (its row's "Edit" link)."""
    store = Store.objects.filter(code=code.strip()).select_related("complaint_hours").first()
    if store is None:
        return {"opens_at": "08:00", "closes_at": "22:00"}
    hours = getattr(store, "complaint_hours", None)
    if hours is None:
        return {"stores": store.code, "opens_at": "08:00", "closes_at": "22:00"}
    return {"stores": store.code, "opens_at": hours.opens_at, "closes_at": hours.closes_at,
            "open_24h": hours.open_24h}


def _set_store_hours(user, form: StoreHoursForm, data: dict) -> None:
    codes = form.store_codes()
    hours = {"opens_at": data["opens_at"], "closes_at": data["closes_at"],
             "open_24h": data["open_24h"]}
    if len(codes) == 1 and data["region"] is None:
        store = Store.objects.filter(code=codes[0]).first()
        if store is None:
            raise ApplicationError(_("Unknown stores: %(codes)s") % {"codes": codes[0]},
                                   fields={"stores": [_("Unknown stores: %(codes)s") % {
                                       "codes": codes[0]}]})
        services.store_hours_set(user=user, store=store, **hours)
        return
    services.store_hours_set_many(user=user, store_codes=codes, region=data["region"], **hours)


# --- Internal complaints: a store's complaint to an HQ department -----------------------------
# The same complaint, clock, owner and handling services as a customer's; its own pages, since
# its readers differ (department heads see no store data) and it has no grade, customer or 8D.

@role_required(rules.can_see_internal)
def internal_list(request: HttpRequest) -> HttpResponse:
    form = InternalFilterForm(request.GET)
    data = form.cleaned_data if form.is_valid() else {}
    complaints = selectors.internal_complaint_list(
        user=request.user, status=data.get("status", ""),
        department_code=(data.get("department") or "").strip(),
        overdue=bool(data.get("overdue")), mine=bool(data.get("mine")))
    page = Paginator(complaints, 50).get_page(request.GET.get("page"))
    clocks = selectors.sla_clocks(complaints=page)
    for complaint in page:
        complaint.clock = clocks.get(complaint.pk)
    return render(request, "complaints/internal_list.html", {
        "page": page, "form": form, "statuses": Status.choices,
        "departments": selectors.visible_internal_departments(user=request.user),
        "filters": {"status": data.get("status", ""), "department": data.get("department", ""),
                    "overdue": data.get("overdue"), "mine": data.get("mine")},
        "can_file": rules.can_file_internal(request.user)},
        status=200 if form.is_valid() else 400)


@role_required(rules.can_file_internal)
@require_http_methods(["GET", "POST"])
def internal_create(request: HttpRequest) -> HttpResponse:
    form = InternalComplaintForm(request.POST or None, request.FILES or None,
                                 user=request.user,
                                 initial={"department": request.GET.get("department")})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            complaint = services.internal_complaint_create(
                user=request.user, store=data["store"], department=data["department"],
                description=data["description"], attachments=data["attachments"])
        except ApplicationError as error:
            add_application_error(form, error)
        else:
            messages.success(request, _("Internal complaint %(ticket)s filed.") % {
                "ticket": complaint.ticket_no})
            return redirect("complaints:internal_detail", pk=complaint.pk)
    return render(request, "complaints/internal_form.html", {"form": form},
                  status=400 if form.errors else 200)


def _internal_context(request: HttpRequest, complaint: Complaint, forms: dict) -> dict:
    user = request.user
    can_handle = rules.can_handle(user, complaint)
    actions = services.allowed_actions(complaint) if can_handle else []
    version = {"version": complaint.version}
    return {
        "complaint": complaint, "can_handle": can_handle,
        "actions": [a for a in actions if a != "resolve"], "can_resolve": "resolve" in actions,
        "can_confirm": rules.can_confirm_internal(user, complaint),
        "clock": selectors.sla_clocks(complaints=[complaint]).get(complaint.pk),
        "events": ComplaintEvent.with_fields(complaint.events.select_related("actor")),
        "attachments": complaint.attachments.all(), "alerts": complaint.alerts.all(),
        "action_form": forms.get("action") or ActionForm(initial=version),
        "resolve_form": forms.get("resolve") or InternalResolveForm(initial=version),
        "confirm_form": forms.get("confirm") or InternalConfirmForm(initial=version),
    }


def _do_internal_resolve(complaint: Complaint, user, d: dict) -> None:
    services.complaint_resolve(complaint=complaint, user=user, version=d["version"],
                               remedy=d["remedy"], customer_satisfied=None, note=d["note"])


def _do_internal_confirm(complaint: Complaint, user, d: dict) -> None:
    services.internal_complaint_confirm(complaint=complaint, user=user, version=d["version"],
                                        satisfied=yes_no(d["satisfied"]), note=d["note"])


INTERNAL_FORMS = {
    "resolve": (lambda c, data: InternalResolveForm(data), _do_internal_resolve),
    "confirm": (lambda c, data: InternalConfirmForm(data), _do_internal_confirm),
}


@role_required(rules.can_see_internal)
@require_http_methods(["GET", "POST"])
def internal_detail(request: HttpRequest, pk: int) -> HttpResponse:
    complaint = selectors.internal_complaint_get(user=request.user, pk=pk)
    forms: dict = {}
    if request.method == "POST":
        forms = _post(request, complaint, INTERNAL_FORMS)
        if not forms:
            return redirect("complaints:internal_detail", pk=complaint.pk)
        complaint = selectors.internal_complaint_get(user=request.user, pk=pk)
    return render(request, "complaints/internal_detail.html",
                  _internal_context(request, complaint, forms), status=400 if forms else 200)


@role_required(rules.can_see_internal)
def internal_attachment(request: HttpRequest, pk: int, attachment_id: int) -> FileResponse:
    complaint = selectors.internal_complaint_get(user=request.user, pk=pk)
    attachment = get_object_or_404(ComplaintAttachment, pk=attachment_id, complaint=complaint)
    response = FileResponse(attachment.file.open("rb"), filename=attachment.name,
                            as_attachment=True,
                            content_type=attachment.content_type or "application/octet-stream")
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "sandbox; default-src 'none'"
    return response
