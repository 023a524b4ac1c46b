"""The monthly report's pages: the printable report of a month for the user's scope (HQ may
pick a region or a store, a regional manager one of their regions or stores, a store manager
gets their store's one-pager) and the list of months. Reads through ``report_selectors``."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from dashboard import report_selectors, reports, rules
from dashboard.models import MonthlyReportSent, ReportScope
from satisfaction.db_router import replica_reads
from satisfaction.permissions import role_required
from satisfaction.scoping import visible_stores
from satisfaction.selectors import region_list

MONTHS_LISTED = 12


@role_required(rules.can_see_monthly_reports)
def monthly_report_index(request: HttpRequest) -> HttpResponse:
    """The last twelve months, newest first, each marked when its report was sent to the user."""
    today = timezone.localdate()
    months, month = [], reports.Month.containing(today).previous()
    for _index in range(MONTHS_LISTED):
        months.append(month)
        month = month.previous()
    sent = dict(MonthlyReportSent.objects.filter(
        recipient=request.user, month__gte=months[-1].first_day).values_list("month", "sent_at"))
    rows = [(m, sent.get(m.first_day)) for m in months]
    return render(request, "dashboard/report_index.html", {
        "rows": rows, "current": reports.Month.containing(today)})


def _month_or_404(text: str) -> reports.Month:
    try:
        month = reports.Month.parse(text)
    except reports.InvalidMonthError:
        raise Http404 from None
    if month.first_day > timezone.localdate():
        raise Http404  # a month that has not begun has no report
    return month


@role_required(rules.can_see_monthly_reports)
@replica_reads()
def monthly_report(request: HttpRequest, month: str) -> HttpResponse:
    chosen = _month_or_404(month)
    user = request.user
    scope = report_selectors.report_scope(
        user=user, region_code=request.GET.get("region", "").strip(),
        store_code=request.GET.get("store", "").strip())
    now = timezone.now()
    report = report_selectors.monthly_report(user=user, scope=scope, month=chosen, now=now)
    quarters = [str(row.quarter) for row in report.trend]
    name = {ReportScope.STORE: _("This store"), ReportScope.REGION: _("This region")}.get(
        scope.kind, _("The chain"))
    series = [(name, [row.value for row in report.trend])]
    headers = [_("Quarter"), name]
    if scope.store is not None:
        series.append((str(ReportScope.REGION.label), [row.region for row in report.trend]))
        headers.append(str(ReportScope.REGION.label))
    if scope.kind != ReportScope.CHAIN:
        series.append((str(ReportScope.CHAIN.label), [row.chain for row in report.trend]))
        headers.append(str(ReportScope.CHAIN.label))
    trend_rows = [(label, *(None if values[i] is None else round(values[i], 1)
                            for _name, values in series))
                  for i, label in enumerate(quarters)]
    picks_region = scope.store is None and rules.can_see_chain_figures(user)
    today = timezone.localdate()
    return render(request, "dashboard/report_monthly.html", {
        **report.context(),
        "running": chosen.end() > now,
        "previous_month": chosen.previous(),
        "following_month": chosen.next() if chosen.next().first_day <= today else None,
        "regions": list(region_list(user=user).order_by("code")) if picks_region else [],
        "own_stores": (list(visible_stores(user).order_by("code")[:20])
                       if scope.kind == ReportScope.STORE and not picks_region else []),
        "trend_spec": reports.trend_chart(quarters=quarters, series=series),
        "trend_headers": headers, "trend_rows": trend_rows,
    })
