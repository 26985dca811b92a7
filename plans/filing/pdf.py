"""The filing registration form (应急预案备案登记表) as a PDF."""
from __future__ import annotations

import hashlib
from pathlib import Path

from flask_babel import force_locale
from flask_babel import gettext as _

from emergency.organisations.models import Jurisdiction
from emergency.core.extensions import db
from emergency.core.pdf import cached_pdf, render_pdf
from emergency.core.timeutil import to_local

from plans.filing.models import MATERIALS, Filing, FilingStatus
from plans.filing.operations import materials



def form_pdf(filing: Filing) -> Path:
    """The registration form, in Chinese whatever the screen language (it is an official form)."""
    with force_locale("zh_CN"):
        return _form_pdf(filing)


def _form_pdf(filing: Filing) -> Path:
    if not filing.filed:
        raise ValueError("only a filed plan has a registration form")
    enterprise = filing.enterprise
    version = filing.version
    plan = version.plan
    received = [str(MATERIALS[code]) for code, ok in materials(filing).items() if ok]
    context = {
        "filing": filing, "enterprise": enterprise, "version": version, "plan": plan,
        "children": [c for c in plan.children if c.active and c.current is not None],
        "jurisdiction": db.session.get(Jurisdiction, enterprise.township.jurisdiction_id),
        "materials": received,
        "filed_on": filing.filed_on.isoformat() if filing.filed_on else "",
        "submitted_on": to_local(filing.submitted_at).date().isoformat() if filing.submitted_at else "",
        "decision": _("Filed") if filing.status == FilingStatus.accepted else
        _("Deemed filed: no decision within 5 working days (article 26)"),
    }
    fields = "|".join([filing.number or "", enterprise.name, enterprise.credit_code, enterprise.address,
                       enterprise.legal_representative, enterprise.principal_name, filing.applicant_name,
                       filing.applicant_phone, plan.title, context["filed_on"], *received])
    key = f"filing-{filing.id}-{hashlib.sha256(fields.encode()).hexdigest()[:20]}"
    return cached_pdf(key, lambda: render_pdf("pdf/filing_form.html", context))
