"""Start the real worker and scheduler processes against the test database."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def process_env(app, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"HUEY_IMMEDIATE"}}
    env.update({
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "SECRET_KEY": app.config["SECRET_KEY"],
        "PYTHONPATH": str(ROOT),
        "PYTHONUNBUFFERED": "1",
    })
    for key in ("SMS_PROVIDER", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_FROM", "TWILIO_API_BASE_URL",
                "PUBLIC_BASE_URL", "SMS_RECONCILE_DELAY", "SMS_STUCK_SECONDS", "SMS_RETRY_BASE_SECONDS",
                "SMS_RETRY_MAX_SECONDS", "SMS_MAX_ATTEMPTS", "SMS_CONCURRENCY", "SMS_BATCH_SIZE"):
        value = app.config.get(key)
        if value is not None:
            env[key] = str(value)
    env.update(extra)
    return env


def start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    handle = open(log, "ab")  # noqa: SIM115 - closed with the process
    return subprocess.Popen(args, cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT,
                            start_new_session=True)


def start_scheduler(env: dict[str, str], log: Path) -> subprocess.Popen:
    return start([str(BIN / "flask"), "--app", "wsgi", "scheduler", "run"], env, log)


def start_worker(env: dict[str, str], log: Path, threads: int = 4) -> subprocess.Popen:
    return start([str(BIN / "huey_consumer"), "scheduler.worker.huey", "--worker-type", "thread",
                  "--workers", str(threads), "--no-periodic", "--delay", "0.05", "--max-delay", "0.5"], env, log)


def kill(process: subprocess.Popen, sig: int = signal.SIGKILL) -> None:
    if process.poll() is None:
        os.killpg(process.pid, sig)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)


def wait_for(condition: Callable[[], object], timeout: float, interval: float = 0.1, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")
