"""Filing tasks: the registration form PDF, the hourly sweep, the recount of clocks."""
from __future__ import annotations

import logging

from emergency.core.extensions import db
from emergency.core.queue import task
from plans.filing import clocks, operations
from plans.filing.models import Filing
from plans.filing.pdf import form_pdf

logger = logging.getLogger(__name__)


@task("filing.render_filing_form", retries=2, retry_delay=30)
def render_filing_form(filing_id: int) -> str | None:
    filing = db.session.get(Filing, filing_id)
    if filing is None or not filing.filed:
        return None
    return str(form_pdf(filing))


@task("filing.sweep_filings")
def sweep_filings() -> dict[str, int]:
    """Deem undecided filings filed after 5 working days; remind before the 20-day deadline."""
    counts = operations.sweep()
    if any(counts.values()):
        logger.info("filing sweep: %s", counts)
    return counts


@task("filing.recompute_clocks", retries=2, retry_delay=60)
def recompute_clocks() -> dict[str, int]:
    """The calendar changed (or the package was upgraded): count every open filing clock again,
    each change audited, each enterprise whose deadline moved told once by SMS."""
    counts = clocks.recompute()
    logger.info("filing clocks recomputed: %s", counts)
    return counts
