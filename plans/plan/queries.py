"""Scoped lists of plans."""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from flask import abort

from emergency.core.access import record_for, scope_to_user
from emergency.auth.models import User
from emergency.organisations.models import Enterprise
from emergency.core.search import matches

from plans.plan.models import Plan, PlanKind, PlanVersion, VersionStatus


def plan_select(user: User, params: dict[str, Any]) -> sa.Select:
    query = scope_to_user(sa.select(Plan).join(Enterprise, Enterprise.id == Plan.enterprise_id), user,
                          Plan.enterprise_id).where(Plan.active.is_(True))
    if params.get("q"):
        query = query.where(matches(params["q"], Plan.title, Enterprise.name))
    if params.get("kind") in {k.value for k in PlanKind}:
        query = query.where(Plan.kind == PlanKind(params["kind"]))
    if params.get("enterprise_id"):
        query = query.where(Plan.enterprise_id == params["enterprise_id"])
    published = sa.select(PlanVersion.id).where(PlanVersion.plan_id == Plan.id,
                                                PlanVersion.status == VersionStatus.published).exists()
    if params.get("state") == "published":
        query = query.where(published)
    elif params.get("state") == "unpublished":
        query = query.where(~published)
    # A list page shows each plan's enterprise, versions and sub-plans: loaded here, not per row.
    return query.order_by(Enterprise.name, Plan.kind, Plan.id).options(
        selectinload(Plan.enterprise), selectinload(Plan.versions), selectinload(Plan.children))


def version_for(user: User, plan_id: int, number: int, *, edit: bool = False) -> PlanVersion:
    """Version ``number`` of a plan ``user`` may see (or change, with ``edit``), else 404/403."""
    plan = record_for(user, Plan, plan_id, edit=edit)
    version = next((v for v in plan.versions if v.number == number), None)
    if version is None:
        abort(404)
    return version
