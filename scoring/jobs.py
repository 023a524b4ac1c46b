"""Background jobs of the scoring app (``satisfaction.jobs``): the rollup, publishing, the HR
bonus export and the appraisal-points import. Each runner calls the service that does the work
(atomic: a failed job leaves nothing half-written) and returns what the job page shows."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext

from satisfaction.errors import ApplicationError
from satisfaction.jobs import JobContext, job_kind
from satisfaction.models import User
from satisfaction.quarters import InvalidQuarterError, Quarter
from scoring import (
    export,
    preview_jobs,  # noqa: F401  (registers the scheme preview's kind here too)
)
from scoring.models import Rollup
from scoring.services import (
    APPRAISAL_CREATE,
    APPRAISAL_UNCHANGED,
    APPRAISAL_UPDATE,
    appraisal_import,
    hr_export_write,
    quarter_publish,
    rollup_quarter,
)

ROLLUP_KIND = "scoring.rollup"
PUBLISH_KIND = "scoring.publish"
HR_EXPORT_KIND = "scoring.hr_export"
APPRAISAL_IMPORT_KIND = "scoring.appraisal_import"


def quarter_key(quarter: Quarter) -> str:
    """Rollup and publish: one job per quarter at a time, whoever starts it (HQ sees every
    job, so a second HQ user is shown the running one)."""
    return str(quarter)


def export_key(*, user: User, quarter: Quarter, file_format: str, language: str) -> str:
    """An export is its starter's file (a job is visible to its starter and HQ): one running
    export per user and choice; another HR user gets their own."""
    return f"{user.pk}:{quarter}:{file_format}:{language}"


def import_key(*, user: User, file_name: str) -> str:
    return f"{user.pk}:{file_name}"


def _quarter(ctx: JobContext) -> Quarter:
    try:
        return Quarter.parse(str(ctx.params.get("quarter", "")))
    except InvalidQuarterError:
        raise ApplicationError(_("Give a quarter like 2026Q4."), code="invalid") from None


def _revision_summary(rollup: Rollup) -> list[list]:
    return [[_("Quarter"), str(rollup.quarter)], [_("Revision"), rollup.revision],
            [_("Stores"), rollup.store_count], [_("Employees"), rollup.employee_count]]


def _ranking_url(rollup: Rollup) -> str:
    return (f"{reverse('dashboard:store_list')}?quarter={rollup.quarter}"
            f"&revision={rollup.revision}")


@job_kind(ROLLUP_KIND, label=gettext_lazy("Quarter rollup"))
def rollup_job(ctx: JobContext) -> dict:
    """Compute the quarter's provisional revision (``rollup_quarter``), stage by stage."""
    outcome = rollup_quarter(quarter=_quarter(ctx), user=ctx.user,
                             reason=str(ctx.params.get("reason", "")), progress=ctx.progress)
    rollup = outcome.rollup
    return {
        "message": _("%(q)s revision %(r)s computed: %(s)s stores, %(e)s employees.") % {
            "q": rollup.quarter, "r": rollup.revision, "s": outcome.stores,
            "e": outcome.employees},
        "summary": [*_revision_summary(rollup), [_("Counted inputs"), outcome.inputs],
                    [_("Seconds"), f"{outcome.seconds:.1f}"]],
        # The ranking of the new revision; what arrived after a published revision is on
        # the quarters page (its late list).
        "next_url": _ranking_url(rollup),
    }


@job_kind(PUBLISH_KIND, label=gettext_lazy("Publish a quarter"))
def publish_job(ctx: JobContext) -> dict:
    """Recompute and lock the quarter (``quarter_publish``: it refuses as the confirmation
    page said it would)."""
    rollup = quarter_publish(quarter=_quarter(ctx), user=ctx.user, progress=ctx.progress)
    return {
        "message": _("%(q)s revision %(r)s is published and locked.") % {
            "q": rollup.quarter, "r": rollup.revision},
        "summary": _revision_summary(rollup),
        "next_url": _ranking_url(rollup),
    }


@job_kind(HR_EXPORT_KIND, label=gettext_lazy("Bonus sheet export"))
def hr_export_job(ctx: JobContext) -> dict:
    """Write the bonus sheet of a published quarter (``hr_export_write``) as the job's file."""
    ctx.progress(0, 1)
    file_format = str(ctx.params.get("format", ""))
    language = str(ctx.params.get("language", ""))
    outcome = hr_export_write(user=ctx.user, quarter=_quarter(ctx), file_format=file_format,
                              language=language, output=ctx.output)
    rollup = outcome.log.rollup
    return {
        "message": _("The bonus sheet of %(q)s is ready: %(n)s employees.") % {
            "q": rollup.quarter, "n": outcome.rows},
        "summary": [[_("Quarter"), str(rollup.quarter)], [_("Revision"), rollup.revision],
                    [_("Rows"), outcome.rows],
                    [_("Format"), export.FORMATS.get(file_format, file_format)],
                    [_("Language of the export"), export.LANGUAGES.get(language, language)]],
        "next_url": reverse("scoring:hr"),
    }


def _action_labels() -> dict[str, str]:
    return {APPRAISAL_CREATE: pgettext("import", "create"),
            APPRAISAL_UPDATE: pgettext("import", "update"),
            APPRAISAL_UNCHANGED: pgettext("import", "unchanged")}


@job_kind(APPRAISAL_IMPORT_KIND, label=gettext_lazy("Appraisal points import"))
def appraisal_import_job(ctx: JobContext) -> dict:
    """Check (``dry_run``, the default) or import the uploaded appraisal points: what would be
    created, updated and left unchanged, or every bad cell; all rows or none."""
    dry_run = bool(ctx.params.get("dry_run", True))
    ctx.progress(0, 1)
    try:
        outcome = appraisal_import(user=ctx.user, file_name=ctx.input_name,
                                   content=ctx.input_bytes(), dry_run=dry_run)
    except ApplicationError as exc:
        if not dry_run or exc.code != "invalid_rows":
            raise
        # A dry run that finds bad cells is done: it lists them, and offers no import.
        return {"message": exc.message, "dry_run": True, "errors": exc.fields.get("rows", []),
                "next_url": reverse("scoring:hr")}
    labels = _action_labels()
    counts = {"created": outcome.created, "updated": outcome.updated,
              "unchanged": outcome.unchanged}
    if dry_run:
        message = _("Nothing is imported yet: %(c)s rows would be created, %(u)s updated, "
                    "%(n)s left unchanged.") % {"c": outcome.created, "u": outcome.updated,
                                                "n": outcome.unchanged}
    else:
        message = _("Appraisal points imported: %(c)s rows created, %(u)s updated, %(n)s "
                    "unchanged.") % {"c": outcome.created, "u": outcome.updated,
                                     "n": outcome.unchanged}
    return {
        "message": message, "dry_run": dry_run, "errors": [], "counts": counts,
        "rows": [[_("row %(n)s") % {"n": row.row}, labels[row.action],
                  f"{row.number} {row.quarter}: {row.financial:g} / {row.other:g}"]
                 for row in outcome.rows],
        "next_url": reverse("scoring:hr"),
    }
