"""Background jobs: work too long for a request, run by Celery and watched on a page.

A rollup of the whole chain, publishing, an import of thousands of rows or an export of
100,000 complaints takes seconds to minutes: behind a proxy's timeout, or clicked twice, it
would be cut or run twice. Each such action is a *kind* of job, registered by its app in
``<app>/jobs.py`` (found at startup like ``admin.py``)::

    @job_kind("scoring.rollup", label=_("Quarter rollup"))
    def rollup_job(ctx: JobContext) -> dict:
        ...  # call the service; ctx.progress(done, total); return the result to show

A view starts it with :func:`job_start` and redirects to the job's page, which polls its
progress and then shows the result (a summary, an error list, a download). The runner calls the
app's services, which are atomic: a job that fails leaves nothing half-written, only its error.

One job per (kind, key) is queued or running at a time (a partial unique constraint on
``Job``): a second start returns the running job. Progress goes to the cache as it happens (the
runner's own work may be inside one long transaction) and to the row when the job ends.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import IO, Any, TypeVar

from django.conf import settings
from django.core.cache import cache
from django.core.files import File
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from satisfaction.celery import app as celery_app
from satisfaction.errors import ApplicationError
from satisfaction.models import ACTIVE_JOB_STATES, Job, JobState, User
from satisfaction.rules import is_active, is_hq
from satisfaction.services import chain_import

logger = logging.getLogger(__name__)
T = TypeVar("T")

#: Hours an upload and a job's result file are kept (the export's download link works that long).
JOB_FILE_HOURS = 24
#: A queued or running job not heard of for this long lost its worker (the broker's visibility
#: timeout, after which Celery would have handed the task to another worker, has passed):
#: a new start of the same kind and key marks it failed instead of waiting for it forever.
JOB_STALE_AFTER = timedelta(hours=3)
#: An export of up to this many rows is written in the request; a larger one is a job.
EXPORT_IN_REQUEST_ROWS = 5_000
#: Rows an export reads from the database at a time (and between two progress reports).
EXPORT_CHUNK_ROWS = 2_000
#: The task that runs a job (``satisfaction.tasks.job_run``).
JOB_TASK = "satisfaction.tasks.job_run"
#: The result's preview rows a page shows (an import's dry run of 100,000 rows keeps these).
RESULT_ROWS = 200


@dataclass(frozen=True)
class JobKind:
    kind: str
    label: str | Promise
    run: Callable[[JobContext], dict]


_KINDS: dict[str, JobKind] = {}


def _unknown_kind(ctx: JobContext) -> dict:
    raise ApplicationError(_("Unknown kind of job."), code="unknown_job")


_UNKNOWN = JobKind("unknown", "unknown", _unknown_kind)


def job_kind(kind: str, *, label: str | Promise) -> Callable[[Callable], Callable]:
    """Register the runner of a kind of job (in ``<app>/jobs.py``)."""

    def register(run: Callable[[JobContext], dict]) -> Callable[[JobContext], dict]:
        if kind in _KINDS and _KINDS[kind].run is not run:
            raise ValueError(f"Job kind {kind!r} is registered twice.")
        _KINDS[kind] = JobKind(kind, label, run)
        return run

    return register


def job_kinds() -> dict[str, JobKind]:
    return dict(_KINDS)


def job_label(kind: str) -> str:
    registered = _KINDS.get(kind)
    return str(registered.label) if registered is not None else kind


def _progress_key(job_id: int) -> str:
    return f"satisfaction:job-progress:{job_id}"


class JobContext:
    """What a runner gets: the job's starter, parameters, input file, a progress reporter and
    the result file to write."""

    def __init__(self, job: Job) -> None:
        self.job = job
        self.user: User | None = job.created_by
        self.params: dict[str, Any] = dict(job.params)
        self.input_name: str = job.input_name
        self._output: tuple[str, str] | None = None

    def input_bytes(self) -> bytes:
        if not self.job.input_file:
            raise ApplicationError(_("This job has no uploaded file."), code="no_input")
        with self.job.input_file.open("rb") as handle:
            return handle.read()

    def progress(self, done: int, total: int | None = None) -> None:
        """Report how far the job is. Pollers read it from the cache at once, even while the
        runner's writes are still inside their transaction."""
        self.job.done = max(0, int(done))
        if total is not None:
            self.job.total = max(0, int(total))
        with contextlib.suppress(Exception):  # progress is a courtesy: never fail the job on it
            cache.set(_progress_key(self.job.pk), (self.job.done, self.job.total),
                      timeout=JOB_FILE_HOURS * 3600)

    def tracked(self, rows: Iterable[T], total: int, *, every: int = 2000) -> Iterator[T]:
        """``rows`` as they are, reporting progress (done of ``total``) every ``every`` rows
        and at the end: an export's rows on their way to the file."""
        done = 0
        self.progress(0, total)
        for row in rows:
            yield row
            done += 1
            if done % every == 0:
                self.progress(done, total)
        self.progress(done, total)

    @contextlib.contextmanager
    def output(self, file_name: str) -> Iterator[IO[bytes]]:
        """A binary file to write the job's result into (an export). It is streamed to disk, not
        held in memory, and saved as the job's download when the block ends without error."""
        handle = tempfile.NamedTemporaryFile(prefix="job-", suffix=f"-{file_name}",  # noqa: SIM115
                                             delete=False)
        try:
            yield handle
            handle.flush()
            handle.seek(0)
            self.job.output_file.save(file_name, File(handle, name=file_name), save=False)
            self.job.output_name = file_name
        finally:
            handle.close()
            with contextlib.suppress(OSError):
                Path(handle.name).unlink()


def job_visible_to(job: Job, user: User) -> bool:
    """A job is its starter's; HQ sees every job."""
    return is_hq(user) or (is_active(user) and job.created_by_id == user.pk)


def jobs_for(user: User):
    jobs = Job.objects.select_related("created_by")
    return jobs if is_hq(user) else jobs.filter(created_by=user)


def job_progress(job: Job) -> tuple[int, int]:
    """(done, total) as the runner last reported it."""
    if job.is_active:
        with contextlib.suppress(Exception):
            reported = cache.get(_progress_key(job.pk))
            if reported:
                return reported
    return job.done, job.total


def _fail_stale(kind: str, key: str, now) -> None:
    Job.objects.filter(kind=kind, key=key, state__in=ACTIVE_JOB_STATES,
                       created_at__lt=now - JOB_STALE_AFTER,
                       ).update(state=JobState.FAILED, finished_at=now,
                                error=_("The job stopped without finishing (its worker was "
                                        "lost). Start it again."))


def personal_key(*, user: User, params: dict) -> str:
    """The key of a job that is its starter's own work on these parameters (an export of a
    filtered list): a double click gets the running job, another user's is another job."""
    digest = hashlib.sha256(json.dumps(params, sort_keys=True, default=str).encode())
    return f"user-{user.pk}-{digest.hexdigest()[:24]}"


def job_start(*, kind: str, user: User, params: dict | None = None, key: str = "",
              upload: UploadedFile | None = None, input_from: Job | None = None,
              ) -> tuple[Job, bool]:
    """Queue a job of ``kind`` for ``user``, unless one with the same kind and key is already
    queued or running: then that one, and ``False``. The task is queued when the transaction
    commits; in eager mode (no broker) it runs then, inside the request.

    ``upload`` is an uploaded file the runner reads (an import); ``input_from`` reuses an earlier
    job's file (the real import after its dry run)."""
    if kind not in _KINDS:
        raise ApplicationError(_("Unknown kind of job."), code="unknown_job")
    now = timezone.now()
    key = key[:100]
    _fail_stale(kind, key, now)
    job = Job(kind=kind, key=key, created_by=user, created_at=now, params=params or {},
              language=translation.get_language() or settings.LANGUAGE_CODE)
    try:
        with transaction.atomic():
            if upload is not None:
                job.input_name = Path(upload.name or "upload").name[:200]
                job.input_file.save(job.input_name, upload, save=False)
            elif input_from is not None and input_from.input_file:
                job.input_name = input_from.input_name
                job.input_file.name = input_from.input_file.name
            job.save()
    except IntegrityError:
        if job.input_file and upload is not None:
            job.input_file.delete(save=False)
        running = Job.objects.filter(kind=kind, key=key, state__in=ACTIVE_JOB_STATES).first()
        if running is None:  # it finished between our insert and this read: start anew
            return job_start(kind=kind, user=user, params=params, key=key, upload=upload,
                             input_from=input_from)
        return running, False
    transaction.on_commit(lambda: _enqueue(job.pk))
    return job, True


def _enqueue(job_id: int) -> None:
    """Hand the job to Celery (in eager mode: run it now). The task is looked up by name:
    ``satisfaction.tasks`` imports this module, not the other way round."""
    celery_app.tasks[JOB_TASK].delay(job_id)


def job_run(*, job_id: int) -> Job | None:
    """Run a queued job (the task's body). A job that already ran, or is not found, is left
    alone, so a redelivered task does nothing twice."""
    now = timezone.now()
    claimed = Job.objects.filter(pk=job_id, state=JobState.QUEUED).update(
        state=JobState.RUNNING, started_at=now)
    if not claimed:
        return None
    job = Job.objects.select_related("created_by").get(pk=job_id)
    context = JobContext(job)
    registered = _KINDS.get(job.kind, _UNKNOWN)
    try:
        # One transaction: whatever the runner writes lands whole or not at all, and an
        # export reads one consistent snapshot.
        with translation.override(job.language or settings.LANGUAGE_CODE), transaction.atomic():
            result = registered.run(context) or {}
    except ApplicationError as exc:
        _finish(job, state=JobState.FAILED, error=exc.message,
                result={"errors": _flat(exc.fields)})
    except Exception:
        logger.exception("Job %s (%s) failed", job.pk, job.kind)
        with translation.override(job.language or settings.LANGUAGE_CODE):
            error = _("The job failed because of an error in the system. Nothing was changed; "
                      "the error has been logged. Try again, or tell the administrator.")
        _finish(job, state=JobState.FAILED, error=error, result={})
    else:
        if job.total == 0:
            job.total = job.done = 1
        job.done = job.total
        _finish(job, state=JobState.DONE, error="", result=_json_result(result))
    return job


def _flat(fields: dict) -> list[str]:
    return [str(message) for messages in fields.values() for message in messages][:1000]


def _json_result(result: dict) -> dict:
    rows = result.get("rows")
    if isinstance(rows, list) and len(rows) > RESULT_ROWS:
        result = {**result, "rows": rows[:RESULT_ROWS], "rows_total": len(rows)}
    return {key: value for key, value in result.items() if value is not None}


def _finish(job: Job, *, state: str, error: str, result: dict) -> None:
    job.state = state
    job.error = error
    job.result = result
    job.finished_at = timezone.now()
    job.save(update_fields=["state", "error", "result", "finished_at", "done", "total",
                            "output_file", "output_name"])
    with contextlib.suppress(Exception):
        cache.delete(_progress_key(job.pk))


def job_commit_dry_run(*, job: Job, user: User) -> tuple[Job, bool]:
    """Start the real import of a dry run that found nothing wrong: the same kind, file and
    parameters, with ``dry_run`` off."""
    if not job_visible_to(job, user):
        raise ApplicationError(_("Not found."), code="not_found", status=404)
    if (job.state != JobState.DONE or not job.result.get("dry_run")
            or job.result.get("errors")):
        raise ApplicationError(_("Only a dry run that found no errors can be imported."),
                               code="not_importable", status=409)
    return job_start(kind=job.kind, user=user, params={**job.params, "dry_run": False},
                     key=job.key, input_from=job)


def jobs_delete_old_files(*, now=None) -> int:
    """Delete uploads and results older than ``JOB_FILE_HOURS`` (their rows stay, as a record
    of who ran what). Returns the number of jobs cleaned."""
    now = now or timezone.now()
    old = Job.objects.filter(created_at__lt=now - timedelta(hours=JOB_FILE_HOURS),
                             files_deleted_at__isnull=True).exclude(state__in=ACTIVE_JOB_STATES)
    cleaned = 0
    for job in old.iterator(chunk_size=500):
        for field in (job.input_file, job.output_file):
            if field:
                field.delete(save=False)
        Job.objects.filter(pk=job.pk).update(files_deleted_at=now, input_file="",
                                             output_file="")
        cleaned += 1
    return cleaned


# --- The core's own kind of job ----------------------------------------------------------------

@job_kind("satisfaction.chain_import", label=gettext_lazy("Import of stores and employees"))
def chain_import_job(ctx: JobContext) -> dict:
    """The chain file: a dry run (counts and the first changes), then the import itself."""
    dry_run = bool(ctx.params.get("dry_run", True))
    result = chain_import(file_name=ctx.input_name, content=ctx.input_bytes(), dry_run=dry_run,
                          progress=ctx.progress)
    return {
        "message": (_("Nothing is written yet: check the counts, then import.") if dry_run
                    else result.summary()),
        "dry_run": dry_run, "errors": [],
        "summary": [[_("Regions to create") if dry_run else _("Regions created"),
                     result.regions.created],
                    [_("Stores"), _("%(c)d new, %(u)d changed, %(n)d unchanged") % {
                        "c": result.stores.created, "u": result.stores.updated,
                        "n": result.stores.unchanged}],
                    [_("Employees"), _("%(c)d new, %(u)d changed, %(n)d unchanged") % {
                        "c": result.employees.created, "u": result.employees.updated,
                        "n": result.employees.unchanged}]],
        "rows": result.preview, "next_url": reverse("chain_import"),
    }
