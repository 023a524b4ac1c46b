"""Background jobs of the surveys app (``satisfaction.jobs``): the paper questionnaire import
(dry run, then the real import) and the large survey results export."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from satisfaction.db_router import replica_reads
from satisfaction.errors import ApplicationError
from satisfaction.jobs import JobContext, job_kind
from surveys import exports, rules
from surveys.models import Campaign
from surveys.selectors import campaign_list
from surveys.services import paper_import

PAPER_IMPORT_KIND = "surveys.paper_import"
RESULTS_EXPORT_KIND = "surveys.results_export"


@job_kind(PAPER_IMPORT_KIND, label=gettext_lazy("Paper questionnaire import"))
def paper_import_job(ctx: JobContext) -> dict:
    """Import the uploaded file of paper questionnaires (``services.paper_import``): first as a
    dry run (``params["dry_run"]``), listing every bad cell; then, from the job page's "Import
    these rows", for real, all or nothing."""
    user = ctx.user
    if user is None or not rules.can_collect_responses(user):
        raise ApplicationError(_("You may not enter questionnaires."), code="forbidden",
                               status=403)
    dry_run = bool(ctx.params.get("dry_run", True))
    result = paper_import(user=user, file_name=ctx.input_name, content=ctx.input_bytes(),
                          dry_run=dry_run, progress=ctx.progress)
    total = result.created + result.unchanged
    if dry_run and result.errors:
        message = _("%(n)s cells to correct: nothing was imported.") % {
            "n": len(result.errors)}
    elif dry_run:
        message = _("Dry run: %(created)s questionnaires would be created, %(unchanged)s were "
                    "imported before. Nothing is saved until you import them.") % {
            "created": result.created, "unchanged": result.unchanged}
    else:
        message = _("%(created)s questionnaires imported, %(unchanged)s were imported "
                    "before.") % {"created": result.created, "unchanged": result.unchanged}
    summary = [[_("Questionnaires without errors"), total],
               [_("Waiting for HQ review"), result.held]]
    campaigns = sorted(result.campaign_ids)
    next_url = (reverse("surveys:campaign_results", args=[campaigns[0]]) if len(campaigns) == 1
                else reverse("surveys:paper_entry"))
    return {"message": message, "summary": summary, "errors": result.errors,
            "dry_run": dry_run,
            "counts": {"created": result.created, "updated": 0, "unchanged": result.unchanged},
            "rows": result.rows, "next_url": next_url}


@job_kind(RESULTS_EXPORT_KIND, label=gettext_lazy("Survey results export"))
@replica_reads()
def results_export_job(ctx: JobContext) -> dict:
    """Write a campaign's results for the starter's stores to a CSV / XLSX file, 2,000 stores
    at a time."""
    user = ctx.user
    if user is None or not rules.can_see_surveys(user):
        raise ApplicationError(_("You may not see survey results."), code="forbidden",
                               status=403)
    campaign = campaign_list(user=user).filter(pk=ctx.params.get("campaign")).first()
    if campaign is None:
        raise ApplicationError(_("This campaign does not exist."), code="not_found",
                               status=404)
    fmt = ctx.params.get("format")
    if fmt not in exports.FORMATS:
        raise ApplicationError(_("Choose CSV or XLSX."), code="bad_format")
    total = exports.store_count(campaign=campaign, user=user)

    def reported(rows):
        return ctx.tracked(rows, total, every=exports.CHUNK)

    with ctx.output(exports.file_name(campaign, fmt)) as fh:
        written = exports.write_export(fh, campaign=campaign, user=user, fmt=fmt,
                                       wrap=reported)
    ctx.progress(written, total)
    return {"message": _("Results of %(n)s stores exported.") % {"n": written},
            "summary": [[_("Campaign"), str(campaign)], [_("Stores"), written],
                        [_("File type"), fmt.upper()]],
            "next_url": reverse("surveys:campaign_results", args=[campaign.pk])}


def results_export_params(*, campaign: Campaign, fmt: str) -> dict:
    return {"campaign": campaign.pk, "format": fmt}
