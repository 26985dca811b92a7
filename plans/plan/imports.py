"""Word import jobs: upload, read (in the request or by the worker), review, save.

``start`` checks the upload (type, the import limits: ``docx_import.measure``, which never
parses the whole file) and stores it. A file of at most ``DOCX_IMPORT_INLINE_PARAGRAPHS``
paragraphs (1,000 by default, well under a second to read) is read at once; a larger one is
read by the worker (``plans.plan.tasks.import_word``, enqueued when the job is committed),
which reports its progress on the job. Either way the sections found wait on the job until
``confirm`` replaces the draft's sections with them (audited as ``import_sections``); a job
started with ``apply`` (the API's ``confirm=true``) is saved as soon as it is read.
"""
from __future__ import annotations

import logging
from datetime import timedelta

from flask import current_app
from flask_babel import gettext as _
from marshmallow import ValidationError

from emergency.core import files
from emergency.core.extensions import db
from emergency.core.queue import enqueue_after_commit
from emergency.core.timeutil import utcnow
from emergency.core.validation import first_errors

from plans.documents import docx_import
from plans.plan import operations
from plans.plan.models import ImportJob, PlanVersion
from plans.plan.models import IMPORT_JOB_STATUS_LABELS
from emergency.auth.models import User

logger = logging.getLogger(__name__)


def inline_limit() -> int:
    return int(current_app.config.get("DOCX_IMPORT_INLINE_PARAGRAPHS", 1000))


def start(actor, version: PlanVersion, filename: str, data: bytes, *, apply: bool = False) -> ImportJob:
    """A new import job for a draft; ValidationError (field ``file``) when the file is refused.

    Nothing is stored for a refused file. The caller commits (which enqueues a large file).
    """
    operations.require_draft(version)
    shape = docx_import.measure(data, filename)
    sections = None
    if shape.paragraphs <= inline_limit():
        sections = docx_import.import_docx(data, filename)
    blob = files.store(data, filename)
    job = ImportJob(version=version, created_by_id=getattr(actor, "id", None), filename=filename[:200],
                    sha256=blob.sha256, apply=apply, paragraphs=shape.paragraphs)
    db.session.add(job)
    db.session.flush()
    if sections is not None:
        _finish(job, sections)
        if apply:
            confirm(actor, job)
    else:
        enqueue_after_commit("plan.import_word", job.id)
    return job


def confirm(actor, job: ImportJob) -> ImportJob:
    """Replace the draft's sections with those the job found."""
    if job.status != "done":
        raise ValidationError({"job": [_("This import is not ready to be saved (%(status)s).",
                                         status=status_label(job))]})
    operations.replace_sections(actor, job.version, [{"title": s["title"], "level": s["level"], "body": s["html"]}
                                                     for s in job.sections or []], source=job.filename)
    job.status = "saved"
    return job


def stalled(job: ImportJob) -> bool:
    """A queued or running job the worker has not touched for DOCX_IMPORT_STALL_MINUTES."""
    minutes = int(current_app.config.get("DOCX_IMPORT_STALL_MINUTES", 10))
    return job.pending and job.updated_at < utcnow() - timedelta(minutes=minutes)


def status_label(job: ImportJob) -> str:

    return str(IMPORT_JOB_STATUS_LABELS.get(job.status, job.status))


def run(job_id: int) -> str | None:
    """The worker's part: read the job's file, with progress; its status at the end."""

    job = db.session.get(ImportJob, job_id)
    if job is None or job.status != "queued":
        return job.status if job is not None else None  # run once (a retried task finds it started)
    job.status, job.progress = "running", 5
    db.session.commit()

    def progress(done: int, total: int) -> None:
        job.progress = min(95, 10 + 85 * done // max(total, 1))
        db.session.commit()

    try:
        with files.open_blob(job.sha256) as handle:
            data = handle.read()
        sections = docx_import.import_docx(data, job.filename, progress)
    except ValidationError as exc:
        db.session.rollback()
        return _fail(job_id, _first_message(exc))
    except Exception:
        logger.exception("Word import job %s failed", job_id)
        db.session.rollback()
        return _fail(job_id, _("The document could not be read. Upload it again, or import a smaller file."))
    _finish(job, sections)
    if job.apply:
        try:
            confirm(db.session.get(User, job.created_by_id) if job.created_by_id else None, job)
        except ValidationError as exc:  # e.g. the draft was published meanwhile
            db.session.rollback()
            return _fail(job_id, _first_message(exc))
    db.session.commit()
    return job.status


def _finish(job: ImportJob, sections: list[docx_import.ImportedSection]) -> None:
    job.sections = [{"title": s.title, "level": s.level, "html": s.html} for s in sections]
    job.status, job.progress, job.finished_at = "done", 100, utcnow()


def _fail(job_id: int, message: str) -> str:
    job = db.session.get(ImportJob, job_id)
    job.status, job.error, job.finished_at = "failed", message, utcnow()
    db.session.commit()
    return job.status


def _first_message(exc: ValidationError) -> str:
    return next(iter(first_errors(exc.normalized_messages()).values()), str(exc))
