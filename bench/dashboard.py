"""Drill dashboard benchmark: a large county, the officers' pages timed through the real HTTP stack.

    .venv/bin/python bench/dashboard.py                     # SQLite (temp file) and PostgreSQL
    .venv/bin/python bench/dashboard.py --sqlite-only
    .venv/bin/python bench/dashboard.py --pg-url postgresql://postgres@127.0.0.1:5432/bench_dashboard --runs 30

The data set (seeded: every run loads the same county, dated relative to the day it runs): 2,000 enterprises across 15
townships and every industry of the catalogue; 20,000 drill cycles (20 % weekly small drills,
50 % monthly large drills, 30 % quarterly verifications) started a year ago, with their
occurrences for the past year and the 100-day horizon; 200,000 drill records linked to past
occurrences; 2 % of the missed ones excused; 5,000 corrective actions. Rows go in with
SQLAlchemy core inserts of dict lists, then ANALYZE (VACUUM ANALYZE on PostgreSQL). The
PostgreSQL database is created and dropped by the benchmark (an existing one is wiped).

Timed, logged in as an officer with the Flask test client (routing, login, queries, templates):
the drill dashboard (/dashboard/drills: rates of this year to date, the first overdue rows, heat
map page 1), the overdue list (/dashboard/drills/overdue, page 1 and page 20), and the county
calendar month and week pages (/drills/calendar, /drills/calendar/week). Prints p50/p95/max per
page per database after a warm-up.
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("SECRET_KEY", "bench")
os.environ["HUEY_IMMEDIATE"] = "1"
os.environ.setdefault("HUEY_SQLITE_PATH", os.path.join(tempfile.mkdtemp(prefix="bench-dash-huey-"), "huey.db"))
os.environ.pop("DATABASE_URL", None)

import sqlalchemy as sa

PASSWORD = "Bench-password-1"
TOWNSHIPS = ("城关镇", "东城街道", "西城街道", "南山镇", "北湖镇", "青石镇", "白沙镇", "柳河乡", "桃源乡", "龙泉镇",
             "新民街道", "长岭镇", "红旗乡", "金桥镇", "清水乡")
PRESET_WEIGHTS = (("weekly_small", 0.2), ("monthly_large", 0.5), ("quarterly_check", 0.3))
CHUNK = 5000


def credit_code(n: int) -> str:
    from emergency.organisations.credit_code import ALPHABET, check_character

    tail = ""
    for _ in range(9):
        n, r = divmod(n, len(ALPHABET))
        tail = ALPHABET[r] + tail
    body = "91330999" + tail
    return body + check_character(body)


def insert(conn, table, rows: list[dict]) -> None:
    for start in range(0, len(rows), CHUNK):
        conn.execute(sa.insert(table), rows[start:start + CHUNK])


def load(app, args, today: date) -> dict[str, int]:
    """The county, in bulk. Returns the row counts."""
    from emergency.auth.models import Role, User
    from emergency.core.extensions import db
    from emergency.organisations import industries
    from emergency.organisations.models import Enterprise, Jurisdiction, Township
    from emergency.core.timeutil import SHANGHAI, utcnow
    from plans.drills import recurrence
    from plans.drills.models import CorrectiveAction, Drill, DrillCycle, Occurrence
    from plans.drills.occurrences import HORIZON_DAYS, cycle_key

    rng = random.Random(args.seed)
    now = utcnow()
    year_ago = today - timedelta(days=365)
    with app.app_context():
        officer = User(username="duty", display_name="值班员", role=Role.officer)
        officer.set_password(PASSWORD)
        db.session.add(officer)
        db.session.commit()
        with db.engine.begin() as conn:
            conn.execute(sa.insert(Jurisdiction.__table__), [{"id": 1, "name": "示范县", "area_code": "330999",
                                                              "bureau_name": "示范县应急管理局", "created_at": now}])
            insert(conn, Township.__table__, [{"id": i, "jurisdiction_id": 1, "name": name, "created_at": now}
                                              for i, name in enumerate(TOWNSHIPS, start=1)])
            codes = [i.code for i in industries.INDUSTRIES]
            insert(conn, Enterprise.__table__, [{
                "id": i, "name": f"示范企业{i:04d}有限公司", "credit_code": credit_code(i), "industry": rng.choice(codes),
                "scale": rng.choice(industries.SCALE_CODES), "township_id": rng.randint(1, len(TOWNSHIPS)),
                "principal_name": "张三", "principal_mobile": "+8613800138000", "safety_manager_name": "李四",
                "safety_manager_mobile": "+8613900139000", "active": True, "created_at": now, "updated_at": now}
                for i in range(1, args.enterprises + 1)])
            # Enterprises differ in diligence (so rates differ by township and industry).
            diligence = {i: rng.uniform(0.35, 0.95) for i in range(1, args.enterprises + 1)}
            cycles, occurrences = [], []
            presets, weights = zip(*PRESET_WEIGHTS)
            for cycle_id in range(1, args.cycles + 1):
                preset = rng.choices(presets, weights)[0]
                spec = recurrence.PRESETS[preset]
                enterprise_id = rng.randint(1, args.enterprises)
                cycles.append({"id": cycle_id, "enterprise_id": enterprise_id, "name": f"演练周期{cycle_id}",
                               "preset": preset, "rule": spec["rule"], "start_time": spec["start_time"],
                               "duration_minutes": spec["duration_minutes"], "grace_days": spec["grace_days"],
                               "lead_days": spec["lead_days"], "drill_form": spec["drill_form"],
                               "starts_on": year_ago, "active": True, "created_at": now, "updated_at": now})
                hour, minute = (int(p) for p in spec["start_time"].split(":"))
                for day in recurrence.dates(spec["rule"], year_ago, year_ago, today + timedelta(days=HORIZON_DAYS)):
                    occurrences.append({
                        "key": cycle_key(cycle_id, day), "enterprise_id": enterprise_id, "cycle_id": cycle_id,
                        "scheduled_at": datetime(day.year, day.month, day.day, hour, minute, tzinfo=SHANGHAI),
                        "duration_minutes": spec["duration_minutes"], "due_on": day, "window_start": day,
                        "window_end": day + timedelta(days=spec["grace_days"]), "drill_id": None,
                        "excused_at": None, "created_at": now})
            insert(conn, DrillCycle.__table__, cycles)
            # 200,000 drill records, each fulfilling one past occurrence (the diligent ones first).
            past = [o for o in occurrences if o["window_start"] <= today]
            rng.shuffle(past)
            past.sort(key=lambda o: rng.random() < diligence[o["enterprise_id"]], reverse=True)
            drills = []
            for drill_id, occ in enumerate(past[:args.drills], start=1):
                started = occ["scheduled_at"] + timedelta(days=rng.randint(0, 2))
                occ["drill_id"] = drill_id
                drills.append({"id": drill_id, "enterprise_id": occ["enterprise_id"], "cycle_id": occ["cycle_id"],
                               "title": "演练记录", "started_at": started, "duration_minutes": occ["duration_minutes"],
                               "form": "tabletop", "content": "single", "purpose": "inspection", "scenario": "",
                               "location": "", "organiser": "", "participant_count": 12, "participants": [],
                               "observers": [], "created_at": now, "updated_at": now})
            for occ in past[args.drills:]:
                if occ["window_end"] < today and rng.random() < 0.02:
                    occ["excused_at"] = now
            insert(conn, Drill.__table__, drills)
            insert(conn, Occurrence.__table__, occurrences)
            insert(conn, CorrectiveAction.__table__, [{
                "enterprise_id": d["enterprise_id"], "drill_id": d["id"], "problem": "疏散路线标识不清",
                "owner_name": "李四", "due_on": today + timedelta(days=rng.randint(-60, 60)),
                "status": rng.choice(["open", "done", "verified"]), "created_at": now, "updated_at": now}
                for d in rng.sample(drills, min(args.actions, len(drills)))])
            if conn.dialect.name == "postgresql":
                for table in ("jurisdiction", "township", "enterprise", "drill_cycle", "drill"):
                    conn.execute(sa.text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                         f"(SELECT max(id) FROM {table}))"))
        with db.engine.connect() as conn:  # planner statistics (and PostgreSQL's visibility map), as autovacuum gives
            statement = "VACUUM ANALYZE" if conn.dialect.name == "postgresql" else "ANALYZE"
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(sa.text(statement))
        return {"enterprises": args.enterprises, "cycles": len(cycles), "occurrences": len(occurrences),
                "drills": len(drills), "actions": min(args.actions, len(drills))}


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def measure(app, runs: int, warmup: int, today: date) -> dict[str, list[float]]:

    client = app.test_client()
    assert client.post("/login", data={"username": "duty", "password": PASSWORD}).status_code == 302
    pages = {
        "drill dashboard /dashboard/drills": "/dashboard/drills",
        "overdue list /dashboard/drills/overdue": "/dashboard/drills/overdue",
        "overdue list, page 20": "/dashboard/drills/overdue?page=20",
        "county calendar month /drills/calendar": "/drills/calendar",
        "county calendar week /drills/calendar/week": "/drills/calendar/week",
    }
    timings: dict[str, list[float]] = {}
    for label, url in pages.items():
        for _ in range(warmup):
            assert client.get(url).status_code == 200, url
        samples = []
        for _ in range(runs):
            start = time.perf_counter()
            response = client.get(url)
            samples.append((time.perf_counter() - start) * 1000)
            assert response.status_code == 200, url
        timings[label] = samples
    return timings


def run(name: str, url: str, args, today: date) -> None:
    from flask_migrate import upgrade

    from emergency import create_app
    from emergency.core.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "WTF_CSRF_ENABLED": False,
                      "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000"})
    with app.app_context():
        upgrade()
    started = time.perf_counter()
    counts = load(app, args, today)
    loaded = time.perf_counter() - started
    print(f"\n{name}: {counts['enterprises']:,} enterprises, {counts['cycles']:,} cycles, "
          f"{counts['occurrences']:,} occurrences, {counts['drills']:,} drills, {counts['actions']:,} corrective "
          f"actions; loaded in {loaded:.1f} s")
    timings = measure(app, args.runs, args.warmup, today)
    print(f"{'page':44} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
    for label, samples in timings.items():
        p95 = percentile(samples, 95)
        flag = "" if p95 < 300 else "   > 300 ms"
        print(f"{label:44} {statistics.median(samples):8.1f} {p95:8.1f} {max(samples):8.1f}{flag}")
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sqlite-only", action="store_true")
    parser.add_argument("--pg-only", action="store_true")
    parser.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/bench_dashboard",
                        help="PostgreSQL database to create, fill and drop (default: %(default)s)")
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--seed", type=int, default=20261123)
    parser.add_argument("--enterprises", type=int, default=2000)
    parser.add_argument("--cycles", type=int, default=20_000)
    parser.add_argument("--drills", type=int, default=200_000)
    parser.add_argument("--actions", type=int, default=5000)
    args = parser.parse_args()

    from emergency.core.timeutil import local_today

    today = local_today()
    print(f"Drill dashboard benchmark, {today.isoformat()}, seed {args.seed}, {args.runs} runs after "
          f"{args.warmup} warm-up requests per page")
    if not args.pg_only:
        with tempfile.TemporaryDirectory(prefix="bench-dashboard-") as tmp:
            run("SQLite", f"sqlite:///{Path(tmp) / 'bench.db'}", args, today)
    if args.sqlite_only:
        return
    from sqlalchemy.engine import make_url

    from emergency.core.config import normalise_database_url

    url = make_url(normalise_database_url(args.pg_url))
    admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{url.database}"'))
        conn.execute(sa.text(f'CREATE DATABASE "{url.database}"'))
    try:
        run("PostgreSQL", url.render_as_string(hide_password=False), args, today)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
