"""Selects for cycle and occurrence lists, scoped to what the user may see."""
from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from emergency.core.access import scope_to_user
from emergency.organisations.models import Enterprise
from emergency.core.search import matches

from plans.drills.models import DrillCycle, Occurrence, status_sql

OCCURRENCE_STATUSES = ("upcoming", "due", "done", "overdue", "excused")


def cycle_select(user, params: dict[str, Any]):
    query = sa.select(DrillCycle).join(Enterprise, DrillCycle.enterprise_id == Enterprise.id)
    query = scope_to_user(query, user, DrillCycle.enterprise_id)
    if params.get("enterprise_id"):
        query = query.where(DrillCycle.enterprise_id == params["enterprise_id"])
    if params.get("township_id"):
        query = query.where(Enterprise.township_id == params["township_id"])
    if params.get("active") is not None:
        query = query.where(DrillCycle.active.is_(params["active"]))
    if params.get("q"):
        query = query.where(matches(params["q"], DrillCycle.name, Enterprise.name))
    return query.order_by(Enterprise.name, DrillCycle.name, DrillCycle.id).options(
        selectinload(DrillCycle.enterprise))  # each row names its enterprise


def occurrence_select(user, params: dict[str, Any], today: date):
    """Occurrences with filters: status (one or several), enterprise, township, industry,
    cycle, obligation, and a date range on the planned day."""
    status = status_sql(today)
    query = sa.select(Occurrence).join(Enterprise, Occurrence.enterprise_id == Enterprise.id)
    query = scope_to_user(query, user, Occurrence.enterprise_id)
    statuses = params.get("status") or []
    if isinstance(statuses, str):
        statuses = [statuses]
    if statuses:
        query = query.where(status.in_(statuses))
    for name, column in (("enterprise_id", Occurrence.enterprise_id), ("cycle_id", Occurrence.cycle_id),
                         ("township_id", Enterprise.township_id), ("industry", Enterprise.industry),
                         ("obligation", Occurrence.obligation)):
        if params.get(name):
            query = query.where(column == params[name])
    if params.get("date_from"):
        query = query.where(Occurrence.due_on >= params["date_from"])
    if params.get("date_to"):
        query = query.where(Occurrence.due_on <= params["date_to"])
    if statuses and set(statuses) <= {"overdue", "done", "excused"}:
        return query.order_by(Occurrence.due_on.desc(), Occurrence.id)
    return query.order_by(Occurrence.due_on, Occurrence.id)
