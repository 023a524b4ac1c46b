"""HQ's scoring-scheme page under ``/setup/schemes/``: edit, preview on the last published
quarter (a background job), save as a new version."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from satisfaction.errors import ApplicationError
from satisfaction.forms import add_application_error
from satisfaction.jobs import job_start, job_visible_to
from satisfaction.models import Job, JobState
from satisfaction.permissions import role_required
from scoring import preview, rules, selectors
from scoring.forms import SchemeForm
from scoring.models import Scheme
from scoring.preview_jobs import PREVIEW_KIND, preview_key
from scoring.services import SCHEME_FIELDS, scheme_create_version, scheme_current

PREVIEW = "preview"


def _preview_job(request: HttpRequest) -> Job | None:
    """The preview job named by ``?preview=<job>`` (the user's own, or any for HQ); 404 for
    any other value."""
    value = request.GET.get(PREVIEW)
    if not value:
        return None
    try:
        public_id = uuid.UUID(value)
    except ValueError:
        raise Http404 from None
    job = Job.objects.filter(public_id=public_id, kind=PREVIEW_KIND).first()
    if job is None or not job_visible_to(job, request.user):
        raise Http404
    return job


@role_required(rules.can_edit_scheme)
def scheme_edit(request: HttpRequest) -> HttpResponse:
    """The current scheme as a form. "Preview" checks the values typed and starts the preview
    job (the last published quarter recomputed with them; nothing is saved), whose result comes
    back here (``?preview=<job>``) with the form holding those values. "Save as a new version"
    saves them (``scheme_create_version``), for the next rollup."""
    current = scheme_current()
    job = _preview_job(request)
    if request.method == "POST":
        form = SchemeForm(request.POST)
    else:
        typed = ({**job.params.get("values", {}), "note": job.params.get("note", "")}
                 if job is not None else None)
        form = SchemeForm(instance=current, initial=typed)
    if request.method == "POST" and form.is_valid():
        values = {f: form.cleaned_data[f] for f in SCHEME_FIELDS}
        try:
            if PREVIEW in request.POST:
                # Checked here, at once: a job is started only for a scheme that could be saved.
                preview.candidate_params(base=current, values=values)
            else:
                scheme = scheme_create_version(user=request.user,
                                               note=form.cleaned_data["note"], **values)
        except ApplicationError as exc:
            messages.error(request, exc.message)
            add_application_error(form, exc)
        else:
            if PREVIEW not in request.POST:
                messages.success(request, _("Scheme version %(v)s saved; the next rollup "
                                            "uses it.") % {"v": scheme.version})
                return redirect("scoring_setup:schemes")
            started_job, started = job_start(
                kind=PREVIEW_KIND, user=request.user, key=preview_key(request.user),
                params={"values": values, "note": form.cleaned_data["note"]})
            if not started:
                messages.info(request, _("A preview of yours is still running: here it is. "
                                         "Start another when it has finished."))
            return redirect(started_job)
    result = None
    if job is not None and job.state == JobState.DONE and job.result.get("preview"):
        result = preview.SchemePreview.from_json(job.result["preview"])
    return render(request, "scoring/schemes.html", {
        "form": form, "current": current, "versions": Scheme.objects.all()[:20],
        "changes": selectors.scheme_changes(), "preview_job": job, "preview": result,
        "top_movers": preview.TOP_MOVERS},
        status=400 if form.errors else 200)
