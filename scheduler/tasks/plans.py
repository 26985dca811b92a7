"""Plan and filing tasks: render PDFs ahead of the first download, sweep filing clocks, read large Word imports."""
from __future__ import annotations

import logging

from emergency.extensions import db

from ..context import app_task

logger = logging.getLogger(__name__)


@app_task(retries=2, retry_delay=30)
def render_plan_pdf(version_id: int) -> str | None:
    from plans.plan.models import PlanKind, PlanVersion
    from plans.plan.pdf import card_pdf, plan_pdf

    version = db.session.get(PlanVersion, version_id)
    if version is None:
        return None
    path = plan_pdf(version)
    if version.plan.kind == PlanKind.onsite:
        card_pdf(version)
    return str(path)


@app_task(retries=2, retry_delay=30)
def render_filing_form(filing_id: int) -> str | None:
    from plans.filing.models import Filing
    from plans.filing.pdf import form_pdf

    filing = db.session.get(Filing, filing_id)
    if filing is None or not filing.filed:
        return None
    return str(form_pdf(filing))


@app_task()
def sweep_filings() -> dict[str, int]:
    """Deem undecided filings filed after 5 working days; remind before the 20-day deadline."""
    from plans.filing import operations

    counts = operations.sweep()
    if any(counts.values()):
        logger.info("filing sweep: %s", counts)
    return counts


@app_task(retries=2, retry_delay=60)
def recompute_clocks(years: list[int] | None = None) -> dict[str, int]:
    """The calendar changed (or the package was upgraded): count every open clock again.

    Filings' submit-by and decide-by (each change audited, each enterprise whose deadline moved
    told once by SMS) and the future occurrences of cycles that move drills off days off.
    """
    from plans.drills import occurrences
    from plans.filing import clocks

    counts = clocks.recompute()
    counts["cycles"] = occurrences.reshift_cycles()
    db.session.commit()
    logger.info("clocks recomputed for %s: %s", years or "all years", counts)
    return counts


@app_task()
def import_word(job_id: int) -> str | None:
    """Read a large Word file of an import job (plans.plan.imports), reporting progress on the job."""
    from plans.plan import imports

    return imports.run(job_id)
