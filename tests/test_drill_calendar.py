"""Drill calendars (month and week pages) and ICS feeds: the feed parsed back with icalendar
matches the month page, UIDs survive edits, revoked tokens are gone, enterprise A never sees B."""
from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
import time_machine
from icalendar import Calendar

from emergency.core.extensions import db
from emergency.core.timeutil import SHANGHAI
from plans.drills import cycles, occurrences, records
from plans.drills.models import CalendarFeed, Occurrence

from .conftest import PASSWORD

D = date.fromisoformat
WEDNESDAY = {"freq": "weekly", "weekdays": [2], "interval": 1}


def at(day: str, hour: int = 10, minute: int = 0):
    moment = datetime.fromisoformat(f"{day}T{hour:02d}:{minute:02d}").replace(tzinfo=SHANGHAI)
    return time_machine.travel(moment, tick=False)


def browser(app, username: str):
    client = app.test_client()
    assert client.post("/login", data={"username": username, "password": PASSWORD}).status_code == 302
    return client


def weekly_cycle(actor, enterprise, name: str, rule=None, start_time: str = "09:00", starts_on: str = "2026-11-30"):
    cycle = cycles.create_cycle(actor, enterprise, {
        "name": name, "preset": "custom", "rule": rule or WEEKLY_RULE(), "start_time": start_time,
        "duration_minutes": 45, "grace_days": 2, "lead_days": 1, "starts_on": D(starts_on)})
    db.session.commit()
    return cycle


def WEEKLY_RULE():
    return dict(WEDNESDAY)


def create_feed(client, **form) -> str:
    page = client.post("/drills/feeds", data=form)
    assert page.status_code == 200, page.get_data(as_text=True)[:500]
    url = re.search(r'id="feed-url" readonly value="([^"]+)"', page.get_data(as_text=True)).group(1)
    return url.split("localhost", 1)[1]


def events(client, path: str) -> dict[str, dict]:
    response = client.get(path)
    assert response.status_code == 200 and response.mimetype == "text/calendar"
    parsed = Calendar.from_ical(response.data)
    found = {}
    for event in parsed.walk("VEVENT"):
        found[str(event["UID"])] = {"summary": str(event["SUMMARY"]), "start": event.decoded("DTSTART"),
                                    "end": event.decoded("DTEND"), "sequence": int(event.get("SEQUENCE", 0))}
    return found


def page_items(html: str, month_prefix: str) -> dict[str, set[str]]:
    """Keys of occurrences (and ids of drills) in the month page's cells of the given month."""
    result: dict[str, set[str]] = {"occurrences": set(), "drills": set()}
    for cell in re.findall(r'<td class="cal-day[^"]*" data-date="(\d{4}-\d{2}-\d{2})">(.*?)</td>', html, re.DOTALL):
        day, body = cell
        if not day.startswith(month_prefix):
            continue
        result["occurrences"] |= set(re.findall(r'data-kind="occurrence" data-id="\d+" data-key="([^"]+)"', body))
        result["drills"] |= set(re.findall(r'data-kind="drill" data-id="(\d+)"', body))
    return result


def event_day(event: dict) -> date:
    start = event["start"]
    if isinstance(start, datetime):
        return start.astimezone(SHANGHAI).date()
    return event["end"] - timedelta(days=1)  # an all-day window: shown on its last day


@pytest.fixture
def setting(people):
    """Enterprise A: a weekly cycle, its statutory obligations and one drill; B: a cycle of its own."""
    own, other = people["own"], people["other"]
    with at("2026-11-30"):
        a_cycle = weekly_cycle(people["officer"], own, "罐区周演练")
        weekly_cycle(people["officer"], other, "乙酒店客房疏散演练", start_time="15:00")
        occurrences.refresh_obligations(own)
        db.session.commit()
    with at("2026-12-02", 11):
        records.record_drill(people["officer"], own, {
            "title": "罐区泄漏桌面推演", "started_at": datetime(2026, 12, 2, 9, 5, tzinfo=SHANGHAI),
            "duration_minutes": 40, "form": "tabletop", "content": "single", "purpose": "inspection",
            "cycle_id": a_cycle.id})
        db.session.commit()
    return a_cycle


def test_the_feed_matches_the_month_page(app, people, setting):
    own = people["own"]
    with at("2026-12-15"):
        client = browser(app, "ent-a")
        path = create_feed(client, label="甲化工演练")
        html = client.get("/drills/calendar?month=2026-12").get_data(as_text=True)
        feed = events(app.test_client(), path)  # no login: the token is the credential
    shown = page_items(html, "2026-12")
    december = {uid.split("@")[0] for uid, e in feed.items()
                if not uid.startswith("drill-") and event_day(e).strftime("%Y-%m") == "2026-12"}
    assert shown["occurrences"] == december
    assert {f"c{setting.id}-2026-12-{d:02d}" for d in (2, 9, 16, 23, 30)} <= december
    assert any(key.startswith(f"o-yearly-e{own.id}-2026") for key in december)
    drill_uids = {uid.split("@")[0] for uid in feed if uid.startswith("drill-")}
    assert drill_uids == {f"drill-{i}" for i in shown["drills"]} and len(drill_uids) == 1
    # Statuses in Chinese, times in UTC, the statutory window all-day.
    done = feed[f"c{setting.id}-2026-12-02@drills.emergency.local"]
    assert done["summary"] == "罐区周演练（已完成）"
    assert done["start"] == datetime(2026, 12, 2, 1, 0, tzinfo=UTC)
    assert done["end"] - done["start"] == timedelta(minutes=45)
    assert feed[f"c{setting.id}-2026-12-09@drills.emergency.local"]["summary"] == "罐区周演练（已逾期）"
    assert feed[f"c{setting.id}-2026-12-16@drills.emergency.local"]["summary"] == "罐区周演练（未到期）"
    yearly = feed[f"o-yearly-e{own.id}-2026@drills.emergency.local"]
    assert yearly["start"] == date(2026, 1, 1) and yearly["end"] == date(2027, 1, 1)
    # The page colours the same statuses.
    assert 'class="cal-item done" data-kind="occurrence"' in html and 'class="cal-item overdue"' in html
    assert 'class="cal-item record" data-kind="drill"' in html
    assert db.session.scalar(sa.select(CalendarFeed.last_used_at)) is not None


def test_editing_the_cycle_time_keeps_the_uid(app, people, setting):
    with at("2026-12-15"):
        client = browser(app, "duty")
        path = create_feed(client, enterprise_id=str(people["own"].id))
        before = events(app.test_client(), path)
    with at("2026-12-15", 11):
        cycles.update_cycle(people["officer"], setting, {"start_time": "14:30"})
        db.session.commit()
        after = events(app.test_client(), path)
    uid = f"c{setting.id}-2026-12-23@drills.emergency.local"
    assert before[uid]["start"] == datetime(2026, 12, 23, 1, 0, tzinfo=UTC)
    assert after[uid]["start"] == datetime(2026, 12, 23, 6, 30, tzinfo=UTC)
    assert after[uid]["sequence"] > before[uid]["sequence"]
    assert set(before) <= set(after)  # updated in place: nothing duplicated, nothing lost
    past = f"c{setting.id}-2026-12-02@drills.emergency.local"  # history keeps its time
    assert after[past]["start"] == before[past]["start"]


def test_revoked_and_unknown_tokens_answer_404(app, people, setting):
    with at("2026-12-15"):
        client = browser(app, "ent-a")
        path = create_feed(client)
        token = path.rsplit("/", 1)[1][:-4]
        anonymous = app.test_client()
        assert anonymous.get(path).status_code == 200
        assert anonymous.get(f"/api/v1/calendar-feeds/{token}.ics").data == anonymous.get(path).data
        feed = db.session.scalar(sa.select(CalendarFeed))
        assert feed.token_hash != token and token not in str(feed.__dict__)  # only the hash is kept
        assert client.post(f"/drills/feeds/{feed.id}/revoke").status_code == 302
        assert anonymous.get(path).status_code == 404
        assert anonymous.get(f"/api/v1/calendar-feeds/{token}.ics").status_code == 404
        assert anonymous.get("/feeds/drills/not-a-real-token.ics").status_code == 404
        listing = client.get("/drills/feeds").get_data(as_text=True)
    assert "已吊销" in listing and token not in listing


def test_enterprise_a_feed_has_no_b_events(app, people, setting, token_for):
    own, other = people["own"], people["other"]
    b_cycle_keys = set(db.session.scalars(sa.select(Occurrence.key).where(Occurrence.enterprise_id == other.id)))
    assert b_cycle_keys
    with at("2026-12-15"):
        a_path = create_feed(browser(app, "ent-a"))
        a_events = events(app.test_client(), a_path)
        county = events(app.test_client(), create_feed(browser(app, "duty"), label="全县演练"))
        # Through the API: an enterprise token's feed is its own, whatever it names.
        headers = token_for("ent-a")
        created = app.test_client().post("/api/v1/calendar-feeds", json={"enterprise_id": other.id}, headers=headers)
        assert created.status_code == 201 and created.get_json()["enterprise_id"] == own.id
        api_events = events(app.test_client(), created.get_json()["url"].split("localhost", 1)[1])
        b_feed = create_feed(browser(app, "ent-b"))
        b_feed_id = db.session.scalar(sa.select(CalendarFeed.id).where(CalendarFeed.enterprise_id == other.id))
        listed = app.test_client().get("/api/v1/calendar-feeds", headers=headers).get_json()
        assert {f["enterprise_id"] for f in listed} == {own.id}
        assert app.test_client().delete(f"/api/v1/calendar-feeds/{b_feed_id}", headers=headers).status_code == 404
        assert app.test_client().get(b_feed).status_code == 200  # still live
    a_keys = {uid.split("@")[0] for uid in a_events}
    assert not a_keys & b_cycle_keys and not any(other.name in e["summary"] for e in a_events.values())
    assert set(api_events) == set(a_events)
    county_keys = {uid.split("@")[0] for uid in county}
    near = set(db.session.scalars(sa.select(Occurrence.key).where(  # a county feed: 30 days back, 60 ahead
        Occurrence.window_start <= D("2027-02-13"), Occurrence.window_end >= D("2026-11-15"))))
    assert b_cycle_keys & near and b_cycle_keys & near <= county_keys and a_keys & near <= county_keys
    assert any(e["summary"].startswith(f"{other.name}：") for e in county.values())  # county feeds name the enterprise


def test_enterprise_calendar_shows_only_its_own(app, people, setting):
    own, other = people["own"], people["other"]
    with at("2026-12-15"):
        a_page = browser(app, "ent-a").get(f"/drills/calendar?month=2026-12&enterprise_id={other.id}")
        officer = browser(app, "duty")
        county = officer.get("/drills/calendar?month=2026-12").get_data(as_text=True)
        hotels = officer.get("/drills/calendar?month=2026-12&industry=hotel").get_data(as_text=True)
        one = officer.get(f"/drills/calendar?month=2026-12&enterprise_id={own.id}").get_data(as_text=True)
        week = browser(app, "ent-a").get("/drills/calendar/week?start=2026-12-16").get_data(as_text=True)
    assert a_page.status_code == 200
    text = a_page.get_data(as_text=True)
    assert "罐区周演练" in text and "乙酒店客房疏散演练" not in text and other.name not in text
    assert "罐区周演练" in county and "乙酒店客房疏散演练" in county
    assert "乙酒店客房疏散演练" in hotels and "罐区周演练" not in hotels
    assert "罐区周演练" in one and "乙酒店客房疏散演练" not in one
    assert 'data-date="2026-12-14"' in week and 'data-date="2026-12-20"' in week  # Monday to Sunday
    assert "09:00" in week and "乙酒店" not in week


def test_month_edges(app, people):
    client = browser(app, "duty")
    february = client.get("/drills/calendar?month=2026-02").get_data(as_text=True)  # 1 February 2026 is a Sunday
    cells = re.findall(r'data-date="(\d{4}-\d{2}-\d{2})"', february)
    assert cells[0] == "2026-01-26" and cells[6] == "2026-02-01" and cells[-1] == "2026-03-01"
    assert len(cells) % 7 == 0
    assert 'id="prev" href="/drills/calendar?month=2026-01"' in february
    assert 'id="next" href="/drills/calendar?month=2026-03"' in february
    december = client.get("/drills/calendar?month=2026-12").get_data(as_text=True)
    assert 'id="next" href="/drills/calendar?month=2027-01"' in december
    january = client.get("/drills/calendar?month=2027-01").get_data(as_text=True)
    assert 'id="prev" href="/drills/calendar?month=2026-12"' in january
    week = client.get("/drills/calendar/week?start=2026-12-31").get_data(as_text=True)  # a week across the year
    assert 'data-date="2026-12-28"' in week and 'data-date="2027-01-03"' in week
    assert 'id="next" href="/drills/calendar/week?start=2027-01-04"' in week
    bad = client.get("/drills/calendar?month=2026-13")
    assert bad.status_code == 200 and "month" in bad.get_data(as_text=True)


def test_a_busy_day_shows_a_few_and_counts_the_rest(app, people, make_enterprise):
    with at("2026-11-30"):
        for n in range(6):
            weekly_cycle(people["officer"], make_enterprise(name=f"丁{n}号企业"), f"周演练{n}")
    with at("2026-12-01"):
        html = browser(app, "duty").get("/drills/calendar?month=2026-12").get_data(as_text=True)
        week = browser(app, "duty").get("/drills/calendar/week?start=2026-12-02").get_data(as_text=True)
    cell = re.search(r'data-date="2026-12-02">(.*?)</td>', html, re.DOTALL).group(1)
    assert cell.count('class="cal-item') == 4 and 'data-more="2"' in cell
    assert re.search(r'data-date="2026-12-02">(.*?)</td>', week, re.DOTALL).group(1).count('class="cal-item') == 6


def test_feed_url_is_documented(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert "/api/v1/calendar-feeds/{token}.ics" in spec["paths"]
    assert "text/calendar" in spec["paths"]["/api/v1/calendar-feeds/{token}.ics"]["get"]["responses"]["200"]["content"]
    assert "/feeds/drills/{token}.ics" in spec["paths"]["/api/v1/calendar-feeds"]["post"]["description"]


def test_a_county_feed_is_narrower_and_capped(app, people, setting, monkeypatch):
    from plans.drills import feeds

    with at("2026-12-15"):
        path = create_feed(browser(app, "duty"), label="全县演练")
        uncapped = events(app.test_client(), path)
        days = {event_day(e) for uid, e in uncapped.items() if uid.startswith("c")}
        assert min(days) >= date(2026, 11, 15) and max(days) <= date(2027, 2, 13)  # 30 days back, 60 ahead
        monkeypatch.setattr(feeds, "COUNTY_MAX_EVENTS", 3)
        response = app.test_client().get(path)
    capped = Calendar.from_ical(response.data)
    assert len(capped.walk("VEVENT")) <= 6  # three occurrences and at most three drill records
    assert "只显示前3项" in str(capped["X-WR-CALDESC"])
