"""Templates receive data; they run no queries (issue 11). The heavy pages are rendered for an
officer over several enterprises, each with a filed plan, drills with an evaluation, a corrective
action that started a plan revision, a spot check and a drill cycle with its occurrences, and no
SQL statement may be issued between ``before_render_template`` and ``template_rendered``: every
row a page shows was loaded by its view (eager loads or precomputed dicts)."""
from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa
from flask import before_render_template, template_rendered

from emergency.core.extensions import db
from emergency.core.timeutil import SHANGHAI, local_today
from plans.drills import actions as action_ops
from plans.drills import cycles, records
from plans.drills.models import Drill
from plans.filing import operations as filing_ops
from plans.filing.models import Filing
from plans.plan import operations as plan_ops
from plans.plan.models import Plan

from .conftest import PASSWORD, drill_of

PDF_BYTES = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
ROWS = 3


def filed_plan(officer, enterprise, n: int) -> Plan:
    """A plan of ``enterprise``, drilled and published, so it has a filing in the queue."""
    plan = plan_ops.create_plan(officer, enterprise, {"kind": "comprehensive", "title": f"第{n}号综合应急预案"})
    version = plan.versions[0]
    plan_ops.save_section(officer, version, {"title": version.sections[0].title, "body": "<p>适用于本单位。</p>"},
                          version.sections[0])
    plan_ops.add_attachment(officer, version, "risk_assessment", "风险评估结果.pdf", PDF_BYTES)
    plan_ops.add_attachment(officer, version, "resource_survey", "应急资源调查清单.pdf", PDF_BYTES)
    plan_ops.record_review(officer, version, {"held_on": local_today(), "conclusion": "pass", "opinion": "",
                                              "experts": [{"name": "王专家", "organisation": "省安科院",
                                                           "speciality": "化工安全", "no_conflict": True}]})
    drill_of(version, officer)
    plan_ops.publish(officer, version, {"principal_name": "张三", "signed_on": local_today()})
    db.session.commit()
    return plan


def drill_with_follow_up(officer, enterprise, plan: Plan) -> Drill:
    """A reported drill with an evaluation's problem that started a revision, and a spot check."""
    drill = records.record_drill(officer, enterprise, {
        "title": "消防疏散演练", "started_at": datetime.now(SHANGHAI).replace(microsecond=0) - timedelta(days=3),
        "duration_minutes": 30, "form": "field", "content": "single", "purpose": "inspection",
        "version_ids": [plan.current.id]})
    drill.reported_at = datetime.now(SHANGHAI)
    db.session.flush()
    action = action_ops.create_action(officer, drill, {
        "problem": "应急照明失效", "owner_name": "周九", "due_on": local_today() - timedelta(days=1)})
    action_ops.start_revision(officer, action, plan.id)
    action_ops.spot_check(officer, drill, {"checked_on": local_today(), "result": "short", "findings": "记录不全",
                                           "correction_required": "补齐签到表",
                                           "correction_due": local_today() + timedelta(days=5)})
    db.session.commit()
    return drill


@pytest.fixture
def crowded(people, make_enterprise):
    officer = people["officer"]
    enterprises = [people["own"], people["other"]] + [make_enterprise(industry="hotel") for _ in range(ROWS - 2)]
    plans, drills = [], []
    for n, enterprise in enumerate(enterprises, 1):
        plan = filed_plan(officer, enterprise, n)
        plans.append(plan)
        drills.append(drill_with_follow_up(officer, enterprise, plan))
        cycles.create_cycle(officer, enterprise, {"name": f"第{n}班组每周小练", "preset": "weekly_small",
                                                  "starts_on": local_today() - timedelta(days=30)})
        db.session.commit()
    filings = db.session.scalars(sa.select(Filing).order_by(Filing.id)).all()
    assert len(filings) == ROWS
    filing_ops.submit(officer, filings[1], {})  # one waiting for the bureau's decision, on the dashboard too
    # A new plan's draft, drilled: its page shows the publication gate (a question drills answer).
    draft = plan_ops.create_plan(officer, people["own"], {"kind": "special", "title": "危险化学品泄漏专项应急预案"})
    db.session.commit()
    drill_of(draft.versions[0], officer)
    return {"plans": plans, "drills": drills, "filings": filings, "enterprises": enterprises, "draft": draft}


@contextmanager
def statements_while_rendering(app):
    """The SQL statements issued while a template renders (context processors run before)."""
    state = {"rendering": 0, "seen": []}

    def started(sender, template, context, **extra):
        state["rendering"] += 1

    def finished(sender, template, context, **extra):
        state["rendering"] -= 1

    def executed(conn, cursor, statement, parameters, context, executemany):
        if state["rendering"]:
            statement = " ".join(statement.split())
            state["seen"].append(statement[statement.find(" FROM ") + 1:][:120])

    before_render_template.connect(started, app)
    template_rendered.connect(finished, app)
    sa.event.listen(db.engine, "before_cursor_execute", executed)
    try:
        yield state["seen"]
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", executed)
        template_rendered.disconnect(finished, app)
        before_render_template.disconnect(started, app)


def pages(data) -> list[str]:
    plan, drill, filing = data["plans"][0], data["drills"][0], data["filings"][0]
    enterprise = data["enterprises"][0]
    month = local_today().strftime("%Y-%m")
    return [
        "/", "/plans", f"/enterprises/{enterprise.id}/plans", f"/plans/{plan.id}",
        f"/plans/{plan.id}/versions/1", f"/plans/{plan.id}/versions/2", f"/plans/{data['draft'].id}/versions/1", "/filings", f"/filings/{filing.id}",
        "/dashboard/plans", "/drills", "/drills/reported", f"/drills/{drill.id}", "/corrective-actions",
        f"/drills/calendar?month={month}", "/drills/calendar/week", "/drill-cycles", "/occurrences",
        "/dashboard/drills", "/dashboard/drills/overdue", "/enterprises", f"/enterprises/{enterprise.id}",
    ]


@pytest.mark.parametrize("username", ["duty", "ent-a"])
def test_the_heavy_pages_run_no_query_while_their_template_renders(app, people, crowded, username):
    browser = app.test_client()
    assert browser.post("/login", data={"username": username, "password": PASSWORD}).status_code == 302
    found = {}
    for path in pages(crowded):
        db.session.remove()  # a fresh session, as every request has: nothing left loaded by the setup
        with statements_while_rendering(app) as seen:
            response = browser.get(path)
        assert response.status_code in (200, 302, 403), (path, response.status_code)
        if seen:
            found[path] = seen
    assert found == {}, "\n".join(f"{path}: {seen}" for path, seen in found.items())
