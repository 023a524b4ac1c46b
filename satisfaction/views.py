"""Pages of the chain's core: health, chain import, notifications and their deliveries,
errors."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from satisfaction import rules
from satisfaction.celery import app as celery_app
from satisfaction.delivery import deliveries_failed, deliveries_summary
from satisfaction.demo import customer_links
from satisfaction.errors import ApplicationError
from satisfaction.forms import ChainImportForm
from satisfaction.jobs import job_start
from satisfaction.notifications import delivery_resend, notification_mark_read
from satisfaction.permissions import role_required
from satisfaction.services import EMPLOYEE_TEMPLATE, STORE_TEMPLATE
from satisfaction.tabular import template_file
from satisfaction.tasks import BEAT_HEARTBEAT_KEY


class LoginView(auth_views.LoginView):
    """Django's login, which on a development run (``DEBUG``) also lists the customer pages
    of the first stores: the demo's customer side has no login to find it by."""

    redirect_authenticated_user = True

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        if settings.DEBUG:
            context["customer_links"] = customer_links()
        return context


@role_required(rules.can_import_chain)
@require_http_methods(["GET", "POST"])
def chain_import_view(request: HttpRequest) -> HttpResponse:
    """Upload the chain file: a dry run starts (a background job), whose page shows what would
    change and offers the import itself."""
    form = ChainImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        job, started = job_start(kind="satisfaction.chain_import", user=request.user,
                                 params={"dry_run": True},
                                 upload=form.cleaned_data["file"])
        if not started:
            messages.info(request, _("An import of the chain is already running: here it is."))
        return redirect(job)
    return render(request, "satisfaction/chain_import.html", {"form": form},
                  status=400 if form.errors else 200)


@role_required(rules.can_import_chain)
@require_GET
def chain_import_template(request: HttpRequest) -> HttpResponse:
    """The chain file's template in the user's language: XLSX with a stores and an employees
    sheet, or one CSV (``?table=stores|employees``)."""
    fmt = request.GET.get("format", "xlsx")
    employees = request.GET.get("table") == "employees"
    try:
        if fmt == "csv":
            content, content_type = template_file(
                EMPLOYEE_TEMPLATE if employees else STORE_TEMPLATE, "csv")
            name = _("employees") if employees else _("stores")
        else:
            content, content_type = template_file(
                STORE_TEMPLATE, fmt, sheet=_("Stores"), more={_("Employees"): EMPLOYEE_TEMPLATE})
            name = _("stores-and-employees")
    except ApplicationError as exc:
        return HttpResponse(exc.message, status=400, content_type="text/plain; charset=utf-8")
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = content_disposition_header(
        as_attachment=True, filename=f"{name}.{fmt}")
    return response


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Database and broker status for load balancers: 503 when the database is unreachable.
    Also the notification outbox (pending, failed, oldest pending age), which never fails it."""
    body: dict[str, object] = {}
    status = 200
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        body["database"] = "ok"
    except Exception as exc:  # noqa: BLE001 - any failure means "down" to a probe
        body["database"] = f"down: {exc.__class__.__name__}"
        status = 503
    if not settings.CELERY_BROKER_URL:
        body["broker"] = "eager"
    else:
        try:
            with celery_app.connection_for_write() as conn:
                conn.ensure_connection(max_retries=1, timeout=2)
            body["broker"] = "ok"
        except Exception as exc:  # noqa: BLE001
            body["broker"] = f"down: {exc.__class__.__name__}"
    try:
        body["beat_last_seen"] = cache.get(BEAT_HEARTBEAT_KEY)
    except Exception:  # noqa: BLE001 - a cache outage must not fail the health probe
        body["beat_last_seen"] = None
    body["deliveries"] = None
    if status == 200:
        try:
            summary = deliveries_summary()
            body["deliveries"] = {key: summary[key] for key in
                                  ("pending", "failed", "oldest_pending_seconds")}
        except Exception:  # noqa: BLE001 - reported, never a reason to fail the probe
            body["deliveries"] = None
    body["status"] = "ok" if status == 200 else "down"
    return JsonResponse(body, status=status)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    return render(request, "403_csrf.html", {"reason": reason}, status=403)


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "404.html", {"message": _("This page does not exist or you may "
                                                     "not see it.")}, status=404)


@login_required
def notification_list(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        raw_id = request.POST.get("id")
        notification_mark_read(user=request.user,
                               notification_id=int(raw_id) if raw_id and raw_id.isdigit() else None)
        return redirect("notifications")
    notes = request.user.notifications.all()[:100]
    return render(request, "satisfaction/notifications.html", {"notifications": notes})


@role_required(rules.can_manage_deliveries)
@require_http_methods(["GET", "POST"])
def deliveries_view(request: HttpRequest) -> HttpResponse:
    """HQ: the outbox's pending and failed e-mails / webhook calls; resend failed ones."""
    if request.method == "POST":
        raw_id = request.POST.get("id", "")
        if raw_id.isdigit() or request.POST.get("all"):
            count = delivery_resend(user=request.user,
                                    delivery_ids=[int(raw_id)] if raw_id.isdigit() else None)
            messages.success(request, ngettext(
                "%(n)s delivery will be sent again.", "%(n)s deliveries will be sent again.",
                count) % {"n": count})
        return redirect("deliveries")
    return render(request, "satisfaction/deliveries.html",
                  {"summary": deliveries_summary(), "failed": deliveries_failed()})
