"""The Chinese working-day calendar: chinese-calendar's data, the admin's overrides, the calendar
page, the December banner and the API. Real database, real pages; time moved with time-machine.

chinese-calendar 1.11 has 2026's National Day as 1–7 October (8 October is a working
Thursday), the Mid-Autumn Festival as 25–27 September, and Sunday 20 September and Saturday
10 October as worked days; the Spring Festival as 15–23 February with Saturdays 14 and 28
February worked. It has no data for 2027, so 2027 is the year an admin must enter; when a
newer package covers 2027, the same tests run on the next year with 2027's weekdays (2038, …).
"""
from __future__ import annotations

import re
from datetime import UTC, date, datetime
from importlib.metadata import version

import chinese_calendar
import pytest
import sqlalchemy as sa
import time_machine

from emergency.audit.models import AuditEntry
from emergency.core.extensions import db
from emergency.core.timeutil import SHANGHAI
from emergency.workdays import calendar, operations, rules
from emergency.workdays.calendar import Coverage, package_covers
from emergency.workdays.models import CalendarDay, DayKind
from tests.conftest import PASSWORD

D = date.fromisoformat

#: The year the admin enters by hand: 2027 with chinese-calendar 1.11, else its next twin.
Y = next(year for year in (2027, 2038, 2049, 2055) if not package_covers(year))
#: Whether December of the year before is in the package (2026 is): clocks then run into Y.
PREVIOUS_COVERED = package_covers(Y - 1)

#: A plausible notice for 2027 as an admin pastes it.
NOTICE = f"""
# 国务院办公厅关于{Y}年部分节假日安排的通知
{Y}-01-01 {Y}-01-03 元旦 holiday
{Y}-02-05 至 {Y}-02-13 春节 放假
{Y}-02-14 workday 春节调休
{Y}-02-20 上班 春节调休
"""


def browser_for(app, username: str):
    browser = app.test_client()
    response = browser.post("/login", data={"username": username, "password": PASSWORD})
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    return browser


@pytest.fixture
def admin(app, people):
    return browser_for(app, "admin")


def count_queries(fn):
    """Run ``fn`` and return (its result, the number of SQL statements it sent)."""
    statements: list[str] = []

    def listen(_conn, _cursor, statement, *_args):
        statements.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", listen)
    try:
        result = fn()
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", listen)
    return result, len(statements)


def coverage_rows(page: str) -> dict[str, str]:
    """{year: package / overrides / none} from the calendar page's coverage table."""
    return {year: kind for kind, year in re.findall(r'<tr class="coverage-(\w+)"><td><a href="[^"]+">(\d+)</a>', page)}


def overrides(year: int) -> dict[date, tuple[DayKind, str]]:
    rows = db.session.scalars(sa.select(CalendarDay).where(
        CalendarDay.day >= date(year, 1, 1), CalendarDay.day <= date(year, 12, 31))).all()
    return {row.day: (row.kind, row.name) for row in rows}


# --- the package's years -----------------------------------------------------------------

def test_the_package_is_the_version_these_facts_come_from():
    assert chinese_calendar.is_holiday(D("2026-10-07")) and chinese_calendar.is_workday(D("2026-10-08"))
    with pytest.raises(NotImplementedError):
        chinese_calendar.is_workday(D(f"{Y}-01-04"))


def test_national_day_2026(app):
    off = ["2026-09-25", "2026-09-26", "2026-09-27"] + [f"2026-10-0{d}" for d in range(1, 8)]
    worked = ["2026-09-20", "2026-09-28", "2026-09-30", "2026-10-08", "2026-10-09", "2026-10-10", "2026-10-12"]
    assert [d for d in off if calendar.is_working_day(D(d))] == []
    assert [d for d in worked if not calendar.is_working_day(D(d))] == []
    assert not calendar.is_working_day(D("2026-10-11"))  # an ordinary Sunday
    assert calendar.day_info(D("2026-10-01")).name == "国庆节"
    assert calendar.day_info(D("2026-10-10")).kind == DayKind.workday
    assert calendar.day_info(D("2026-09-25")).name == "中秋"


def test_filing_clock_from_a_publication_on_mid_autumn_day(app):
    """Published Friday 25 September 2026 (a holiday): 20 working days to file."""
    # 9-28, 9-29, 9-30, 10-8, 10-9, 10-10 (Sat, worked), 10-12 … 10-16, 10-19 … 10-23, 10-26 … 10-29
    assert calendar.add_working_days(D("2026-09-25"), 20) == D("2026-10-29")
    assert calendar.add_working_days(D("2026-09-25"), 4) == D("2026-10-08")
    assert calendar.add_working_days(D("2026-09-19"), 1) == D("2026-09-20")  # the worked Sunday


def test_bureau_decision_clock_over_national_day(app):
    """Submitted 30 September 2026: the bureau decides within 5 working days."""
    deadline = calendar.add_working_days(D("2026-09-30"), 5)
    assert deadline == D("2026-10-13")  # 10-8, 10-9, 10-10, 10-12, 10-13
    assert calendar.working_days_between(D("2026-09-30"), deadline) == 5
    # Working days left of the five, day by day: none are used up by the holiday.
    left = {d: calendar.working_days_between(D(d), deadline)
            for d in ("2026-09-30", "2026-10-01", "2026-10-07", "2026-10-08", "2026-10-12", "2026-10-13")}
    assert left == {"2026-09-30": 5, "2026-10-01": 5, "2026-10-07": 5, "2026-10-08": 4, "2026-10-12": 1,
                    "2026-10-13": 0}
    assert calendar.working_days_between(D("2026-10-14"), deadline) == -1  # overdue by one
    assert calendar.working_days_between(D("2026-10-03"), D("2026-10-03")) == 0
    assert calendar.add_working_days(D("2026-10-03"), 0) == D("2026-10-03")
    with pytest.raises(ValueError):
        calendar.add_working_days(D("2026-10-03"), -1)


def test_spring_festival_2026(app):
    assert calendar.is_working_day(D("2026-02-14"))  # Saturday, worked
    assert calendar.is_working_day(D("2026-02-28"))  # Saturday, worked
    assert not any(calendar.is_working_day(D(f"2026-02-{d}")) for d in range(15, 24))
    assert calendar.add_working_days(D("2026-02-13"), 1) == D("2026-02-14")
    assert calendar.add_working_days(D("2026-02-14"), 1) == D("2026-02-24")
    assert calendar.add_working_days(D("2026-02-12"), 5) == D("2026-02-26")
    assert calendar.working_days_between(D("2026-02-12"), D("2026-02-26")) == 5
    names = {info.day: info.name for info in calendar.special_days(2026)}
    assert names[D("2026-02-17")] == "春节" and names[D("2026-02-14")] == "春节"


def test_a_twenty_day_clock_reads_each_year_once(app):
    deadline, queries = count_queries(lambda: calendar.add_working_days(D("2026-09-25"), 20))
    assert deadline == D("2026-10-29") and queries == 1
    # Once read, the year costs nothing more in this unit of work.
    _again, queries = count_queries(lambda: calendar.add_working_days(D("2026-02-12"), 20))
    assert queries == 0


def test_an_override_wins_over_the_package_and_is_seen_at_once(app, people):
    assert calendar.is_working_day(D("2026-10-09"))
    operations.add_days(people["admin"], [rules.Entry(D("2026-10-09"), DayKind.holiday, "国庆节")])
    assert not calendar.is_working_day(D("2026-10-09"))  # the flush dropped the cached year
    assert calendar.add_working_days(D("2026-09-30"), 5) == D("2026-10-14")
    db.session.rollback()  # not committed: gone, and the calendar forgets it too
    assert calendar.is_working_day(D("2026-10-09"))
    assert db.session.scalar(sa.select(sa.func.count(CalendarDay.id))) == 0


# --- a year the package does not cover ---------------------------------------------------

def test_a_year_not_known_yet_is_counted_provisionally_on_weekends(app):
    """Nothing stops: a year neither the package nor the admin knows is counted on ordinary
    weekends, and every answer says that it is provisional (and which year makes it so)."""
    assert calendar.coverage(2026) == Coverage.package and calendar.confirmed(2026)
    assert calendar.coverage(Y) == Coverage.none and not calendar.confirmed(Y)
    assert not calendar.is_working_day(D(f"{Y}-01-02"))  # a Saturday
    info = calendar.day_info(D(f"{Y}-01-01"))
    assert info.working and info.provisional  # 元旦 is a Friday: worked until the notice says otherwise
    assert not calendar.day_info(D("2026-10-01")).provisional
    assert calendar.deadline(D("2026-09-25"), 20) == calendar.Deadline(D("2026-10-29"), None)
    if PREVIOUS_COVERED:
        # A filing clock from 10 December 2026 runs into 2027 (15 working days are left in 2026).
        assert calendar.add_working_days(date(Y - 1, 12, 10), 15) == date(Y - 1, 12, 31)
        found = calendar.deadline(date(Y - 1, 12, 10), 20)
        assert found == calendar.Deadline(D(f"{Y}-01-07"), Y) and found.provisional
        assert calendar.working_days_between(date(Y - 1, 12, 10), found.day) == 20
    assert calendar.special_days(Y) == []
    with app.test_request_context(headers={"Accept-Language": "zh-CN"}):
        assert calendar.provisional_note(Y) == f"暂定（{Y} 年节假日安排尚未录入）"
        assert calendar.provisional_note(None) == ""


def test_admin_pastes_the_2027_notice(app, admin, people):
    page = admin.get(f"/admin/calendar?year={Y}")
    assert page.status_code == 200
    assert "暂定：尚未录入" in page.get_data(as_text=True)

    response = admin.post(f"/admin/calendar/notice?year={Y}", data={"lines": NOTICE})
    assert response.status_code == 302, response.get_data(as_text=True)[-3000:]
    assert response.headers["Location"] == f"/admin/calendar?year={Y}"
    stored = overrides(Y)
    assert len(stored) == 3 + 9 + 2
    assert stored[D(f"{Y}-02-05")] == (DayKind.holiday, "春节")
    assert stored[D(f"{Y}-02-20")] == (DayKind.workday, "春节调休")
    assert db.session.get(CalendarDay, 1).created_by_id == people["admin"].id

    # 2027 now follows the entries: weekends off, weekdays worked, apart from the entries;
    # still provisional until the admin says the notice is complete.
    assert calendar.coverage(Y) == Coverage.overrides and not calendar.confirmed(Y)
    shown = {day: calendar.day_info(D(f"{Y}-{day}")) for day in ("01-01", "01-04", "02-08", "02-14", "02-21")}
    assert [info.working for info in shown.values()] == [False, True, False, True, False]
    assert all(info.provisional for info in shown.values())
    # Clocks do not count an incomplete notice yet: Monday to Friday until it is marked complete.
    assert calendar.is_working_day(D(f"{Y}-01-01"))
    if PREVIOUS_COVERED:
        assert calendar.deadline(date(Y - 1, 12, 10), 20) == calendar.Deadline(D(f"{Y}-01-07"), Y)

    audit = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.object_type == "calendar_day")).all()
    assert sum(1 for e in audit if e.action == "create") == 14
    assert [e.changes["count"] for e in audit if e.action == "import"] == [14]
    assert all(e.actor == "admin" for e in audit)

    body = admin.get(f"/admin/calendar?year={Y}").get_data(as_text=True)
    assert "春节调休" in body and f'data-date="{Y}-02-14"' in body
    assert f"{Y}-02-20" in body and coverage_rows(body)[str(Y)] == "overrides"
    # Two of the seven usual holidays are in this (partial) notice.
    assert "已录入常规节假日：2 / 7" in body and 'id="complete-form"' in body

    assert admin.post(f"/admin/calendar/years/{Y}/complete").status_code == 302
    assert calendar.coverage(Y) == Coverage.notice and calendar.confirmed(Y)
    # Now 2027 follows the notice: weekends off, weekdays worked, apart from the entries.
    assert not calendar.is_working_day(D(f"{Y}-01-01"))  # Friday, 元旦
    assert calendar.is_working_day(D(f"{Y}-01-04"))
    assert not calendar.is_working_day(D(f"{Y}-02-08"))  # Monday in the Spring Festival
    assert calendar.is_working_day(D(f"{Y}-02-14"))  # Sunday, worked
    assert not calendar.is_working_day(D(f"{Y}-02-21"))  # an ordinary Sunday
    if PREVIOUS_COVERED:
        # The clock from 10 December 2026: 1–3 January off, then 4–8 January; final.
        assert calendar.deadline(date(Y - 1, 12, 10), 20) == calendar.Deadline(D(f"{Y}-01-08"), None)
    assert calendar.add_working_days(D(f"{Y}-02-04"), 1) == D(f"{Y}-02-14")
    body = admin.get(f"/admin/calendar?year={Y}").get_data(as_text=True)
    assert coverage_rows(body)[str(Y)] == "notice" and 'id="complete-form"' not in body
    completed = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.object_type == "calendar_year")).all()
    assert [(e.action, e.object_id, e.changes["usual_missing"]) for e in completed] == [
        ("complete", Y, ["清明节", "劳动节", "端午节", "中秋节", "国庆节"])]
    assert admin.post(f"/admin/calendar/years/{Y}/complete").status_code == 302  # twice: refused, named
    assert f"{Y} 年已标记为录入完毕" in admin.get(f"/admin/calendar?year={Y}").get_data(as_text=True)


def test_a_wrong_notice_saves_nothing_and_names_every_bad_line(app, admin):
    bad = [
        f"{Y}-01-01 {Y}-01-03 元旦 holiday",  # 1: fine
        f"{Y}-13-01 元旦 holiday",  # 2: no such date
        f"{Y}-02-08 workday 春节调休",  # 3: a Monday is worked anyway
        f"{Y}-05-01 {Y}-05-05 劳动节",  # 4: off or worked?
        f"{Y}-01-03 元旦 holiday",  # 5: also on line 1
        f"{Y}-10-07 {Y}-10-01 国庆节 holiday",  # 6: backwards
        f"{Y}-10-01 {Y}-10-07 holiday",  # 7: no name
        f"国庆节 {Y}-10-01 holiday",  # 8: not a date first
    ]
    lines = "\n".join(bad)
    response = admin.post(f"/admin/calendar/notice?year={Y}", data={"lines": lines})
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    errors = body.split('id="notice-errors"')[1].split("</ul>")[0]
    expected = [
        f"第 2 行：“{Y}-13-01”不是日期",
        f"第 3 行：{Y}-02-08 是星期一，本来就是工作日",
        "第 4 行：请写明这些日子是放假（holiday）还是上班（workday）",
        f"第 5 行：{Y}-01-03 已在第 1 行出现",
        f"第 6 行：结束日期（{Y}-10-01）早于开始日期（{Y}-10-07）",
        "第 7 行：请写明节日名称",
        "第 8 行：每行须以日期开头",
    ]
    for message in expected:
        assert message in errors, (message, errors)
    assert errors.count("<li>") == 7  # line 1 is fine
    assert f"{Y}-01-01 {Y}-01-03 元旦 holiday" in body  # the paste is shown back to correct
    assert overrides(Y) == {}
    assert db.session.scalar(sa.select(sa.func.count(AuditEntry.id)).where(
        AuditEntry.object_type == "calendar_day")) == 0

    # A date that already has an entry is refused too, naming the entry.
    assert admin.post("/admin/calendar/notice", data={"lines": f"{Y}-01-01 元旦 holiday"}).status_code == 302
    again = admin.post("/admin/calendar/notice", data={"lines": f"{Y}-05-01 劳动节 holiday\n{Y}-01-01 元旦 放假"})
    assert again.status_code == 422
    assert f"第 2 行：{Y}-01-01 已有记录（元旦 放假）" in again.get_data(as_text=True)
    assert set(overrides(Y)) == {D(f"{Y}-01-01")}
    empty = admin.post("/admin/calendar/notice", data={"lines": "  \n# only a comment\n"})
    assert empty.status_code == 422 and "请至少输入一行" in empty.get_data(as_text=True)


def test_admin_adds_edits_and_deletes_a_day_with_audit_entries(app, admin):
    added = admin.post("/admin/calendar/days", data={"date": f"{Y}-10-01", "end": f"{Y}-10-03", "kind": "holiday",
                                                     "name": "国庆节"})
    assert added.status_code == 302, added.get_data(as_text=True)[-2000:]
    assert set(overrides(Y)) == {D(f"{Y}-10-01"), D(f"{Y}-10-02"), D(f"{Y}-10-03")}

    refused = admin.post("/admin/calendar/days", data={"date": f"{Y}-10-04", "kind": "workday", "name": ""})
    assert refused.status_code == 422
    assert "星期一" in refused.get_data(as_text=True)
    missing = admin.post("/admin/calendar/days", data={"date": "", "kind": "holiday", "name": "x"})
    assert missing.status_code == 422 and "此项为必填项" in missing.get_data(as_text=True)
    taken = admin.post("/admin/calendar/days", data={"date": f"{Y}-10-03", "kind": "holiday", "name": "国庆节"})
    assert taken.status_code == 422 and "已有记录" in taken.get_data(as_text=True)

    row = db.session.scalar(sa.select(CalendarDay).where(CalendarDay.day == D(f"{Y}-10-02")))
    assert admin.get(f"/admin/calendar/days/{row.id}").status_code == 200
    bad_edit = admin.post(f"/admin/calendar/days/{row.id}", data={"kind": "holiday", "name": ""})
    assert bad_edit.status_code == 422 and "请写明节日名称" in bad_edit.get_data(as_text=True)
    edited = admin.post(f"/admin/calendar/days/{row.id}", data={"kind": "holiday", "name": "国庆节假期"})
    assert edited.status_code == 302
    db.session.expire_all()
    assert db.session.get(CalendarDay, row.id).name == "国庆节假期"
    update = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "update"))
    assert update.changes == {"name": ["国庆节", "国庆节假期"]} and update.object_id == row.id

    deleted = admin.post(f"/admin/calendar/days/{row.id}/delete")
    assert deleted.status_code == 302 and deleted.headers["Location"] == f"/admin/calendar?year={Y}"
    assert set(overrides(Y)) == {D(f"{Y}-10-01"), D(f"{Y}-10-03")}
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "delete"))
    assert entry.object_type == "calendar_day" and entry.changes["name"] == "国庆节假期"
    trail = admin.get("/audit?object_type=calendar_day").get_data(as_text=True)
    assert "日历" in trail and "删除" in trail


def test_the_page_shows_coverage_of_this_year_and_next(app, people):
    with time_machine.travel(datetime(Y - 1, 11, 23, 10, tzinfo=SHANGHAI)):
        viewer = browser_for(app, "viewer")
        body = viewer.get("/admin/calendar?year=2026").get_data(as_text=True)
        refused = viewer.post("/admin/calendar/days", data={"date": f"{Y}-10-01", "kind": "holiday", "name": "国庆节"})
    assert refused.status_code == 403
    coverage = coverage_rows(body)
    assert coverage["2026"] == "package" and coverage[str(Y)] == "none" and str(Y - 1) in coverage
    assert f"chinese-calendar {version('chinesecalendar')}" in body
    # The year's days off and the month grid, read-only for officers.
    assert 'data-date="2026-10-01"' in body and "国庆节" in body
    assert 'id="notice"' not in body and 'id="add-day"' not in body


# --- the December banner -----------------------------------------------------------------

BANNER = 'id="calendar-banner"'


def test_banner_in_december_for_admins_when_next_year_is_missing(app, people):
    with time_machine.travel(datetime(Y - 1, 12, 1, 8, tzinfo=SHANGHAI)):
        admin = browser_for(app, "admin")
        for path in ("/", "/enterprises", "/audit", "/admin/users"):
            body = admin.get(path).get_data(as_text=True)
            assert BANNER in body, path
            assert f"/admin/calendar?year={Y}" in body
        # The scheduler banner (no heartbeat in the test database) is still there beside it.
        assert 'id="system-banner"' in body
        for username in ("duty", "ent-a"):
            page = browser_for(app, username).get("/audit").get_data(as_text=True)
            assert BANNER not in page, username

        # Entering the notice is not enough: the banner goes once it is marked complete.
        assert admin.post("/admin/calendar/notice", data={"lines": NOTICE}).status_code == 302
        assert BANNER in admin.get("/").get_data(as_text=True)
        assert admin.post(f"/admin/calendar/years/{Y}/complete").status_code == 302
        assert BANNER not in admin.get("/").get_data(as_text=True)


def test_no_banner_in_november_and_december_starts_in_shanghai(app, people):
    with time_machine.travel(datetime(Y - 1, 11, 30, 23, 0, tzinfo=SHANGHAI)):
        assert BANNER not in browser_for(app, "admin").get("/").get_data(as_text=True)
    # 16:30 UTC on 30 November is already 1 December in Shanghai.
    with time_machine.travel(datetime(Y - 1, 11, 30, 16, 30, tzinfo=UTC)):
        assert BANNER in browser_for(app, "admin").get("/").get_data(as_text=True)


def test_no_banner_in_december_when_the_package_covers_next_year(app, people):
    with time_machine.travel(datetime(2025, 12, 15, 9, tzinfo=SHANGHAI)):
        assert BANNER not in browser_for(app, "admin").get("/").get_data(as_text=True)


# --- the API ---------------------------------------------------------------------------------

def test_api_year_from_the_package(app, people, token_for, client):
    headers = token_for("ent-a")  # any logged-in token
    response = client.get("/api/v1/calendar/holidays?year=2026", headers=headers)
    assert response.status_code == 200
    year = response.get_json()
    assert (year["year"], year["coverage"], year["package_covers"], year["message"]) == (2026, "package", True, None)
    days = {d["date"]: d for d in year["days"]}
    assert days["2026-10-01"] == {"date": "2026-10-01", "weekday": 4, "kind": "holiday", "working": False,
                                  "name": "国庆节", "source": "package"}
    assert days["2026-10-10"]["kind"] == "workday" and days["2026-10-10"]["working"] is True
    assert days["2026-09-20"]["kind"] == "workday"
    assert "2026-10-08" not in days and "2026-10-11" not in days  # ordinary days are not listed


def test_api_admin_maintains_overrides(app, people, token_for, client):
    admin, officer = token_for("admin"), token_for("duty")
    unknown = client.get(f"/api/v1/calendar/holidays?year={Y}", headers=officer).get_json()
    assert unknown["coverage"] == "none" and unknown["days"] == [] and f"{Y}" in unknown["message"]

    created = client.post("/api/v1/calendar/holidays", headers=admin,
                          json={"date": f"{Y}-10-01", "end": f"{Y}-10-07", "kind": "holiday", "name": "国庆节"})
    assert created.status_code == 201, created.get_json()
    assert [d["date"] for d in created.get_json()] == [f"{Y}-10-0{d}" for d in range(1, 8)]
    assert created.get_json()[0]["created_by"] == "admin"
    worked = client.post("/api/v1/calendar/holidays", headers=admin,
                         json={"date": f"{Y}-09-26", "kind": "workday", "name": "国庆节调休"})
    assert worked.status_code == 201

    year = client.get(f"/api/v1/calendar/holidays?year={Y}", headers=officer).get_json()
    assert (year["coverage"], year["package_covers"], year["override_count"]) == ("overrides", False, 8)
    assert {d["source"] for d in year["days"]} == {"override"}
    assert year["days"][0] == {"date": f"{Y}-09-26", "weekday": 7, "kind": "workday", "working": True,
                               "name": "国庆节调休", "source": "override"}

    assert client.delete(f"/api/v1/calendar/holidays/{Y}-10-07", headers=admin).status_code == 204
    assert client.delete(f"/api/v1/calendar/holidays/{Y}-10-07", headers=admin).status_code == 404
    assert client.delete("/api/v1/calendar/holidays/not-a-date", headers=admin).status_code == 404
    assert len(overrides(Y)) == 7
    actions = db.session.scalars(sa.select(AuditEntry.action).where(AuditEntry.object_type == "calendar_day")).all()
    assert actions.count("create") == 8 and actions.count("delete") == 1

    for method, path in (("post", "/api/v1/calendar/holidays"), ("delete", f"/api/v1/calendar/holidays/{Y}-10-01")):
        refused = getattr(client, method)(path, headers=officer, json={"date": f"{Y}-05-01", "kind": "holiday",
                                                                        "name": "劳动节"})
        assert refused.status_code == 403 and refused.mimetype == "application/problem+json"
    assert client.get("/api/v1/calendar/holidays").status_code == 401


def test_api_validation_errors_are_problem_details(app, people, token_for, client):
    admin = token_for("admin")

    def post(body, **headers):
        response = client.post("/api/v1/calendar/holidays", headers={**admin, **headers}, json=body)
        assert response.status_code == 422, response.get_json()
        assert response.mimetype == "application/problem+json"
        return {e["field"]: e["detail"] for e in response.get_json()["errors"]}

    assert post({}) == {"date": "此项为必填项。", "kind": "此项为必填项。"}
    assert post({"date": f"{Y}-02-30", "kind": "day-off"}) == {
        "date": "须为日期（YYYY-MM-DD）。", "kind": "须为以下之一：holiday, workday。"}
    assert "早于" in post({"date": f"{Y}-10-07", "end": f"{Y}-10-01", "kind": "holiday", "name": "国庆节"})["end"]
    assert "星期一" in post({"date": f"{Y}-10-04", "kind": "workday"})["date"]
    assert post({"date": f"{Y}-10-01", "kind": "holiday"}) == {"name": "请写明节日名称，例如“国庆节”。"}
    assert "2004" in post({"date": "1999-10-01", "kind": "holiday", "name": "国庆节"})["date"]
    english = post({"date": f"{Y}-10-01", "kind": "holiday"}, **{"Accept-Language": "en"})
    assert english == {"name": "Name the holiday, e.g. 国庆节."}

    assert client.post("/api/v1/calendar/holidays", headers=admin,
                       json={"date": f"{Y}-10-01", "kind": "holiday", "name": "国庆节"}).status_code == 201
    taken = post({"date": f"{Y}-09-30", "end": f"{Y}-10-01", "kind": "holiday", "name": "国庆节"})
    assert f"{Y}-10-01 已有记录" in taken["date"]
    assert set(overrides(Y)) == {D(f"{Y}-10-01")}  # all or nothing: 30 September was not stored

    bad_year = client.get("/api/v1/calendar/holidays?year=1999", headers=admin)
    assert bad_year.status_code == 422 and bad_year.mimetype == "application/problem+json"
    assert bad_year.get_json()["errors"][0]["field"] == "year"


def test_api_is_in_the_openapi_document(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    paths = spec["paths"]
    assert set(paths["/api/v1/calendar/holidays"]) >= {"get", "post"}
    assert "delete" in paths["/api/v1/calendar/holidays/{day}"]
    assert "CalendarYear" in spec["components"]["schemas"]


# --- the command line --------------------------------------------------------------------

def test_cli_check(app, runner, people):
    covered = runner.invoke(args=["calendar", "check", "2026"])
    assert covered.exit_code == 0 and f"2026: chinese-calendar {version('chinesecalendar')}" in covered.output
    missing = runner.invoke(args=["calendar", "check", "2026", f"{Y}"])
    assert missing.exit_code == 1 and f"{Y}: PROVISIONAL: 0 day(s) entered" in missing.output
    operations.add_days(None, [rules.Entry(D(f"{Y}-01-01"), DayKind.holiday, "元旦")], source="cli")
    db.session.commit()
    entered = runner.invoke(args=["calendar", "check", f"{Y}"])
    assert entered.exit_code == 1 and f"{Y}: PROVISIONAL: 1 day(s) entered, 1 of 7 usual holidays" in entered.output
    operations.complete_year(None, Y)
    db.session.commit()
    completed = runner.invoke(args=["calendar", "check", f"{Y}"])
    assert completed.exit_code == 0 and f"{Y}: confirmed, notice entered by the admin (1 day(s))" in completed.output
