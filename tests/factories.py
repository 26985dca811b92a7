"""Factory fixtures: each returns a callable that builds one thing through the real operations
(plans.plan.operations, plans.drills.cycles and records, ...), so every object a test starts
from obeys the same rules as one a user made: a plan is published only past its blockers
(text, expert review where the enterprise needs one, the drill gate), a filing is the one the
publication opened. Every callable commits and returns what it built.

    def test_x(people, make_filing):
        filing = make_filing(people["other"], by=people["officer"])

``by`` is the acting user (``None``: the system, as the scheduler acts). Registered by
``pytest_plugins`` in tests/conftest.py.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

import pytest
import sqlalchemy as sa

from emergency.core.extensions import db
from emergency.core.timeutil import SHANGHAI, local_today

PDF_BYTES = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
#: The statutory filing materials (article 26), as add_materials attaches them.
MATERIALS = (("risk_assessment", "风险评估结果.pdf"), ("resource_survey", "应急资源调查清单.pdf"))
EXPERT = {"name": "王专家", "organisation": "省安科院", "speciality": "化工安全", "no_conflict": True}


def drill_of(version, actor=None, **fields):
    """Record a tabletop drill that exercises ``version`` (a new plan's draft must be drilled
    before publication): setup for tests about what comes after."""
    from plans.drills import records

    data = {"title": f"{version.plan.title}桌面推演", "started_at": datetime.now(SHANGHAI).replace(microsecond=0),
            "duration_minutes": 60, "form": "tabletop", "content": "single", "purpose": "inspection",
            "version_ids": [version.id]} | fields
    drill = records.record_drill(actor, version.plan.enterprise, data)
    db.session.commit()
    return drill


def add_materials(actor, version) -> None:
    """Attach the filing materials (a risk assessment and a resource survey) to a draft."""
    from plans.plan import operations as plan_ops

    for kind, filename in MATERIALS:
        plan_ops.add_attachment(actor, version, kind, filename, PDF_BYTES)


@pytest.fixture
def make_plan(app) -> Callable[..., Any]:
    """``make_plan(enterprise, *, by=None, kind="comprehensive", title=None, **fields) -> Plan``:
    a new plan with its draft version 1 laid out from the standard outline."""
    from plans.plan import operations as plan_ops

    def make(enterprise, *, by=None, kind: str = "comprehensive", title: str | None = None, **fields: Any):
        default = f"{enterprise.name}{'综合' if kind == 'comprehensive' else '专项'}应急预案"
        plan = plan_ops.create_plan(by, enterprise, {"kind": kind, "title": title or default} | fields)
        db.session.commit()
        return plan

    return make


@pytest.fixture
def make_published_plan(make_plan) -> Callable[..., Any]:
    """``make_published_plan(enterprise, *, by=None, kind="comprehensive", title=None,
    section_title=None, body=..., with_materials=True, drilled=True, reviewed=None,
    signed_on=None, principal_name="张三", **plan_fields) -> PlanVersion``.

    Writes the first section, attaches the filing materials, records a passing expert review
    when the enterprise needs one (``reviewed=None``) or when asked, drills the draft and
    publishes it signed on ``signed_on`` (today). ``drilled=False`` leaves the drill out (the
    publication is then refused unless the gate does not apply or was waived)."""
    from emergency.organisations.obligations import has_obligation
    from plans.plan import operations as plan_ops

    def make(enterprise, *, by=None, kind: str = "comprehensive", title: str | None = None,
             section_title: str | None = None, body: str = "<p>成立应急指挥部。</p>", with_materials: bool = True,
             drilled: bool = True, reviewed: bool | None = None, signed_on: date | None = None,
             principal_name: str = "张三", **plan_fields: Any):
        if kind != "comprehensive":
            plan_fields.setdefault("subject", title or "火灾")
        plan = make_plan(enterprise, by=by, kind=kind, title=title, **plan_fields)
        version = plan.versions[0]
        first = version.sections[0]
        plan_ops.save_section(by, version, {"title": section_title or first.title, "body": body}, first)
        if with_materials:
            add_materials(by, version)
        signed_on = signed_on or local_today()
        if reviewed or (reviewed is None and has_obligation(enterprise, "expert_review")):
            plan_ops.record_review(by, version, {"held_on": signed_on, "conclusion": "pass", "opinion": "",
                                                 "experts": [EXPERT]})
        db.session.commit()
        if drilled:
            drill_of(version)
        plan_ops.publish(by, version, {"principal_name": principal_name, "signed_on": signed_on})
        db.session.commit()
        return version

    return make


@pytest.fixture
def make_filing(make_published_plan) -> Callable[..., Any]:
    """``make_filing(enterprise, **like_make_published_plan) -> Filing``: the filing the
    publication of a new plan opened (the enterprise must be one that files)."""
    from plans.filing.models import Filing

    def make(enterprise, **fields: Any):
        version = make_published_plan(enterprise, **fields)
        filing = db.session.scalar(sa.select(Filing).where(Filing.version_id == version.id))
        assert filing is not None, f"publishing {version.plan.title} opened no filing"
        return filing

    return make


@pytest.fixture
def make_cycle(app) -> Callable[..., Any]:
    """``make_cycle(enterprise, *, by=None, name="罐区班组每周小练", preset="weekly_small",
    starts_on=None, **fields) -> DrillCycle``: a drill cycle with its occurrences laid out."""
    from plans.drills import cycles

    def make(enterprise, *, by=None, name: str = "罐区班组每周小练", preset: str = "weekly_small",
             starts_on: date | None = None, **fields: Any):
        data = {"name": name, "preset": preset, "starts_on": starts_on or local_today()} | fields
        cycle = cycles.create_cycle(by, enterprise, data)
        db.session.commit()
        return cycle

    return make


@pytest.fixture
def make_drill(app) -> Callable[..., Any]:
    """``make_drill(cycle, day, *, by=None, commit=True, **fields) -> Drill``: a tabletop drill
    of ``cycle``'s enterprise held on ``day`` at 09:00 (Shanghai), fulfilling the cycle."""
    from plans.drills import records

    def make(cycle, day: date | str, *, by=None, commit: bool = True, **fields: Any):
        day = date.fromisoformat(day) if isinstance(day, str) else day
        data = {"title": "班组小练", "started_at": datetime(day.year, day.month, day.day, 9, tzinfo=SHANGHAI),
                "duration_minutes": 30, "form": "tabletop", "content": "single", "purpose": "inspection",
                "cycle_id": cycle.id} | fields
        drill = records.record_drill(by, cycle.enterprise, data)
        if commit:
            db.session.commit()
        return drill

    return make
