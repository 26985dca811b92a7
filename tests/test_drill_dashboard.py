"""The officers' drill compliance dashboard: completion rates by township and industry, the overdue
list, the heat map of enterprises by month, filters, periods and the Excel exports.

A small county on 15 June 2026 (a Monday), drills recorded through the real operations:

* 甲制造 (城关镇, manufacturing): monthly drill on the 1st (window 1st–7th), all six done so far;
  a second monthly drill on the 15th from June (due today).
* 乙食品 (城关镇, food processing): monthly on the 1st; January–March done, April missed, May
  excused, June missed.
* 丙制造 (东城街道, manufacturing): monthly on the 1st, nothing done.
* 丁仓储 (南山镇, warehousing): the quarterly verification (first Monday of the quarter, 6 days'
  grace); January done, April missed.
* 戊制造 (东城街道, manufacturing): monthly on the 15th from June (due today).
"""
from __future__ import annotations

import io
import re
from datetime import date, datetime, time

import pytest
import sqlalchemy as sa
import time_machine
from openpyxl import load_workbook

from emergency.core.extensions import db
from emergency.core.timeutil import SHANGHAI
from plans.drills import compliance, cycles, occurrences, records
from plans.drills.models import Occurrence, status_sql

from .conftest import PASSWORD

TODAY = date(2026, 6, 15)
MONTHLY_1ST = {"freq": "monthly", "day": 1}
MONTHLY_15TH = {"freq": "monthly", "day": 15}


def at(day: date, hour: int = 10):
    return time_machine.travel(datetime.combine(day, time(hour)).replace(tzinfo=SHANGHAI), tick=False)


def drill(officer, enterprise, cycle, day: date):
    return records.record_drill(officer, enterprise, {
        "title": f"{cycle.name}{day.isoformat()}", "started_at": datetime.combine(day, time(9)).replace(tzinfo=SHANGHAI),
        "duration_minutes": 60, "form": "tabletop", "content": "single", "purpose": "inspection",
        "cycle_id": cycle.id})


@pytest.fixture
def world(people, make_enterprise, county):
    officer = people["officer"]
    town = {t.name: t for t in county.townships}
    w = {}
    with at(date(2026, 1, 1)):
        w["jia"] = make_enterprise(name="甲制造有限公司", industry="manufacturing", township=town["城关镇"])
        w["yi"] = make_enterprise(name="乙食品有限公司", industry="food_processing", township=town["城关镇"])
        w["bing"] = make_enterprise(name="丙制造有限公司", industry="manufacturing", township=town["东城街道"])
        w["ding"] = make_enterprise(name="丁仓储有限公司", industry="warehousing", township=town["南山镇"])
        w["wu"] = make_enterprise(name="戊制造有限公司", industry="manufacturing", township=town["东城街道"])

        def monthly(enterprise, name, rule=MONTHLY_1ST, starts=date(2026, 1, 1), grace=6):
            # Dates exactly as the rule gives them (these tests count windows, not days off).
            return cycles.create_cycle(officer, enterprise, {"name": name, "preset": "custom", "rule": rule,
                                                             "grace_days": grace, "starts_on": starts,
                                                             "shift_holidays": False})

        w["jia_cycle"] = monthly(w["jia"], "月度综合演练")
        w["jia_mid"] = monthly(w["jia"], "月中消防演练", MONTHLY_15TH, date(2026, 6, 1), 3)
        w["yi_cycle"] = monthly(w["yi"], "月度演练")
        w["bing_cycle"] = monthly(w["bing"], "月度演练")
        w["ding_cycle"] = cycles.create_cycle(officer, w["ding"], {"name": "季度检验", "preset": "quarterly_check",
                                                                   "starts_on": date(2026, 1, 1),
                                                                   "shift_holidays": False})
        w["wu_cycle"] = monthly(w["wu"], "月中演练", MONTHLY_15TH, date(2026, 6, 1), 3)
        db.session.commit()
    with at(TODAY):
        for name in ("jia_cycle", "jia_mid", "yi_cycle", "bing_cycle", "ding_cycle", "wu_cycle"):
            occurrences.refresh_cycle(w[name], TODAY)
        db.session.commit()
        for month in range(1, 7):
            drill(officer, w["jia"], w["jia_cycle"], date(2026, month, 2))
        for month in range(1, 4):
            drill(officer, w["yi"], w["yi_cycle"], date(2026, month, 3))
        drill(officer, w["ding"], w["ding_cycle"], date(2026, 1, 6))
        may = db.session.scalar(sa.select(Occurrence).where(Occurrence.cycle_id == w["yi_cycle"].id,
                                                            Occurrence.due_on == date(2026, 5, 1)))
        occurrences.excuse(officer, may, "停产检修")
        db.session.commit()
        yield w


def login(app, username: str):
    browser = app.test_client()
    assert browser.post("/login", data={"username": username, "password": PASSWORD}).status_code == 302
    return browser


def rows(html: str, kind: str) -> dict[str, tuple[int, int, int]]:
    found = re.findall(rf'data-{kind}="([^"]+)" data-done="(\d+)" data-overdue="(\d+)" data-rate="(\d+)"', html)
    return {label: (int(d), int(o), int(r)) for label, d, o, r in found}


def section(html: str, ident: str) -> str:
    start = html.index(f'id="{ident}"')
    end = html.find('<section', start)
    return html[start:end if end > 0 else None]


def overall(html: str) -> tuple[str, str, str]:
    return (re.search(r'id="overall-done">(\d+)<', html).group(1), re.search(r'id="overall-overdue">(\d+)<', html)
            .group(1), re.search(r'id="overall-rate">([^<]+)<', html).group(1))


def occurrence_ids(w, *pairs) -> list[str]:
    """Occurrence ids by (cycle fixture name, due date)."""
    result = []
    for cycle, due in pairs:
        result.append(str(db.session.scalar(sa.select(Occurrence.id).where(
            Occurrence.cycle_id == w[cycle].id, Occurrence.due_on == due))))
    return result


def test_rates_by_township_and_industry_this_year_to_date(app, people, world):
    html = login(app, "duty").get("/dashboard/drills").get_data(as_text=True)
    assert rows(html, "township") == {"城关镇": (9, 2, 81), "东城街道": (0, 6, 0), "南山镇": (1, 1, 50)}
    assert rows(html, "industry") == {"一般制造业": (6, 6, 50), "食品加工": (3, 2, 60), "仓储物流": (1, 1, 50)}
    assert overall(html) == ("10", "9", "52%")
    assert '<div class="meter-fill amber pct-81">' in section(html, "by-township")
    assert '<div class="meter-fill red pct-0">' in section(html, "by-township")
    assert "完成率" in html and "按乡镇" in html and "按行业" in html and "演练看板" in html
    assert 'id="period">2026<' in html


def test_the_rates_take_one_grouped_query(app, people, world):
    statements: list[str] = []
    listener = lambda *args: statements.append(args[2])
    sa.event.listen(db.engine, "before_cursor_execute", listener)
    try:
        period = compliance.period_of({}, TODAY)
        figures = compliance.rates(period, TODAY, {})
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", listener)
    assert (figures.overall.done, figures.overall.overdue) == (10, 9)
    assert len(statements) == 2 and "GROUP BY" in statements[1]
    assert period.counted_until == date(2026, 6, 14)  # today's open windows are neither done nor missed
    # The overdue list's condition (spelled out for its index) is status_sql's "overdue".
    spelled = db.session.scalars(sa.select(Occurrence.id).where(compliance.overdue_condition(TODAY))).all()
    by_status = db.session.scalars(sa.select(Occurrence.id).where(status_sql(TODAY) == "overdue")).all()
    assert sorted(spelled) == sorted(by_status) and len(spelled) == 9
    # So are the rates' counts: status_sql grouped by enterprise gives the same figures.
    status = status_sql(TODAY)
    grouped = db.session.execute(sa.select(Occurrence.enterprise_id, status, sa.func.count()).where(
        Occurrence.window_end >= period.start, Occurrence.window_end <= period.counted_until)
        .group_by(Occurrence.enterprise_id, status)).all()
    assert sum(n for _e, s, n in grouped if s == "done") == figures.overall.done
    assert sum(n for _e, s, n in grouped if s == "overdue") == figures.overall.overdue
    assert {s for _e, s, _n in grouped} == {"done", "overdue", "excused"}


def test_periods_quarter_month_and_an_empty_year(app, people, world):
    browser = login(app, "viewer")
    q2 = browser.get("/dashboard/drills?year=2026&quarter=2").get_data(as_text=True)
    assert overall(q2) == ("3", "6", "33%")  # 甲 3 done; 乙 April and June, 丙 three months, 丁 April missed
    assert rows(q2, "township") == {"城关镇": (3, 2, 60), "东城街道": (0, 3, 0), "南山镇": (0, 1, 0)}
    assert "2026年第2季度" in q2
    january = browser.get("/dashboard/drills?month=1").get_data(as_text=True)
    assert overall(january) == ("3", "1", "75%")
    assert "2026年1月" in january
    empty = browser.get("/dashboard/drills?year=2025").get_data(as_text=True)
    assert overall(empty) == ("0", "0", "—")
    assert "本期间没有结束的演练窗口" in empty


def test_filters_by_township_and_industry(app, people, world, county):
    town = {t.name: t for t in county.townships}
    browser = login(app, "duty")
    html = browser.get(f"/dashboard/drills?township_id={town['城关镇'].id}").get_data(as_text=True)
    assert overall(html) == ("9", "2", "81%")
    assert rows(html, "township") == {"城关镇": (9, 2, 81)}
    assert rows(html, "industry") == {"一般制造业": (6, 0, 100), "食品加工": (3, 2, 60)}
    assert f'data-enterprise="{world["bing"].id}"' not in section(html, "heatmap")
    html = browser.get("/dashboard/drills?industry=manufacturing").get_data(as_text=True)
    assert overall(html) == ("6", "6", "50%")
    assert rows(html, "township") == {"城关镇": (6, 0, 100), "东城街道": (0, 6, 0)}
    heat = section(html, "heatmap")
    assert {int(i) for i in re.findall(r'data-enterprise="(\d+)"', heat)} == {
        world["jia"].id, world["bing"].id, world["wu"].id}


def test_wrong_filters_are_named_and_left_out(app, people, world):
    browser = login(app, "duty")
    html = browser.get("/dashboard/drills?quarter=5&industry=steel").get_data(as_text=True)
    errors = section(html, "errors")
    assert 'data-field="quarter"' in errors and 'data-field="industry"' in errors
    assert overall(html) == ("10", "9", "52%")  # the rest of the query still applies
    html = browser.get("/dashboard/drills?quarter=2&month=4").get_data(as_text=True)
    assert 'data-field="month"' in html
    response = browser.get("/dashboard/drills/rates.xlsx?year=abc")
    assert response.status_code == 400 and "year" in response.get_data(as_text=True)


def test_the_overdue_list_oldest_first(app, people, world):
    w = world
    expected = occurrence_ids(w, ("bing_cycle", date(2026, 1, 1)), ("bing_cycle", date(2026, 2, 1)),
                              ("bing_cycle", date(2026, 3, 1)), ("yi_cycle", date(2026, 4, 1)),
                              ("bing_cycle", date(2026, 4, 1)), ("ding_cycle", date(2026, 4, 6)),
                              ("bing_cycle", date(2026, 5, 1)), ("yi_cycle", date(2026, 6, 1)),
                              ("bing_cycle", date(2026, 6, 1)))
    browser = login(app, "viewer")
    html = browser.get("/dashboard/drills/overdue").get_data(as_text=True)
    listed = section(html, "overdue")
    assert re.findall(r'data-occurrence="(\d+)"', listed) == expected
    assert 'id="overdue-total">9<' in listed
    first = listed[listed.index(f'data-occurrence="{expected[0]}"'):]
    first = first[:first.index("</tr>")]
    assert 'data-days="159"' in first and "已逾期159天" in first  # 7 January to 15 June
    assert "丙制造有限公司" in first and "东城街道" in first and "月度演练" in first
    assert "2026-01-01 – 2026-01-07" in first
    assert f'href="/enterprises/{w["bing"].id}"' in first
    # The dashboard shows the first ten and links to the list.
    dashboard = browser.get("/dashboard/drills").get_data(as_text=True)
    assert re.findall(r'data-occurrence="(\d+)"', section(dashboard, "overdue")) == expected
    # Paged: 4 per page gives 4, 4, 1 in the same order.
    period = compliance.period_of({}, TODAY)
    pages = [compliance.overdue_page(period, TODAY, {}, n, per_page=4) for n in (1, 2, 3)]
    assert [str(r.id) for p in pages for r in p.rows] == expected and pages[0].pages == 3
    assert [len(p.rows) for p in pages] == [4, 4, 1]
    html = browser.get("/dashboard/drills/overdue?industry=warehousing").get_data(as_text=True)
    assert re.findall(r'data-occurrence="(\d+)"', section(html, "overdue")) == [expected[5]]


def heat_cells(html: str) -> dict[int, list[str]]:
    return {int(e): cells.split(",") for e, cells in
            re.findall(r'data-enterprise="(\d+)" data-cells="([^"]+)"', section(html, "heatmap"))}


def test_heat_map_worst_status_wins(app, people, world):
    w = world
    html = login(app, "duty").get("/dashboard/drills").get_data(as_text=True)
    cells = heat_cells(html)
    D, O, U, N, X = "done", "overdue", "upcoming", "due", "none"
    # Every enterprise that records a drill gets its yearly statutory drill (article 33) for the
    # year, due by 31 December: hence "due" in December for 甲, 乙 and 丁.
    assert cells[w["jia"].id] == [D, D, D, D, D, N, U, U, U, X, X, N]  # June: done + due → due
    assert cells[w["yi"].id] == [D, D, D, O, X, O, U, U, U, X, X, N]  # May excused → nothing
    assert cells[w["bing"].id] == [O, O, O, O, O, O, U, U, U, X, X, X]
    assert cells[w["ding"].id] == [D, X, X, O, X, X, U, X, X, X, X, N]
    assert cells[w["wu"].id] == [X, X, X, X, X, N, U, U, U, X, X, X]
    assert cells[people["own"].id] == [X] * 12
    row = section(html, "heatmap")
    assert f'<a href="/enterprises/{w["jia"].id}">甲制造有限公司</a>' in row
    # Colour and a letter in every cell; the legend explains them.
    assert '<td class="cell overdue" title="1 · 已逾期">逾</td>' in row
    assert '<td class="cell done" title="1 · 已完成">完</td>' in row
    assert "未安排演练" in row
    last_year = heat_cells(login(app, "viewer").get("/dashboard/drills?year=2025").get_data(as_text=True))
    assert set(map(tuple, last_year.values())) == {tuple([X] * 12)}


def test_heat_map_is_paged_by_enterprise(app, people, world):
    everyone = [compliance.heat_map(2026, TODAY, {}, n, per_page=3) for n in (1, 2, 3)]
    assert everyone[0].total == 7 and everyone[0].pages == 3
    ids = [r.enterprise_id for page in everyone for r in page.rows]
    assert len(ids) == 7 and len(set(ids)) == 7
    one_query = compliance.month_cells(2026, TODAY, None, {})
    for page in everyone:
        for row in page.rows:
            assert row.cells == one_query.get(row.enterprise_id, ["none"] * 12)
    html = login(app, "duty").get("/dashboard/drills?hpage=2").get_data(as_text=True)
    assert "没有符合条件的企业" in html  # 7 enterprises fit one page of 50: page 2 is empty


def test_excel_exports_round_trip(app, people, world):
    browser = login(app, "duty")
    response = browser.get("/dashboard/drills/rates.xlsx")
    assert response.status_code == 200 and "spreadsheetml" in response.mimetype
    sheet = load_workbook(io.BytesIO(response.data)).active
    assert [list(r) for r in sheet.iter_rows(values_only=True)] == [
        ["分组", "名称", "已完成", "逾期", "完成率(%)"],
        ["全县", "合计", 10, 9, 52],
        ["乡镇（街道）", "城关镇", 9, 2, 81], ["乡镇（街道）", "东城街道", 0, 6, 0], ["乡镇（街道）", "南山镇", 1, 1, 50],
        ["行业", "一般制造业", 6, 6, 50], ["行业", "食品加工", 3, 2, 60], ["行业", "仓储物流", 1, 1, 50],
    ]

    response = browser.get("/dashboard/drills/overdue.xlsx?quarter=2")
    sheet = load_workbook(io.BytesIO(response.data)).active
    values = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert values[0] == ["企业", "乡镇（街道）", "行业", "演练", "窗口开始", "窗口结束", "逾期天数"]
    assert values[1:] == [
        ["乙食品有限公司", "城关镇", "食品加工", "月度演练", "2026-04-01", "2026-04-07", 69],
        ["丙制造有限公司", "东城街道", "一般制造业", "月度演练", "2026-04-01", "2026-04-07", 69],
        ["丁仓储有限公司", "南山镇", "仓储物流", "季度检验", "2026-04-06", "2026-04-12", 64],
        ["丙制造有限公司", "东城街道", "一般制造业", "月度演练", "2026-05-01", "2026-05-07", 39],
        ["乙食品有限公司", "城关镇", "食品加工", "月度演练", "2026-06-01", "2026-06-07", 8],
        ["丙制造有限公司", "东城街道", "一般制造业", "月度演练", "2026-06-01", "2026-06-07", 8],
    ]

    response = browser.get("/dashboard/drills/heatmap.xlsx?industry=manufacturing")
    sheet = load_workbook(io.BytesIO(response.data)).active
    values = {r[0]: list(r[1:]) for r in sheet.iter_rows(min_row=2, values_only=True)}
    assert [c.value for c in sheet[1]] == ["企业", "乡镇（街道）", "行业", *[f"{m}月" for m in range(1, 13)]]
    assert values["甲制造有限公司"] == ["城关镇", "一般制造业", "完", "完", "完", "完", "完", "到", "待", "待", "待",
                                       None, None, "到"]
    assert values["丙制造有限公司"][2:8] == ["逾"] * 6
    assert set(values) == {"甲制造有限公司", "丙制造有限公司", "戊制造有限公司"}
    row_of = {sheet.cell(row=r, column=1).value: r for r in range(2, sheet.max_row + 1)}
    assert sheet.cell(row=row_of["丙制造有限公司"], column=4).fill.fgColor.rgb.endswith("F4B6B0")
    assert sheet.cell(row=row_of["甲制造有限公司"], column=4).fill.fgColor.rgb.endswith("BFE3C8")


def test_only_officers_see_the_dashboard(app, people, world):
    routes = ("/dashboard/drills", "/dashboard/drills/overdue", "/dashboard/drills/rates.xlsx",
              "/dashboard/drills/overdue.xlsx", "/dashboard/drills/heatmap.xlsx")
    enterprise = login(app, "ent-a")
    anonymous = app.test_client()
    for url in routes:
        assert enterprise.get(url).status_code == 403, url
        assert anonymous.get(url).status_code == 302 and "/login" in anonymous.get(url).headers["Location"]
        for user in ("admin", "duty", "viewer"):
            assert login(app, user).get(url).status_code == 200, (user, url)
    assert 'href="/dashboard/drills"' in login(app, "duty").get("/dashboard/plans").get_data(as_text=True)
    assert 'href="/dashboard/drills"' not in enterprise.get("/filings").get_data(as_text=True)
