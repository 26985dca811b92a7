"""The publication gate: a new plan's first version is tested by a drill before it is issued
(article 33 of 生产安全事故应急预案管理办法), unless an officer overrides with a reason."""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from marshmallow import ValidationError

from emergency.audit import operations as audit
from emergency.auth.models import User
from emergency.core.extensions import db
from plans.plan.models import PlanVersion, VersionStatus

from plans.drills.models import Drill, PublicationOverride, drill_plan_version


def needs_drill(version: PlanVersion) -> bool:
    """Only a new plan's first version (never published before) needs a drill first."""
    return version.status == VersionStatus.draft and not any(
        v.status != VersionStatus.draft for v in version.plan.versions)


def drilled(version: PlanVersion) -> bool:
    return db.session.scalar(sa.select(drill_plan_version.c.drill_id).where(
        drill_plan_version.c.version_id == version.id).limit(1)) is not None


def override_of(version: PlanVersion) -> PublicationOverride | None:
    return db.session.scalar(sa.select(PublicationOverride).where(PublicationOverride.version_id == version.id))


def state(version: PlanVersion) -> dict[str, Any]:
    """needs / drilled (by which drills) / waived (by whom, why) / none, all loaded for the page."""
    if not needs_drill(version):
        return {"state": "none"}
    override = override_of(version)
    drills = db.session.scalars(sa.select(Drill).where(Drill.versions.any(PlanVersion.id == version.id))
                                .order_by(Drill.started_at)).all()
    if drills:
        return {"state": "drilled", "drills": drills, "override": override}
    if override is not None:
        return {"state": "waived", "override": override,
                "officer": db.session.get(User, override.officer_id) if override.officer_id else None}
    return {"state": "needs"}


def blockers(version: PlanVersion) -> list[str]:
    if needs_drill(version) and not drilled(version) and override_of(version) is None:
        return [_("Article 33: a new plan is tested by a drill before it is issued; record a drill of this draft "
                  "(or ask the bureau to waive it with a reason).")]
    return []


def override(actor, version: PlanVersion, reason: str) -> PublicationOverride:
    """An officer lets the draft be published without a drill; the reason is kept."""
    if not needs_drill(version):
        raise ValidationError({"version": [_("Only a new plan's first draft needs a drill before publication.")]})
    if override_of(version) is not None:
        raise ValidationError({"version": [_("The drill requirement is already waived for this draft.")]})
    row = PublicationOverride(version_id=version.id, reason=reason, officer_id=getattr(actor, "id", None))
    db.session.add(row)
    db.session.flush()
    audit.record(actor, "waive_drill", "plan_version", version.id, enterprise_id=version.plan.enterprise_id,
                 summary=f"{version.plan.title} v{version.number}", changes={"reason": reason})
    return row
