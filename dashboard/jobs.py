"""Background jobs of the dashboard: the export of a large ranking (``satisfaction.jobs``)."""

from __future__ import annotations

from urllib.parse import urlencode

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext

from dashboard import export, rules, selectors
from satisfaction.db_router import replica_reads
from satisfaction.errors import ApplicationError
from satisfaction.jobs import JobContext, job_kind
from satisfaction.quarters import InvalidQuarterError, Quarter

RANKING_EXPORT = "dashboard.ranking_export"


@job_kind(RANKING_EXPORT, label=gettext_lazy("Store ranking export"))
@replica_reads()
def ranking_export_job(ctx: JobContext) -> dict:
    """Write the ranking the starter saw (their scope, the page's filters, the revision the
    page showed) into the job's file, a chunk of rows at a time.

    ``ctx.params``: ``quarter``, ``revision``, ``format`` and the page's ``region``, ``city``,
    ``q`` and ``sort``. The scope is the starter's as the job runs: a manager moved to another
    region since gets their new region, never the old one."""
    params = ctx.params
    file_format = params.get("format")
    if ctx.user is None or not rules.can_see_store_pages(ctx.user):
        raise ApplicationError(_("You may no longer see the store list."), code="forbidden")
    if file_format not in export.FORMATS:
        raise ApplicationError(_("Unknown file format."), code="bad_format")
    try:
        quarter = Quarter.parse(str(params.get("quarter")))
    except InvalidQuarterError:
        raise ApplicationError(_("Give a quarter like 2026Q4."), code="bad_quarter") from None
    rollup = selectors.quarter_rollup(quarter=quarter, revision=params.get("revision"))
    if rollup is None:
        raise ApplicationError(_("%(quarter)s has no values to export.") % {"quarter": quarter},
                               code="no_values")
    scores = selectors.ranking(user=ctx.user, rollup=rollup, region_code=params.get("region", ""),
                               city=params.get("city", ""), query=params.get("q", ""),
                               sort=params.get("sort", ""))
    total = scores.count()
    with ctx.output(export.file_name(rollup=rollup, file_format=file_format)) as handle:
        count = export.write_ranking(
            handle, rollup=rollup, scores=scores, file_format=file_format,
            wrap=lambda rows: ctx.tracked(rows, total, every=export.CHUNK_SIZE))
    query = {key: params[key] for key in ("region", "city", "q", "sort") if params.get(key)}
    query = {"quarter": str(quarter), "revision": rollup.revision, **query}
    return {
        "message": _("The ranking of %(quarter)s (revision %(revision)s) is ready: "
                     "%(count)s stores.") % {"quarter": quarter, "revision": rollup.revision,
                                             "count": count},
        "summary": [[_("Quarter"), str(quarter)], [_("Revision"), rollup.revision],
                    [_("State of the revision"), str(rollup.get_status_display())],
                    [pgettext("count", "Stores"), count]],
        "next_url": f"{reverse('dashboard:store_list')}?{urlencode(query)}",
    }
