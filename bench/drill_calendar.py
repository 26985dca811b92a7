"""Drill calendar benchmark: a county of 2,000 enterprises with ~400,000 stored occurrences.

    .venv/bin/python bench/drill_calendar.py                       # SQLite (a fresh temporary file)
    .venv/bin/python bench/drill_calendar.py --database postgresql://postgres@127.0.0.1:5432/bench  # wiped

Prints the time of the month and week queries (county, one township, one enterprise), the
reminder sweep's search for one day, the digest's figures and the ICS of one enterprise and
of the whole county.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


class Officer:
    is_officer = True
    enterprise_id = None


def timed(label: str, fn, repeat: int = 3):
    best = None
    result = None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        spent = time.perf_counter() - start
        best = spent if best is None else min(best, spent)
    print(f"{label:<48} {best * 1000:8.1f} ms")
    return result


def populate(db, enterprises: int, weeks: int, today: date) -> None:
    import sqlalchemy as sa

    from emergency.organisations.models import Enterprise, Jurisdiction, Township
    from emergency.core.timeutil import SHANGHAI
    from plans.drills.models import DrillCycle, Occurrence

    county = Jurisdiction(name="基准县", area_code="330998", bureau_name="基准县应急管理局")
    db.session.add(county)
    townships = [Township(jurisdiction=county, name=f"第{n}镇") for n in range(12)]
    db.session.add_all(townships)
    db.session.flush()
    industries = ["manufacturing", "hazardous_chemicals", "hotel", "construction"]
    db.session.execute(sa.insert(Enterprise), [
        {"name": f"基准企业{n:04d}", "credit_code": f"91330998{n:09d}X", "industry": industries[n % 4],
         "scale": "small", "township_id": townships[n % 12].id, "principal_name": "张三",
         "principal_mobile": "+8613800138000", "safety_manager_name": "李四",
         "safety_manager_mobile": "+8613900139000", "active": True} for n in range(enterprises)])
    ids = db.session.scalars(sa.select(Enterprise.id).order_by(Enterprise.id)).all()
    start = today - timedelta(weeks=weeks // 2)
    now = datetime.now(UTC)
    db.session.execute(sa.insert(DrillCycle), [
        {"enterprise_id": e, "name": "每周一小练", "preset": "weekly_small", "rule": {"freq": "weekly", "weekdays": [e % 5]},
         "start_time": "09:00", "duration_minutes": 30, "grace_days": 4, "lead_days": 1, "drill_form": "tabletop",
         "starts_on": start, "active": True, "created_at": now, "updated_at": now} for e in ids])
    cycles = db.session.execute(sa.select(DrillCycle.id, DrillCycle.enterprise_id)).all()
    rows = []
    for cycle_id, enterprise_id in cycles:
        first = start + timedelta(days=(enterprise_id % 5 - start.weekday()) % 7)
        for week in range(weeks):
            day = first + timedelta(weeks=week)
            at = datetime.combine(day, dtime(9), tzinfo=SHANGHAI).astimezone(UTC)
            rows.append({"key": f"c{cycle_id}-{day.isoformat()}", "enterprise_id": enterprise_id, "cycle_id": cycle_id,
                         "scheduled_at": at, "duration_minutes": 30, "due_on": day, "window_start": day,
                         "window_end": day + timedelta(days=4), "excuse_reason": "", "created_at": now})
            if len(rows) == 20_000:
                db.session.execute(sa.insert(Occurrence), rows)
                rows = []
    if rows:
        db.session.execute(sa.insert(Occurrence), rows)
    db.session.commit()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", default=None)
    parser.add_argument("--enterprises", type=int, default=2000)
    parser.add_argument("--weeks", type=int, default=200)
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="drill-bench-")
    os.environ.setdefault("SECRET_KEY", "bench")
    os.environ["HUEY_IMMEDIATE"] = "1"
    url = args.database or f"sqlite:///{folder}/bench.db"

    from flask_migrate import upgrade

    from emergency import create_app
    from emergency.core.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True})
    with app.test_request_context():
        if args.database:
            import sqlalchemy as sa

            with db.engine.begin() as conn:
                conn.execute(sa.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        upgrade()
        today = date(2026, 12, 15)
        started = time.perf_counter()
        populate(db, args.enterprises, args.weeks, today)
        import sqlalchemy as sa

        from emergency.organisations.models import Enterprise, Township
        from plans.drills import calendar_queries as queries
        from plans.drills import feeds, reminders
        from plans.drills.models import CalendarFeed, Occurrence

        total = db.session.scalar(sa.select(sa.func.count()).select_from(Occurrence))
        print(f"{args.enterprises} enterprises, {total} occurrences ({time.perf_counter() - started:.0f} s to load)")
        officer = Officer()
        weeks = queries.month_weeks(2026, 12)
        first, last = weeks[0][0], weeks[-1][-1]
        township = db.session.scalar(sa.select(Township.id).order_by(Township.id))
        enterprise = db.session.scalar(sa.select(Enterprise.id).order_by(Enterprise.id))
        timed("month, county (4 a day)", lambda: queries.occurrences_by_day(officer, {}, first, last, today, 4))
        timed("month, one township", lambda: queries.occurrences_by_day(officer, {"township_id": township}, first,
                                                                        last, today, 4))
        timed("month, one enterprise", lambda: queries.occurrences_by_day(officer, {"enterprise_id": enterprise},
                                                                          first, last, today, 4))
        days = queries.week_days(today)
        timed("week, county (40 a day)", lambda: queries.occurrences_by_day(officer, {}, days[0], days[-1], today, 40))
        timed("month drill records, county", lambda: queries.drills_by_day(officer, {}, first, last, 4))
        timed("reminder search for one day", lambda: len(reminders.due_milestones(today)), repeat=1)
        timed("digest figures", lambda: reminders.overdue_figures(today))
        one = CalendarFeed(token_hash="x" * 64, enterprise_id=enterprise)
        county = CalendarFeed(token_hash="y" * 64)
        db.session.add_all([one, county])
        db.session.flush()
        size = timed("ICS, one enterprise", lambda: len(feeds.render_ics(one, today)))
        print(f"{'':<48} {size / 1024:8.1f} KB")
        size = timed("ICS, whole county", lambda: len(feeds.render_ics(county, today)), repeat=1)
        print(f"{'':<48} {size / 1024:8.1f} KB")


if __name__ == "__main__":
    main()
