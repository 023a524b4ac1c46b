"""Pages of the chain's core: health, chain import, notifications and their deliveries,
errors."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from satisfaction import rules
from satisfaction.celery import app as celery_app
from satisfaction.delivery import deliveries_failed, deliveries_summary
from satisfaction.errors import ApplicationError
from satisfaction.forms import ChainImportForm
from satisfaction.notifications import delivery_resend, notification_mark_read
from satisfaction.permissions import role_required
from satisfaction.services import chain_import
from satisfaction.tasks import BEAT_HEARTBEAT_KEY


@role_required(rules.can_import_chain)
def chain_import_view(request: HttpRequest) -> HttpResponse:
    form = ChainImportForm(request.POST or None, request.FILES or None)
    errors: list[str] = []
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            result = chain_import(file_name=upload.name, content=upload.read())
        except ApplicationError as exc:
            form.add_error(None, exc.message)
            errors = exc.fields.get("rows", [])
        else:
            messages.success(request, result.summary())
            return redirect("chain_import")
    return render(request, "satisfaction/chain_import.html", {"form": form, "row_errors": errors})


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
