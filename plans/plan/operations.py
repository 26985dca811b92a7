"""What can be done to plans: write drafts, review, publish, revise, evaluate, attach files.

Operations validate domain rules, write, and add audit entries; the caller commits. A
published version is never changed: every change starts a new version.
"""
from __future__ import annotations

import hashlib
import json
from datetime import date
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from marshmallow import ValidationError
from sqlalchemy import event
from sqlalchemy.orm import Session

from emergency.core import files
from emergency.audit import operations as audit
from emergency.core import signals
from emergency.core.extensions import db
from emergency.core.queue import enqueue_after_commit
from emergency.organisations.models import Enterprise
from emergency.organisations.obligations import has_obligation
from emergency.core.timeutil import local_today, utcnow

from plans.documents import richtext
from plans.plan import skeleton
from plans.plan.models import (
    KEY_PARTS, Attachment, Evaluation, Plan, PlanKind, PlanSection, PlanVersion, Review, ReviewConclusion,
    VersionStatus,
)
from emergency.messaging import campaigns as campaign_ops
from emergency.messaging.models import Contact

EVALUATION_YEARS = 3


class ImmutableVersion(RuntimeError):
    """A published or superseded version (or one of its sections) was about to change."""


# --- plans and drafts ------------------------------------------------------------------------

def create_plan(actor, enterprise: Enterprise, data: dict[str, Any]) -> Plan:
    """A new plan with a first draft laid out on the standard's skeleton for its kind."""
    kind = PlanKind(data["kind"])
    parent = None
    if data.get("parent_id") is not None:
        parent = db.session.get(Plan, data["parent_id"])
        if parent is None or parent.enterprise_id != enterprise.id:
            raise ValidationError({"parent_id": [_("Choose a plan of the same enterprise.")]})
        if kind == PlanKind.comprehensive:
            raise ValidationError({"parent_id": [_("The comprehensive plan is the top of the plan system.")]})
    if kind == PlanKind.comprehensive and db.session.scalar(sa.select(Plan.id).where(
            Plan.enterprise_id == enterprise.id, Plan.kind == PlanKind.comprehensive, Plan.active.is_(True))):
        raise ValidationError({"kind": [_("The enterprise already has a comprehensive plan: revise it instead.")]})
    if parent is None and kind != PlanKind.comprehensive:
        parent = db.session.scalar(sa.select(Plan).where(
            Plan.enterprise_id == enterprise.id, Plan.kind == PlanKind.comprehensive, Plan.active.is_(True)))
    plan = Plan(enterprise_id=enterprise.id, kind=kind, title=data["title"], subject=data.get("subject") or "",
                parent=parent)
    db.session.add(plan)
    version = PlanVersion(plan=plan, number=1, created_by_id=getattr(actor, "id", None),
                          response_levels=[], accident_types=list(data.get("accident_types") or []))
    db.session.add(version)
    for position, section in enumerate(skeleton.sections_for(kind), start=1):
        version.sections.append(PlanSection(position=position, **section))
    db.session.flush()
    audit.record(actor, "create", "plan", plan.id, enterprise_id=enterprise.id, summary=plan.title,
                 changes={"kind": kind.value, "subject": plan.subject, "parent_id": plan.parent_id})
    return plan


def require_draft(version: PlanVersion) -> None:
    if not version.editable:
        raise ValidationError({"version": [_("A published version cannot be changed: start a revision.")]})


def update_draft(actor, version: PlanVersion, data: dict[str, Any]) -> dict:
    """Change a draft's structured fields (and the plan's title while it has never been published)."""
    require_draft(version)
    plan = version.plan
    changes: dict[str, Any] = {}
    for field in ("response_levels", "accident_types", "revision_note"):
        if field in data and data[field] != getattr(version, field):
            changes[field] = [getattr(version, field), data[field]]
            setattr(version, field, data[field])
    for field in ("title", "subject"):
        if field in data and data[field] != getattr(plan, field):
            changes[field] = [getattr(plan, field), data[field]]
            setattr(plan, field, data[field])
    if changes:
        audit.record(actor, "update", "plan_version", version.id, enterprise_id=plan.enterprise_id,
                     summary=f"{plan.title} v{version.number}", changes=changes)
    db.session.flush()
    return changes


def save_section(actor, version: PlanVersion, data: dict[str, Any], section: PlanSection | None = None) -> PlanSection:
    """Add or change a section of a draft; its text is reduced to the safe subset."""
    require_draft(version)
    body = richtext.sanitize(data.get("body") or "")
    if section is None:
        position = data.get("position") or (max((s.position for s in version.sections), default=0) + 1)
        for later in version.sections:
            if later.position >= position:
                later.position += 1
        section = PlanSection(version=version, position=position, level=data.get("level") or 1,
                              title=data["title"], body=body,
                              key_part=data.get("key_part") or skeleton.guess_key_part(data["title"]))
        db.session.add(section)
        action, changes = "add_section", {"title": section.title}
    else:
        changes = {}
        for field, value in (("title", data.get("title", section.title)), ("level", data.get("level", section.level)),
                             ("body", body if "body" in data else section.body)):
            if value != getattr(section, field):
                changes[field] = "…" if field == "body" else [getattr(section, field), value]
                setattr(section, field, value)
        if "key_part" in data and data["key_part"] != section.key_part:
            changes["key_part"] = [section.key_part, data["key_part"]]
            section.key_part = data["key_part"]
        action = "update_section"
    db.session.flush()
    if changes:
        audit.record(actor, action, "plan_version", version.id, enterprise_id=version.plan.enterprise_id,
                     summary=f"{version.plan.title} v{version.number}: {section.title}", changes=changes)
    return section


def delete_section(actor, version: PlanVersion, section: PlanSection) -> None:
    require_draft(version)
    version.sections.remove(section)
    for position, remaining in enumerate(version.sections, start=1):
        remaining.position = position
    audit.record(actor, "delete_section", "plan_version", version.id, enterprise_id=version.plan.enterprise_id,
                 summary=f"{version.plan.title} v{version.number}: {section.title}", changes={"title": section.title})
    db.session.flush()


def move_section(actor, version: PlanVersion, section: PlanSection, step: int) -> None:
    require_draft(version)
    ordered = list(version.sections)
    index = ordered.index(section)
    target = min(max(index + step, 0), len(ordered) - 1)
    if target == index:
        return
    ordered.insert(target, ordered.pop(index))
    for position, item in enumerate(ordered, start=1):
        item.position = position
    db.session.flush()


def replace_sections(actor, version: PlanVersion, sections: list[dict[str, Any]], source: str) -> None:
    """Replace a draft's sections (after the user reviewed a Word import)."""
    require_draft(version)
    version.sections.clear()
    db.session.flush()
    for position, data in enumerate(sections, start=1):
        version.sections.append(PlanSection(
            position=position, level=min(max(int(data.get("level") or 1), 1), 3), title=data["title"][:200],
            body=richtext.sanitize(data.get("body") or ""),
            key_part=data.get("key_part") or skeleton.guess_key_part(data["title"])))
    db.session.flush()
    audit.record(actor, "import_sections", "plan_version", version.id, enterprise_id=version.plan.enterprise_id,
                 summary=f"{version.plan.title} v{version.number}",
                 changes={"source": source, "sections": [s["title"] for s in sections]})


# --- review, attachments ------------------------------------------------------------------------

def record_review(actor, version: PlanVersion, data: dict[str, Any], minutes: Attachment | None = None) -> Review:
    require_draft(version)
    if not data.get("experts"):
        raise ValidationError({"experts": [_("Name at least one expert.")]})
    conflicted = [e["name"] for e in data["experts"] if not e.get("no_conflict")]
    if conflicted:
        raise ValidationError({"experts": [_("Every expert must declare no conflict of interest (%(names)s).",
                                             names="、".join(conflicted))]})
    review = Review(version=version, held_on=data["held_on"], conclusion=ReviewConclusion(data["conclusion"]),
                    opinion=data.get("opinion") or "", experts=data["experts"], minutes=minutes,
                    recorded_by_id=getattr(actor, "id", None))
    db.session.add(review)
    db.session.flush()
    audit.record(actor, "review", "plan_version", version.id, enterprise_id=version.plan.enterprise_id,
                 summary=f"{version.plan.title} v{version.number}",
                 changes={"held_on": review.held_on.isoformat(), "conclusion": review.conclusion.value,
                          "experts": [e["name"] for e in review.experts]})
    return review


def add_attachment(actor, version: PlanVersion, kind: str, filename: str, data: bytes) -> Attachment:
    """Store a file (type checked by its content) and attach it to a version.

    Attachments may be added to a published version (filing materials arrive later); they
    are never removed from one.
    """
    blob = files.store(data, filename)
    filename = files.safe_name(filename)  # no folders (../) in the database or in downloads
    attachment = Attachment(enterprise_id=version.plan.enterprise_id, version=version, kind=kind,
                            filename=filename, sha256=blob.sha256, size=blob.size, file_type=blob.kind,
                            uploaded_by_id=getattr(actor, "id", None))
    db.session.add(attachment)
    db.session.flush()
    audit.record(actor, "attach", "plan_version", version.id, enterprise_id=attachment.enterprise_id,
                 summary=f"{version.plan.title} v{version.number}: {filename}",
                 changes={"kind": kind, "filename": filename, "sha256": blob.sha256, "size": blob.size})
    return attachment


def remove_attachment(actor, attachment: Attachment) -> None:
    version = attachment.version
    require_draft(version)
    if db.session.scalar(sa.select(Review.id).where(Review.minutes_id == attachment.id)):
        raise ValidationError({"attachment": [_("These are the minutes of a recorded review.")]})
    audit.record(actor, "detach", "plan_version", version.id, enterprise_id=attachment.enterprise_id,
                 summary=f"{version.plan.title} v{version.number}: {attachment.filename}",
                 changes={"kind": attachment.kind, "sha256": attachment.sha256})
    db.session.delete(attachment)
    db.session.flush()


# --- publication and revision -------------------------------------------------------------------

def publication_blockers(version: PlanVersion) -> list[str]:
    """Why the version cannot be published yet (empty when it can)."""
    blockers = []
    if not version.editable:
        blockers.append(_("Only a draft can be published."))
    enterprise = version.plan.enterprise
    if has_obligation(enterprise, "expert_review") and version.passing_review is None:
        blockers.append(_("Article 21: this enterprise's plans are reviewed by experts before publication; "
                          "record a passing review first."))
    if not any((s.body or "").strip() for s in version.sections):
        blockers.append(_("The plan has no text yet."))
    for found in signals.answers(signals.publication_blockers, version):  # e.g. the drill gate
        blockers += found
    return blockers


def key_changes(previous: PlanVersion | None, version: PlanVersion) -> list[str]:
    """The key parts (KEY_PARTS) that differ between two versions."""
    if previous is None:
        return []

    def by_part(v: PlanVersion) -> dict[str, list[tuple[str, str]]]:
        parts: dict[str, list[tuple[str, str]]] = {}
        for s in v.sections:
            if s.key_part:
                parts.setdefault(s.key_part, []).append((s.title, richtext.to_plain_text(s.body or "")))
        return parts

    old, new = by_part(previous), by_part(version)
    changed = [key for key in KEY_PARTS if key != "levels" and old.get(key) != new.get(key)]
    if previous.response_levels != version.response_levels or old.get("levels") != new.get("levels"):
        changed.append("levels")
    return [key for key in KEY_PARTS if key in changed]


def fingerprint(version: PlanVersion) -> str:
    content = {
        "title": version.plan.title, "kind": version.plan.kind.value, "number": version.number,
        "levels": version.response_levels, "types": version.accident_types,
        "principal": version.principal_name, "signed_on": version.signed_on.isoformat() if version.signed_on else None,
        "sections": [[s.level, s.title, s.body] for s in version.sections],
    }
    return hashlib.sha256(json.dumps(content, ensure_ascii=False, sort_keys=True).encode()).hexdigest()


def publish(actor, version: PlanVersion, data: dict[str, Any]) -> PlanVersion:
    """Sign and publish a draft: it becomes the version in force, immutable from now on."""
    blockers = publication_blockers(version)
    if blockers:
        raise ValidationError({"version": blockers})
    if data["signed_on"] > local_today():
        raise ValidationError({"signed_on": [_("The signing date cannot be in the future.")]})
    plan = version.plan
    previous = plan.current
    version.key_changes = key_changes(previous, version)
    with db.session.no_autoflush:  # the guard must see the publication as one change
        if previous is not None:
            previous.status = VersionStatus.superseded
        version.principal_name = data["principal_name"]
        version.signed_on = data["signed_on"]
        version.content_hash = fingerprint(version)
        version.status = VersionStatus.published
        version.published_at = utcnow()
        version.published_by_id = getattr(actor, "id", None)
    db.session.flush()
    audit.record(actor, "publish", "plan_version", version.id, enterprise_id=plan.enterprise_id,
                 summary=f"{plan.title} v{version.number}",
                 changes={"principal_name": version.principal_name, "signed_on": version.signed_on.isoformat(),
                          "key_changes": version.key_changes, "content_hash": version.content_hash})
    # Filing opens (or settles an earlier open filing); drills start an on-site plan's half-year.
    signals.plan_published.send(actor, version=version, previous=previous)
    if data.get("announce"):
        announce(actor, version)
    version_id = version.id
    if current_app.config["PDF_PRERENDER"]:
        enqueue_after_commit("plan.render_plan_pdf", version_id)
    return version


def announce(actor, version: PlanVersion):
    """Tell the enterprise's staff contacts by a normal-priority SMS (quiet hours apply)."""

    plan = version.plan
    contact_ids = db.session.scalars(sa.select(Contact.id).where(
        Contact.enterprise_id == plan.enterprise_id, Contact.active.is_(True))).all()
    if not contact_ids:
        raise ValidationError({"announce": [_("The enterprise has no contacts to tell.")]})
    body = _("【%(enterprise)s】%(title)s（第%(n)s版）已于%(date)s签署发布，请全体从业人员认真学习，熟悉本岗位应急职责和处置措施。",
             enterprise=plan.enterprise.name, title=plan.title, n=version.number, date=version.signed_on.isoformat())
    return campaign_ops.create_campaign(actor, {
        "kind": "notice", "title": _("Plan published: %(title)s", title=plan.title), "body": body,
        "priority": "normal", "ack_requested": False, "contact_ids": list(contact_ids)},
        enterprise_id=plan.enterprise_id, source_key=f"plan-version-{version.id}-published")


def start_revision(actor, plan: Plan, data: dict[str, Any]) -> PlanVersion:
    """A new draft copied from the version in force, recording the statutory trigger."""
    if plan.draft is not None:
        raise ValidationError({"plan": [_("A draft already exists: continue it.")]})
    base = plan.current
    if base is None:
        raise ValidationError({"plan": [_("The plan has never been published: continue its draft.")]})
    version = PlanVersion(plan=plan, number=plan.latest.number + 1, revision_trigger=data["revision_trigger"],
                          revision_note=data.get("revision_note") or "", response_levels=list(base.response_levels),
                          accident_types=list(base.accident_types), created_by_id=getattr(actor, "id", None))
    db.session.add(version)
    for s in base.sections:
        version.sections.append(PlanSection(position=s.position, level=s.level, title=s.title, body=s.body,
                                            key_part=s.key_part))
    db.session.flush()
    audit.record(actor, "revise", "plan", plan.id, enterprise_id=plan.enterprise_id,
                 summary=f"{plan.title} v{version.number}",
                 changes={"trigger": version.revision_trigger, "note": version.revision_note, "from": base.number})
    return version


# --- evaluation ---------------------------------------------------------------------------------

def record_evaluation(actor, plan: Plan, data: dict[str, Any]) -> Evaluation:
    if plan.current is None:
        raise ValidationError({"plan": [_("Only a published plan is evaluated.")]})
    if data["evaluated_on"] > local_today():
        raise ValidationError({"evaluated_on": [_("The date cannot be in the future.")]})
    evaluation = Evaluation(plan=plan, evaluated_on=data["evaluated_on"], conclusion=data["conclusion"],
                            note=data.get("note") or "", recorded_by_id=getattr(actor, "id", None))
    db.session.add(evaluation)
    db.session.flush()
    audit.record(actor, "evaluate", "plan", plan.id, enterprise_id=plan.enterprise_id, summary=plan.title,
                 changes={"evaluated_on": evaluation.evaluated_on.isoformat(), "conclusion": evaluation.conclusion})
    return evaluation


def evaluation_due(plan: Plan) -> date | None:
    """When the next three-yearly evaluation is due (None when the enterprise need not evaluate)."""
    if not has_obligation(plan.enterprise, "evaluate_three_yearly"):
        return None
    last = db.session.scalar(sa.select(sa.func.max(Evaluation.evaluated_on)).where(Evaluation.plan_id == plan.id))
    if last is None:
        first = next((v for v in plan.versions if v.signed_on), None)
        if first is None:
            return None
        last = first.signed_on
    try:
        return last.replace(year=last.year + EVALUATION_YEARS)
    except ValueError:  # 29 February
        return last.replace(year=last.year + EVALUATION_YEARS, day=28)


# --- immutability guard -------------------------------------------------------------------------

_MAY_CHANGE_AFTER_PUBLICATION = {"status", "updated_at"}


@event.listens_for(Session, "before_flush")
def _refuse_changes_to_published(session: Session, _context, _instances) -> None:
    for obj in session.dirty:
        if isinstance(obj, PlanVersion):
            state = sa.inspect(obj)
            old_status = state.attrs.status.history.deleted
            was = old_status[0] if old_status else obj.status
            if was == VersionStatus.draft:
                continue
            changed = {a.key for a in state.attrs if a.history.has_changes()} - _MAY_CHANGE_AFTER_PUBLICATION
            changed -= {"sections", "reviews", "attachments", "plan"}
            if changed or (was == VersionStatus.superseded and obj.status != VersionStatus.superseded):
                raise ImmutableVersion(f"plan version {obj.id} is {was.value}: {sorted(changed)} may not change")
        elif isinstance(obj, PlanSection) and obj.version is not None and not obj.version.editable:
            if sa.inspect(obj).modified and session.is_modified(obj):
                raise ImmutableVersion(f"section {obj.id} belongs to a published version")
    for obj in session.deleted:
        if isinstance(obj, PlanSection | PlanVersion | Review) and not _draft_of(obj):
            raise ImmutableVersion(f"{obj!r} belongs to a published version")


def _draft_of(obj) -> bool:
    version = obj if isinstance(obj, PlanVersion) else obj.version
    return version is not None and version.status == VersionStatus.draft
