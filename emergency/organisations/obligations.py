"""Statutory obligations that follow from an enterprise's industry and scale.

Computed, never typed in: change the industry or scale and the obligations follow.
Citations are to 生产安全事故应急预案管理办法 (2019 revision).
"""
from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from emergency.organisations.models import Enterprise


@dataclass(frozen=True)
class Obligation:
    #: Stable key, used by later modules (filing, drills) to ask "does this apply?".
    code: str
    title: object
    #: Why it applies: the rule and the fact about the enterprise that triggers it.
    reason: object


def obligations_for(enterprise: Enterprise) -> list[Obligation]:
    info = enterprise.industry_info
    high_risk = info.high_risk
    crowded = info.crowded_place
    result: list[Obligation] = []

    if high_risk or crowded:
        result.append(Obligation(
            "file_plans",
            _l("File emergency plans with the bureau within 20 working days of publication"),
            _l("Article 26: high-risk industries and crowded places must file their plans."),
        ))
    if high_risk or enterprise.scale in ("large", "medium"):
        result.append(Obligation(
            "expert_review",
            _l("Have plans reviewed by experts before publication"),
            _l("Article 21: high-risk enterprises and enterprises of medium scale or larger."),
        ))
    result.append(Obligation(
        "drill_yearly",
        _l("Drill the comprehensive plan or a special plan at least once a year"),
        _l("Article 33: every enterprise."),
    ))
    result.append(Obligation(
        "drill_onsite_half_yearly",
        _l("Drill each on-site disposal plan at least every six months"),
        _l("Article 33: every enterprise."),
    ))
    if high_risk or crowded:
        result.append(Obligation(
            "drill_half_yearly_report",
            _l("Drill plans at least every six months and report each drill to the bureau"),
            _l("Article 33: high-risk industries and crowded places."),
        ))
        result.append(Obligation(
            "evaluate_three_yearly",
            _l("Evaluate plans every three years"),
            _l("Article 35: high-risk industries and crowded places."),
        ))
    return result


def has_obligation(enterprise: Enterprise, code: str) -> bool:
    return any(ob.code == code for ob in obligations_for(enterprise))
