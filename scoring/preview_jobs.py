"""The scheme preview as a background job (``scoring.scheme_preview``).

Recomputing the last published quarter twice reads all its inputs: at the chain's scale
(15,000 stores, 1,000,000 responses) that is tens of seconds, too long for a request. The page
starts this job and its result page links back to the scheme page, which shows the preview
beside the values it was made with (``?preview=<job>``), ready to save.
"""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from satisfaction.jobs import JobContext, job_kind
from satisfaction.models import User
from scoring import preview
from scoring.services import scheme_current

PREVIEW_KIND = "scoring.scheme_preview"


def preview_key(user: User) -> str:
    """One preview at a time per person: a second press shows the running one."""
    return f"user-{user.pk}"


def _figure(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def _change(value: float | None) -> str:
    return "—" if value is None else f"{value:+.2f}"


@job_kind(PREVIEW_KIND, label=gettext_lazy("Scoring scheme preview"))
def scheme_preview_job(ctx: JobContext) -> dict:
    """``params``: ``values`` (the scheme's fields as typed). Writes nothing; the result keeps
    the preview (``preview``) for the scheme page and a summary for the job page."""
    candidate = preview.candidate_params(base=scheme_current(), values=ctx.params["values"])
    result = preview.scheme_preview(candidate=candidate, progress=ctx.progress)
    next_url = f"{reverse('scoring_setup:schemes')}?preview={ctx.job.public_id}"
    if result is None:
        return {"message": _("No quarter is published yet, so there is nothing to compare "
                             "with. You can save the scheme; the next rollup uses it."),
                "next_url": next_url, "preview": None}
    movers = [*result.up, *result.down]
    return {
        "message": _("%(quarter)s (published revision %(revision)s) recomputed with the "
                     "candidate scheme.") % {"quarter": result.quarter,
                                             "revision": result.revision},
        "summary": [
            [_("Stores computed"), result.stores],
            [_("Mean store value"),
             f"{_figure(result.store_mean_old)} → {_figure(result.store_mean_new)}"],
            [_("Stores moving by 1 point or more"), result.stores_moved],
            [_("Employees computed"), result.employees],
            [_("Mean employee value"),
             f"{_figure(result.employee_mean_old)} → {_figure(result.employee_mean_new)}"],
        ],
        "rows": [[f"{m.code} {m.name}", f"{m.old:.2f} → {m.new:.2f}", _change(m.change)]
                 for m in movers],
        "next_url": next_url,
        "preview": result.as_json(),
    }
