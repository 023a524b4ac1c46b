"""Pages of background jobs (satisfaction/jobs.py): a job's progress and result, its status
for the page's polling, its download, the import of a clean dry run, and the list of jobs."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from satisfaction.errors import ApplicationError
from satisfaction.jobs import (
    job_commit_dry_run,
    job_label,
    job_progress,
    job_visible_to,
    jobs_for,
)
from satisfaction.models import Job, JobState

JOBS_ON_PAGE = 50


def _job(request: HttpRequest, public_id: uuid.UUID) -> Job:
    job = Job.objects.select_related("created_by").filter(public_id=public_id).first()
    if job is None or not job_visible_to(job, request.user):
        raise Http404
    return job


def _status(job: Job) -> dict:
    done, total = job_progress(job)
    percent = 100 if job.state == JobState.DONE else (int(100 * done / total) if total else 0)
    return {"state": job.state, "state_label": str(job.get_state_display()), "done": done,
            "total": total, "percent": percent, "finished": not job.is_active}


@login_required
@never_cache
@require_GET
def job_detail(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    job = _job(request, public_id)
    return render(request, "satisfaction/job.html", {
        "job": job, "label": job_label(job.kind), "status": _status(job),
        "result": job.result or {}, "summary": job.result.get("summary") or [],
        "next_url": _local(job.result.get("next_url")),
        "can_import": (job.state == JobState.DONE and job.result.get("dry_run")
                       and not job.result.get("errors"))})


def _local(url: object) -> str:
    """A result's link, only if it is a path on this site."""
    text = str(url or "")
    return text if url_has_allowed_host_and_scheme(text, allowed_hosts=None) and \
        text.startswith("/") else ""


@login_required
@never_cache
@require_GET
def job_status(request: HttpRequest, public_id: uuid.UUID) -> JsonResponse:
    return JsonResponse(_status(_job(request, public_id)))


@login_required
@require_GET
def job_download(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    job = _job(request, public_id)
    if job.state != JobState.DONE or not job.output_file:
        return render(request, "404.html", {"message": _(
            "This file is no longer kept: files of a job are kept for a day. Run the export "
            "again.")}, status=410 if job.files_deleted_at else 404)
    return FileResponse(job.output_file.open("rb"), as_attachment=True,
                        filename=job.output_name or job.output_file.name.rsplit("/", 1)[-1])


@login_required
@require_POST
def job_import(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """Import the rows of a dry run that found no errors."""
    job = _job(request, public_id)
    try:
        started, is_new = job_commit_dry_run(job=job, user=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect(job)
    if not is_new:
        messages.info(request, _("This job is already running: here it is."))
    return redirect(started)


@login_required
@require_GET
def job_list(request: HttpRequest) -> HttpResponse:
    """A user's own jobs, newest first; HQ sees everyone's."""
    page = Paginator(jobs_for(request.user), JOBS_ON_PAGE).get_page(request.GET.get("page"))
    for job in page.object_list:
        job.label = job_label(job.kind)
    return render(request, "satisfaction/jobs.html", {"page": page, "jobs": page.object_list})
