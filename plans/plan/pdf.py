"""The plan document and the emergency cards as PDFs, cached per version content."""
from __future__ import annotations

from pathlib import Path

from flask_babel import force_locale

from emergency.core import signals
from emergency.core.pdf import cached_pdf, render_pdf
from plans.plan.models import ATTACHMENT_KINDS, REVISION_TRIGGERS, PlanKind, PlanVersion
from plans.plan.operations import fingerprint



def _filing_number(version: PlanVersion) -> str | None:
    return signals.answer(signals.filing_number, version)  # filing lives above plans


def plan_pdf(version: PlanVersion) -> Path:
    """The plan document: cover, sections in order, appendix list (cached per content).

    Official documents are in Chinese whatever the screen language of whoever asks first.
    """
    with force_locale("zh_CN"):
        return _plan_pdf(version)


def _plan_pdf(version: PlanVersion) -> Path:
    number = _filing_number(version)
    key = f"plan-{version.id}-v{version.number}-{fingerprint(version)[:20]}-{number or 'unfiled'}"
    return cached_pdf(key, lambda: render_pdf("pdf/plan.html", {
        "plan": version.plan, "version": version, "filing_number": number,
        "triggers": {k: str(v) for k, v in REVISION_TRIGGERS.items()},
        "attachment_kinds": {k: str(v) for k, v in ATTACHMENT_KINDS.items()},
    }))


#: Sections of an on-site plan that go on its card (the first-minutes content).
CARD_PARTS = ("应急工作职责", "应急处置", "注意事项")


def card_pdf(version: PlanVersion) -> Path:
    """应急处置卡: one A5 page from an on-site plan's duties, response and precautions."""
    with force_locale("zh_CN"):
        return _card_pdf(version)


def _card_pdf(version: PlanVersion) -> Path:
    if version.plan.kind != PlanKind.onsite:
        raise ValueError("emergency cards are made from on-site disposal plans")
    sections = [s for s in version.sections if s.level == 1 and any(p in s.title for p in CARD_PARTS)] or \
        [s for s in version.sections if s.level == 1]
    key = f"card-{version.id}-v{version.number}-{fingerprint(version)[:20]}"
    return cached_pdf(key, lambda: render_pdf("pdf/emergency_card.html", {
        "plan": version.plan, "version": version, "sections": sections},
        page_size="A5", margin_top="8mm", margin_bottom="8mm", margin_left="8mm", margin_right="8mm"))
