"""Background jobs of the mystery-shopper app (``satisfaction.jobs``): the large export of a
quarter's visit reports."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from mystery_shopper import export, rules
from satisfaction.errors import ApplicationError
from satisfaction.jobs import JobContext, job_kind
from satisfaction.quarters import InvalidQuarterError, Quarter

EXPORT_KIND = "mystery_shopper.export"


@job_kind(EXPORT_KIND, label=gettext_lazy("Mystery-shopper reports export"))
def visit_export_job(ctx: JobContext) -> dict:
    """Write the visit reports of ``params["quarter"]`` that the starter may export (their
    scope, ``selectors.visit_export_list``) to a CSV / XLSX file, 2,000 rows at a time, in the
    starter's language."""
    user = ctx.user
    if user is None or not rules.can_export_visits(user):
        raise ApplicationError(_("You may not export mystery-shopper reports."),
                               code="forbidden", status=403)
    file_format = ctx.params.get("format")
    if file_format not in export.FORMATS:
        raise ApplicationError(_("Choose CSV or XLSX."), code="bad_format")
    try:
        quarter = Quarter.parse(ctx.params.get("quarter", ""))
    except InvalidQuarterError:
        raise ApplicationError(_("Give a quarter like 2026Q4."), code="bad_quarter") from None
    total = export.export_count(user=user, quarter=quarter)
    ctx.progress(0, total)
    with ctx.output(export.export_name(quarter, file_format)) as fh:
        written = export.export_write(fh, user=user, quarter=quarter, file_format=file_format,
                                      progress=lambda done: ctx.progress(done, total))
    ctx.progress(written, total)
    return {
        "message": _("%(n)s visit reports of %(quarter)s exported.")
        % {"n": written, "quarter": quarter},
        "summary": [[_("Visit reports"), written], [_("Quarter"), str(quarter)],
                    [_("File type"), file_format.upper()]],
        "next_url": reverse("mystery_shopper:export"),
    }
