"""SMS fan-out benchmark: the system against the raw twilio client, both against the local
Twilio-compatible server (tests/fakes/twilio) with 20 ms per request.

    .venv/bin/python bench/sms_fanout.py                      # SQLite database + SQLite queue
    .venv/bin/python bench/sms_fanout.py --database postgresql://postgres@127.0.0.1:5432/bench \\
        --redis redis://127.0.0.1:6379/14                     # PostgreSQL + Redis (db is wiped)

Prints (a) the limit: the raw twilio client sending the same messages with the same
concurrency, no queue, no database; (b) the system, from release (approval) to the last
message accepted by the provider; b/a; time to the first message; the worker's peak memory.
"""
from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
BODY = "【示范县应急管理局】暴雨橙色预警：未来6小时将出现50毫米以上降雨，请立即检查排洪设施并做好人员撤离准备。"


def start_simulator(latency: float) -> tuple[subprocess.Popen, dict[str, str]]:
    process = subprocess.Popen([sys.executable, "-m", "tests.fakes.twilio.simulator", "serve", "--latency",
                                str(latency), "--no-callbacks"], stdout=subprocess.PIPE, text=True, cwd=ROOT)
    line = process.stdout.readline()
    found = dict(re.findall(r"(\w+)=(\S+)", line))
    return process, found


def phones(n: int, offset: int) -> list[str]:
    return [f"+86139{offset + i:08d}" for i in range(n)]


def raw_client(sim: dict[str, str], numbers: list[str], concurrency: int) -> float:
    """Messages per second of the bare twilio client: the limit for the system."""
    import requests
    from requests.adapters import HTTPAdapter
    from twilio.http.http_client import TwilioHttpClient
    from twilio.rest import Client

    http = TwilioHttpClient(pool_connections=True)
    http.session = requests.Session()
    http.session.trust_env = False
    http.session.mount("http://", HTTPAdapter(pool_maxsize=concurrency * 2))
    client = Client(sim["account_sid"], sim["auth_token"], http_client=http)
    client.api.base_url = sim["url"]
    start = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(lambda to: client.messages.create(to=to, from_="+15005550006", body=BODY), numbers))
    return len(numbers) / (time.perf_counter() - start)


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def system(sim: dict[str, str], numbers: list[str], concurrency: int, database: str | None, redis: str | None,
           workdir: Path) -> dict[str, float]:
    env = dict(os.environ)
    env.update({
        "DATABASE_URL": database or f"sqlite:///{workdir / 'bench.db'}",
        "SECRET_KEY": "bench", "HUEY_SQLITE_PATH": str(workdir / "huey.db"), "HUEY_NAME": f"bench-{os.getpid()}",
        "SMS_PROVIDER": "twilio", "TWILIO_ACCOUNT_SID": sim["account_sid"], "TWILIO_AUTH_TOKEN": sim["auth_token"],
        "TWILIO_FROM": "+15005550006", "TWILIO_API_BASE_URL": sim["url"], "SMS_CONCURRENCY": str(concurrency),
        "PYTHONPATH": str(ROOT),
    })
    env.pop("HUEY_IMMEDIATE", None)
    if redis:
        env["REDIS_URL"] = redis
    else:
        env.pop("REDIS_URL", None)
    if database and database.startswith("postgres"):
        import sqlalchemy as sa

        from emergency.core.config import normalise_database_url

        engine = sa.create_engine(normalise_database_url(database))
        with engine.begin() as conn:
            conn.execute(sa.text("DROP SCHEMA public CASCADE"))
            conn.execute(sa.text("CREATE SCHEMA public"))
        engine.dispose()
    subprocess.run([str(BIN / "flask"), "--app", "wsgi", "db", "upgrade"], env=env, cwd=ROOT, check=True,
                   capture_output=True)
    os.environ.update({k: env[k] for k in ("DATABASE_URL", "SECRET_KEY", "HUEY_SQLITE_PATH", "HUEY_NAME")})
    if redis:
        os.environ["REDIS_URL"] = redis
    worker = subprocess.Popen([str(BIN / "huey_consumer"), "scheduler.worker.huey", "--worker-type", "thread",
                               "--workers", "4", "--no-periodic", "--delay", "0.05", "--max-delay", "0.2",
                               "--logfile", str(workdir / "worker.log")],
                              env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        import sqlalchemy as sa

        from emergency import create_app
        from emergency.core.extensions import db
        from emergency.messaging import campaigns
        from emergency.messaging.models import Delivery, DeliveryStatus

        app = create_app()
        with app.app_context():
            time.sleep(2)  # let the worker start
            campaign = campaigns.create_campaign(None, {
                "kind": "warning", "title": "bench", "body": BODY, "priority": "urgent", "phones": numbers})
            released = time.time()
            db.session.commit()  # the release: the fan-out is enqueued now
            done = threading.Event()
            while not done.is_set():
                time.sleep(0.25)
                db.session.rollback()
                left = db.session.scalar(sa.select(sa.func.count()).where(
                    Delivery.campaign_id == campaign.id, Delivery.status != DeliveryStatus.sent))
                total = db.session.scalar(sa.select(sa.func.count()).where(Delivery.campaign_id == campaign.id))
                if total == len(numbers) and left == 0:
                    done.set()
                if time.time() - released > 600:
                    raise RuntimeError("not finished in 10 minutes")
            first, last = db.session.execute(sa.select(sa.func.min(Delivery.sent_at), sa.func.max(Delivery.sent_at))
                                             .where(Delivery.campaign_id == campaign.id)).one()
            return {"rate": len(numbers) / (last.timestamp() - released), "first": first.timestamp() - released,
                    "memory": peak_rss_mb(worker.pid)}
    finally:
        worker.terminate()
        worker.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--latency", type=float, default=0.02)
    parser.add_argument("--database", help="PostgreSQL URL (wiped); default: a fresh SQLite file")
    parser.add_argument("--redis", help="Redis URL for the queue; default: the SQLite queue")
    args = parser.parse_args()

    sim_process, sim = start_simulator(args.latency)
    try:
        with tempfile.TemporaryDirectory(prefix="bench-sms-") as tmp:
            limit = raw_client(sim, phones(args.recipients, 0), args.concurrency)
            result = system(sim, phones(args.recipients, 50_000_000), args.concurrency, args.database,
                            args.redis, Path(tmp))
    finally:
        sim_process.terminate()
    setup = ("PostgreSQL" if args.database else "SQLite") + " + " + ("Redis" if args.redis else "SQLite queue")
    print(f"sms_fanout: {args.recipients} recipients, {args.latency * 1000:.0f} ms per request, "
          f"concurrency {args.concurrency}, {setup}")
    print(f"  (a) raw twilio client:     {limit:7.0f} messages/s")
    print(f"  (b) system, release→last:  {result['rate']:7.0f} messages/s")
    print(f"  ratio b/a:                 {result['rate'] / limit:7.2f}   (target ≥ 0.8)")
    print(f"  first message after:       {result['first']:7.2f} s   (target ≤ 1 s)")
    print(f"  worker peak memory:        {result['memory']:7.0f} MB")


if __name__ == "__main__":
    main()
