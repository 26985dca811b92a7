"""The officer's plans dashboard: filing rates overall, by township and by industry (numbers and
CSS bars), decisions waiting with working days left, overdue filings and evaluations due."""
from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from emergency.core.extensions import db
from emergency.core.timeutil import local_today
from emergency.workdays.calendar import add_working_days
from plans.filing import dashboard as dash
from plans.filing import operations as filing_ops

from .conftest import PASSWORD


def years_ago(today: date, years: int, plus_days: int = 0) -> date:
    return today.replace(year=today.year - years) + timedelta(days=plus_days)


def submitted(officer, filing):
    filing_ops.submit(officer, filing, {})
    db.session.commit()
    return filing


def accepted(officer, filing):
    submitted(officer, filing)
    filing_ops.accept(officer, filing)
    db.session.commit()
    return filing


@pytest.fixture
def world(people, make_enterprise, county, make_filing, make_published_plan):
    """城关镇: 甲化工 (hazardous chemicals, nothing filed), 乙酒店 (hotel, filed), a manufacturer and an
    inactive mall (neither counts). 东城街道: 丁娱乐 (submitted, waiting), 戊宾馆 (overdue).
    南山镇: 己娱乐 (filed, but a special plan overdue), 庚景区 (filed; a special plan waiting),
    辛商场 (deemed filed)."""
    today = local_today()
    officer = people["officer"]
    by_name = {t.name: t for t in county.townships}
    dongcheng, nanshan = by_name["东城街道"], by_name["南山镇"]
    people["own"].township = people["other"].township = by_name["城关镇"]
    db.session.commit()
    w = {"today": today}
    w["other"] = make_filing(people["other"], by=officer)
    accepted(officer, w["other"])
    make_published_plan(make_enterprise(name="丙制造有限公司", industry="manufacturing",
                                        township=people["own"].township),
                        by=officer, signed_on=years_ago(today, 4))  # need not file nor evaluate
    make_enterprise(name="壬商场（已注销）", industry="mall", active=False, township=people["own"].township)

    ding = make_enterprise(name="丁娱乐有限公司", industry="entertainment", township=dongcheng)
    w["ding"] = make_filing(ding, by=officer)
    submitted(officer, w["ding"])
    wu = make_enterprise(name="戊宾馆有限公司", industry="hotel", township=dongcheng)
    w["wu"] = make_filing(wu, by=officer)
    w["wu"].submit_by = today - timedelta(days=30)

    ji = make_enterprise(name="己娱乐有限公司", industry="entertainment", township=nanshan)
    accepted(officer, make_filing(ji, by=officer))
    w["ji_special"] = make_filing(ji, by=officer, kind="special")
    w["ji_special"].submit_by = today - timedelta(days=10)

    geng = make_enterprise(name="庚景区管理有限公司", industry="scenic_spot", township=nanshan)
    filing = make_filing(geng, by=officer, signed_on=years_ago(today, 3, plus_days=30))
    w["geng_plan"] = filing.version
    accepted(officer, filing)
    w["geng_special"] = make_filing(geng, by=officer, kind="special")
    submitted(officer, w["geng_special"])
    w["geng_special"].decide_by = add_working_days(today, 1)
    w["ding"].decide_by = add_working_days(today, 5)

    xin = make_enterprise(name="辛商场有限公司", industry="mall", township=nanshan)
    filing = make_filing(xin, by=officer, signed_on=years_ago(today, 3, plus_days=-5))
    w["xin_plan"] = filing.version
    submitted(officer, filing)
    filing_ops.deem_filed(filing)
    db.session.commit()
    return w


def login(app, username: str):
    browser = app.test_client()
    assert browser.post("/login", data={"username": username, "password": PASSWORD}).status_code == 302
    return browser


def rows(html: str, kind: str) -> dict[str, tuple[int, int, int]]:
    found = re.findall(rf'data-{kind}="([^"]+)" data-must-file="(\d+)" data-filed="(\d+)" data-rate="(\d+)"', html)
    return {label: (int(n), int(f), int(r)) for label, n, f, r in found}


def section(html: str, ident: str) -> str:
    start = html.index(f'id="{ident}"')
    end = html.find('<section', start)
    return html[start:end if end > 0 else None]


def test_filing_rates_by_township_and_industry(app, people, world):
    html = login(app, "duty").get("/dashboard/plans").get_data(as_text=True)
    assert rows(html, "township") == {"城关镇": (2, 1, 50), "东城街道": (2, 0, 0), "南山镇": (3, 2, 66)}
    assert rows(html, "industry") == {"危险化学品生产经营储存运输": (1, 0, 0), "宾馆饭店": (2, 1, 50),
                                      "商场超市": (1, 1, 100), "娱乐场所": (2, 0, 0), "旅游景区": (1, 1, 100)}
    assert '<div class="n" id="overall-must-file">7</div>' in html
    assert '<div class="n" id="overall-filed">3</div>' in html
    assert 'id="overall-rate">42%<' in html
    # The bars: a width in % and the colour of the band.
    assert '<div class="meter-fill red pct-50">' in section(html, "by-township")
    assert '<div class="meter-fill amber pct-66">' in section(html, "by-township")
    assert '<div class="meter-fill green pct-100">' in section(html, "by-industry")
    assert "备案率" in html and "按乡镇" in html and "按行业" in html


def test_waiting_overdue_and_evaluations(app, people, world):
    html = login(app, "viewer").get("/dashboard/plans").get_data(as_text=True)
    waiting = section(html, "waiting")
    assert re.findall(r'data-filing="(\d+)"', waiting) == [str(world["geng_special"].id), str(world["ding"].id)]
    assert "剩余 1 个工作日" in waiting and "剩余 5 个工作日" in waiting  # operations.working_days_left
    assert filing_ops.working_days_left(world["geng_special"], world["today"]) == 1
    overdue = section(html, "overdue")
    assert re.findall(r'data-filing="(\d+)"', overdue) == [str(world["wu"].id), str(world["ji_special"].id)]
    assert "戊宾馆有限公司" in overdue and "丁娱乐有限公司" not in overdue
    evaluations = section(html, "evaluations")
    assert re.findall(r'data-plan="(\d+)"', evaluations) == [str(world["xin_plan"].plan_id),
                                                            str(world["geng_plan"].plan_id)]
    assert "丙制造有限公司" not in evaluations  # need not evaluate
    today = world["today"]
    assert years_ago(today, 3, plus_days=-5).replace(year=today.year).isoformat() in evaluations


def test_the_rates_take_one_grouped_query(app, people, world):
    statements: list[str] = []
    listener = lambda *args: statements.append(args[2])
    sa.event.listen(db.engine, "before_cursor_execute", listener)
    try:
        overall, by_township, _by_industry = dash.filing_rates(world["today"])
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", listener)
    assert (overall.must_file, overall.filed) == (7, 3)
    assert len(statements) == 2 and "GROUP BY" in statements[1]
    assert [r.colour for r in by_township] == ["red", "red", "amber"]


def test_a_submitted_filing_past_its_decision_date_does_not_count(app, people, world):
    world["geng_special"].decide_by = world["today"] - timedelta(days=1)
    db.session.commit()
    _overall, by_township, _ = dash.filing_rates(world["today"])
    assert {r.label: r.filed for r in by_township}["南山镇"] == 1


def test_an_empty_county(app, people, county):
    from emergency.organisations.models import Enterprise

    db.session.execute(sa.update(Enterprise).values(industry="manufacturing"))
    db.session.commit()
    html = login(app, "viewer").get("/dashboard/plans").get_data(as_text=True)
    assert "暂无须备案的企业" in html and 'id="overall-rate">—<' in html


def test_only_officers_see_the_dashboard(app, people, county):
    assert login(app, "ent-a").get("/dashboard/plans").status_code == 403
    for user in ("admin", "duty", "viewer"):
        response = login(app, user).get("/dashboard/plans")
        assert response.status_code == 200
    assert "暂无须备案的企业" not in response.get_data(as_text=True)  # 甲化工 and 乙酒店 must file
    assert 'href="/dashboard/plans"' in login(app, "duty").get("/filings").get_data(as_text=True)


def figures(html: str) -> tuple[int, int, str]:
    must = re.search(r'id="overall-must-file">(\d+)<', html).group(1)
    filed = re.search(r'id="overall-filed">(\d+)<', html).group(1)
    rate = re.search(r'id="overall-rate">([^<]+)<', html).group(1)
    return int(must), int(filed), rate


def listed(html: str, ident: str, attribute: str = "filing") -> list[int]:
    return [int(n) for n in re.findall(rf'data-{attribute}="(\d+)"', section(html, ident))]


def test_a_township_filter_narrows_every_figure_and_list(app, people, world, county):
    nanshan = next(t for t in county.townships if t.name == "南山镇")
    html = login(app, "duty").get(f"/dashboard/plans?township_id={nanshan.id}").get_data(as_text=True)
    assert figures(html) == (3, 2, "66%")
    assert rows(html, "township") == {"南山镇": (3, 2, 66)}
    assert rows(html, "industry") == {"商场超市": (1, 1, 100), "娱乐场所": (1, 0, 0), "旅游景区": (1, 1, 100)}
    assert listed(html, "waiting") == [world["geng_special"].id]
    assert listed(html, "overdue") == [world["ji_special"].id]
    assert listed(html, "evaluations", "plan") == [world["xin_plan"].plan_id, world["geng_plan"].plan_id]
    assert 'id="waiting-total">1<' in html and 'id="overdue-total">1<' in html
    assert f'<option value="{nanshan.id}" selected>南山镇</option>' in html


def test_an_industry_filter_and_both_together(app, people, world, county):
    browser = login(app, "viewer")
    html = browser.get("/dashboard/plans?industry=hotel").get_data(as_text=True)
    assert figures(html) == (2, 1, "50%")
    assert rows(html, "township") == {"城关镇": (1, 1, 100), "东城街道": (1, 0, 0)}
    assert rows(html, "industry") == {"宾馆饭店": (2, 1, 50)}
    assert listed(html, "waiting") == [] and listed(html, "overdue") == [world["wu"].id]
    assert listed(html, "evaluations", "plan") == []

    dongcheng = next(t for t in county.townships if t.name == "东城街道")
    both = browser.get(f"/dashboard/plans?township_id={dongcheng.id}&industry=entertainment").get_data(as_text=True)
    assert figures(both) == (1, 0, "0%")
    assert listed(both, "waiting") == [world["ding"].id] and listed(both, "overdue") == []
    # A township with no enterprise that must file in the industry.
    empty = browser.get(f"/dashboard/plans?township_id={dongcheng.id}&industry=mall").get_data(as_text=True)
    assert figures(empty) == (0, 0, "—") and "暂无须备案的企业" in empty


def test_invalid_filters_are_named(app, people, world):
    browser = login(app, "duty")
    response = browser.get("/dashboard/plans?township_id=99999&industry=manufacturing&waiting_page=0")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "该乡镇/街道不存在。" in html and "请选择须备案的行业。" in html
    assert figures(html) == (7, 3, "42%")  # the whole county instead
    assert browser.get("/dashboard/plans?township_id=abc").status_code == 422
    assert browser.get("/dashboard/plans?township_id=&industry=").status_code == 200


def test_lists_are_paged(app, people, world, monkeypatch):
    monkeypatch.setattr(dash, "LIST_PAGE_SIZE", 1)
    browser = login(app, "duty")
    first = browser.get("/dashboard/plans").get_data(as_text=True)
    assert listed(first, "waiting") == [world["geng_special"].id] and 'id="waiting-total">2<' in first
    assert listed(first, "overdue") == [world["wu"].id]
    assert listed(first, "evaluations", "plan") == [world["xin_plan"].plan_id]
    assert 'href="/dashboard/plans?waiting_page=2#waiting"' in section(first, "waiting")
    second = browser.get("/dashboard/plans?waiting_page=2&overdue_page=2").get_data(as_text=True)
    assert listed(second, "waiting") == [world["ding"].id]
    assert listed(second, "overdue") == [world["ji_special"].id]
    assert listed(second, "evaluations", "plan") == [world["xin_plan"].plan_id]
    assert 'rel="prev"' in section(second, "waiting") and 'rel="next"' not in section(second, "waiting")
    # Past the end: an empty page, the totals unchanged.
    beyond = browser.get("/dashboard/plans?waiting_page=9").get_data(as_text=True)
    assert listed(beyond, "waiting") == [] and 'id="waiting-total">2<' in beyond


def test_dashboard_figures_within_a_scope(app, people, world, county):
    nanshan = next(t for t in county.townships if t.name == "南山镇")
    figures_ = dash.dashboard(world["today"], scope=dash.Scope(nanshan.id, "entertainment"))
    assert (figures_.overall.must_file, figures_.overall.filed) == (1, 0)
    assert [f.id for f in figures_.overdue.items] == [world["ji_special"].id]
    assert figures_.waiting.total == 0 and figures_.evaluations.total == 0
