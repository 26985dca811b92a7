"""Plan tasks: render the plan PDFs ahead of the first download, read large Word imports."""
from __future__ import annotations

from emergency.core.extensions import db
from emergency.core.queue import task
from plans.plan import imports
from plans.plan.models import PlanKind, PlanVersion
from plans.plan.pdf import card_pdf, plan_pdf


@task("plan.render_plan_pdf", retries=2, retry_delay=30)
def render_plan_pdf(version_id: int) -> str | None:
    version = db.session.get(PlanVersion, version_id)
    if version is None:
        return None
    path = plan_pdf(version)
    if version.plan.kind == PlanKind.onsite:
        card_pdf(version)
    return str(path)


@task("plan.import_word")
def import_word(job_id: int) -> str | None:
    """Read a large Word file of an import job (plans.plan.imports), reporting progress on the job."""
    return imports.run(job_id)
