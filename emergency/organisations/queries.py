"""The enterprise list query, shared by the page, the API and the Excel export."""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from emergency.core.access import scope_to_user
from emergency.auth.models import User
from emergency.core.search import matches
from emergency.organisations import industries
from emergency.organisations.models import Enterprise, Township

_SORTS = {
    "name": Enterprise.name,
    "credit_code": Enterprise.credit_code,
    "township": Township.name,
    "industry": Enterprise.industry,
    "created_at": Enterprise.created_at,
}


def enterprise_select(user: User, params: dict[str, Any]) -> sa.Select:
    """Enterprises ``user`` may see, filtered and sorted by validated ``EnterpriseQuery`` params."""
    query = sa.select(Enterprise).join(Enterprise.township)
    query = scope_to_user(query, user, Enterprise.id)
    q = (params.get("q") or "").strip()
    if q:
        # The user's text is matched literally: % and _ are not wildcards.
        query = query.where(sa.or_(matches(q, Enterprise.name), matches(q.upper(), Enterprise.credit_code)))
    if params.get("township_id"):
        query = query.where(Enterprise.township_id == params["township_id"])
    if params.get("industry"):
        query = query.where(Enterprise.industry == params["industry"])
    if params.get("scale"):
        query = query.where(Enterprise.scale == params["scale"])
    if params.get("high_risk") is True:
        query = query.where(Enterprise.industry.in_(industries.HIGH_RISK_CODES))
    elif params.get("high_risk") is False:
        query = query.where(Enterprise.industry.not_in(industries.HIGH_RISK_CODES))
    if not params.get("include_disabled"):
        query = query.where(Enterprise.active.is_(True))
    sort = params.get("sort") or "name"
    column = _SORTS[sort.lstrip("-")]
    order = column.desc() if sort.startswith("-") else column.asc()
    return query.order_by(order, Enterprise.id)
