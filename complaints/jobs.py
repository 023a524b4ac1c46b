"""Background jobs of the complaints app (``satisfaction.jobs``): the large complaint export."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from satisfaction.db_router import replica_reads
from satisfaction.errors import ApplicationError
from satisfaction.jobs import JobContext, job_kind

from . import exports, rules

EXPORT_KIND = "complaints.export"
FILTER_KEYS = ("status", "grade", "category", "store_code", "query", "overdue", "mine",
               "batch")


def export_params(*, filters: dict, fmt: str) -> dict:
    """The job's parameters: the list's filters (``ComplaintFilterForm.filters()``) and the
    file type."""
    return {"filters": {key: filters[key] for key in FILTER_KEYS}, "format": fmt}


@job_kind(EXPORT_KIND, label=gettext_lazy("Complaint export"))
@replica_reads()
def complaint_export_job(ctx: JobContext) -> dict:
    """Write the starter's complaint list (their stores, the page's filters, contacts masked
    as the list masks them) to a CSV / XLSX file, 2,000 rows at a time."""
    user = ctx.user
    if user is None or not rules.can_export(user):
        raise ApplicationError(_("You may not export complaints."), code="forbidden",
                               status=403)
    # .get: a job queued before a filter existed runs without it.
    filters = {key: ctx.params["filters"].get(key, "") for key in FILTER_KEYS}
    fmt = ctx.params.get("format")
    if fmt not in exports.FORMATS:
        raise ApplicationError(_("Choose CSV or XLSX."), code="bad_format")
    total = exports.export_queryset(user=user, filters=filters).count()

    def reported(rows):
        return ctx.tracked(rows, total, every=exports.CHUNK)

    with ctx.output(exports.file_name(fmt)) as fh:
        written = exports.write_export(fh, user=user, filters=filters, fmt=fmt,
                                       wrap=reported)
    ctx.progress(written, total)
    return {
        "message": _("%(n)s complaints exported.") % {"n": written},
        "summary": [[_("Complaints"), written], [_("File type"), fmt.upper()]],
        "next_url": reverse("complaints:list"),
    }
