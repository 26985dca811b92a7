"""The delivery engine: fan-out, sending with bounded concurrency, retries, reconciliation,
status callbacks. Runs in worker tasks (emergency/messaging/tasks.py).

Every state change is a conditional UPDATE on the current status, so a repeated task, a
retry racing a callback or two workers holding the same id can never send a message twice
or move a status backwards. When a send's outcome is unknown (the connection dropped after
the request went out, or the worker died), the provider is asked before anything is resent.

Each claim of a delivery (queued -> sending) writes a fresh claim token into ``sender``:
``nonce@host:pid:start`` while the claiming process may still have the request in flight,
the bare ``nonce`` once it has let go (the request ended with an unknown outcome, or the
batch ended without recording it). Every later write of that attempt is conditional on the
token, so a stale writer (a second reconciliation, a sender that was given up on) never
changes a newer attempt. Reconciliation leaves a delivery alone while its sender process is
alive: an unrecorded message of a live sender is still waiting for the pool, on the wire or
waiting for the batch to be recorded, and only the sender knows which. Twilio has no
idempotency key, so asking it is only sound once no request of the attempt can still reach it.
"""
from __future__ import annotations

import logging
import os
import random
import secrets
import socket
import threading
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor, wait
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import Flask, current_app

from emergency.core import queue
from emergency.core.extensions import db
from emergency.messaging.campaigns import fail
from emergency.core.timeutil import utcnow
from emergency.messaging import audience, contacts, settings
from emergency.messaging.models import (
    IN_FLIGHT, Campaign, CampaignStatus, Delivery, DeliveryStatus, OptOut,
)
from emergency.messaging.providers import ConsoleProvider, Provider, SendFailed, get_provider

logger = logging.getLogger(__name__)
D = Delivery.__table__

_pool_lock = threading.Lock()
_pools: dict[int, ThreadPoolExecutor] = {}


def _pool(size: int) -> ThreadPoolExecutor:
    """One sender pool per process: the bound on concurrent provider requests."""
    with _pool_lock:
        pool = _pools.get(size)
        if pool is None:
            pool = _pools[size] = ThreadPoolExecutor(max_workers=size, thread_name_prefix="sms")
        return pool


# --- who holds an attempt ---------------------------------------------------------------

_identity: tuple[int, str] | None = None


def _process_start(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (Linux), which a reused pid does not
    share; None when it cannot be read (no such process, or no /proc)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            fields = handle.read().rsplit(b")", 1)[1].split()
    except (OSError, IndexError):
        return None
    if fields[0] in (b"Z", b"X"):  # a zombie: dead, not yet reaped
        return None
    return fields[19].decode()


def process_identity() -> str:
    """``host:pid:start`` of this process (recomputed after a fork)."""
    global _identity
    pid = os.getpid()
    if _identity is None or _identity[0] != pid:
        _identity = (pid, f"{socket.gethostname()}:{pid}:{_process_start(pid) or '?'}")
    return _identity[1]


def new_claim_token() -> str:
    return f"{secrets.token_hex(6)}@{process_identity()}"[:100]


def released(token: str) -> str:
    """The token of an attempt whose sender let go (still unique, no owner any more)."""
    return token.split("@", 1)[0]


def sender_alive(token: str | None) -> bool | None:
    """Whether the process that holds this attempt still runs: False when no process holds it
    (released, or a row from before claim tokens) or it ran on this host and is gone, None
    when it ran on another host (then only the attempt's age speaks for its death)."""
    if not token or "@" not in token:
        return False
    owner = token.split("@", 1)[1]
    host, pid_text, start = (owner.rsplit(":", 2) + ["", ""])[:3]
    if host != socket.gethostname() or not pid_text.isdigit():
        return None
    pid = int(pid_text)
    if start != "?":
        return _process_start(pid) == start
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# --- fan-out ---------------------------------------------------------------------------

#: Errors that may pass (the database busy or gone for a moment): the task's retry and the
#: sweep run the fan-out again. Anything else will fail the same way every time.
TRANSIENT_ERRORS = (sa.exc.OperationalError, sa.exc.InterfaceError, sa.exc.TimeoutError)


def fan_out(campaign_id: int) -> int:
    """Expand recipients into deliveries (once), then queue them in batches. Idempotent.

    A fan-out that fails for good (the audience cannot be expanded, e.g. an id no database
    key holds, stored before ids were checked) ends the campaign as ``failed`` with the
    reason, instead of being retried by every sweep for ever.
    """
    try:
        return _fan_out(campaign_id)
    except TRANSIENT_ERRORS:
        raise
    except Exception as exc:
        db.session.rollback()
        logger.exception("campaign %s: fan-out failed for good", campaign_id)
        cause = getattr(exc, "orig", None) or exc  # the driver's error, without SQLAlchemy's SQL text
        first_line = (str(cause).splitlines() or [""])[0]
        fail(campaign_id, f"fan-out failed: {cause.__class__.__name__}: {first_line}")
        return 0


def _fan_out(campaign_id: int) -> int:
    campaign = db.session.get(Campaign, campaign_id)
    if campaign is None or campaign.status != CampaignStatus.sending:
        return 0
    now = utcnow()
    existing = set(db.session.scalars(sa.select(Delivery.phone).where(Delivery.campaign_id == campaign_id)))
    recipients = [r for r in audience.expand(campaign.audience or {}) if r.phone not in existing]
    batch_size = current_app.config["SMS_BATCH_SIZE"]
    queued = 0
    complete = True
    # Chunk by chunk: the first batch is on its way while the rest are still being written.
    for start in range(0, len(recipients), batch_size):
        chunk = recipients[start:start + batch_size]
        opted = contacts.opted_out([r.phone for r in chunk if r.valid])
        rows = []
        for r in chunk:
            status = (DeliveryStatus.invalid if not r.valid else
                      DeliveryStatus.opted_out if r.phone in opted else DeliveryStatus.queued)
            rows.append({
                "campaign_id": campaign_id, "contact_id": r.contact_id, "phone": r.phone[:32],
                "status": status, "attempts": 0, "created_at": now, "updated_at": now,
                "queued_at": now if status == DeliveryStatus.queued else None,
                "failed_at": now if status != DeliveryStatus.queued else None,
                "error_message": "not a valid mobile number" if status == DeliveryStatus.invalid else None,
            })
        try:
            ids = db.session.scalars(sa.insert(Delivery).returning(Delivery.id, sort_by_parameter_order=True),
                                     rows).all()
            db.session.commit()
        except sa.exc.IntegrityError:
            # Another fan-out of the same campaign (a sweep's) wrote some of these first.
            db.session.rollback()
            logger.info("campaign %s: chunk already written by another fan-out; skipped", campaign_id)
            complete = False
            continue
        to_send = [i for i, row in zip(ids, rows) if row["status"] == DeliveryStatus.queued]
        if to_send:
            queue.enqueue("messaging.send_batch", to_send)  # a crash before this is caught by the sweep (lost queued)
        queued += len(to_send)
    if recipients:
        logger.info("campaign %s: %s deliveries created, %s queued", campaign_id, len(recipients), queued)
    if complete:
        db.session.execute(sa.update(Campaign).where(Campaign.id == campaign_id, Campaign.fanned_out_at.is_(None))
                           .values(fanned_out_at=utcnow()))
        db.session.commit()
    return queued + queue_pending(campaign_id)


def queue_pending(campaign_id: int) -> int:
    """Move pending deliveries to queued in batches, enqueueing a send task for each batch."""
    batch_size = current_app.config["SMS_BATCH_SIZE"]
    queued = 0
    while True:
        ids = db.session.scalars(
            sa.select(Delivery.id).where(Delivery.campaign_id == campaign_id, Delivery.status == DeliveryStatus.pending)
            .order_by(Delivery.id).limit(batch_size)).all()
        if not ids:
            break
        now = utcnow()
        db.session.execute(sa.update(D).where(D.c.id.in_(ids), D.c.status == DeliveryStatus.pending.value)
                           .values(status=DeliveryStatus.queued.value, queued_at=now, updated_at=now))
        db.session.commit()
        queue.enqueue("messaging.send_batch", ids)
        queued += len(ids)
    finish_campaigns([campaign_id])
    return queued


# --- sending ---------------------------------------------------------------------------

def status_callback_url(delivery_id: int) -> str | None:
    base = current_app.config.get("PUBLIC_BASE_URL")
    if not base:
        return None
    return f"{base.rstrip('/')}/webhooks/twilio/status?d={delivery_id}"


def send_batch(ids: Iterable[int]) -> None:
    """Claim queued deliveries and send them through the provider, concurrently."""
    ids = list(ids)
    app = current_app._get_current_object()
    now = utcnow()
    rows = db.session.execute(
        sa.select(Delivery.id, Campaign.priority).join(Campaign, Campaign.id == Delivery.campaign_id)
        .where(Delivery.id.in_(ids), Delivery.status == DeliveryStatus.queued)).all()
    later = settings.quiet_until(now, settings.parse_quiet_hours(settings.get("quiet_hours")))
    if later is not None:
        waiting = [i for i, priority in rows if priority == "normal"]
        if waiting:
            queue.wrapper("messaging.send_batch").schedule(args=(waiting,), eta=later)
            logger.info("%s normal deliveries wait for the end of quiet hours (%s)", len(waiting), later)
        ids = [i for i, priority in rows if priority != "normal"]
    if not ids:
        return
    provider = get_provider(app)
    # Deliveries of a campaign cancelled meanwhile never go out.
    db.session.execute(
        sa.update(D).where(D.c.id.in_(ids), D.c.status.in_([DeliveryStatus.pending.value, DeliveryStatus.queued.value]),
                           D.c.campaign_id.in_(sa.select(Campaign.id).where(
                               Campaign.status == CampaignStatus.cancelled)))
        .values(status=DeliveryStatus.cancelled.value, failed_at=now, updated_at=now))
    # The claim token fences this attempt: every later write of it is conditional on it.
    token = new_claim_token()
    claimed = db.session.execute(
        sa.update(D)
        .where(D.c.id.in_(ids), D.c.status == DeliveryStatus.queued.value,
               sa.or_(D.c.next_attempt_at.is_(None), D.c.next_attempt_at <= now + timedelta(seconds=1)))
        .values(status=DeliveryStatus.sending.value, sending_at=now, updated_at=now,
                attempts=D.c.attempts + 1, provider=provider.name, sender=token)
        .returning(D.c.id, D.c.phone, D.c.attempts, D.c.campaign_id)
    ).all()
    db.session.commit()
    if not claimed:
        return
    engine = db.engine
    accepted = []
    try:
        campaign_ids = {row.campaign_id for row in claimed}
        bodies = dict(db.session.execute(
            sa.select(Campaign.id, Campaign.body).where(Campaign.id.in_(campaign_ids))).all())
        pool = _pool(app.config["SMS_CONCURRENCY"])
        futures = [
            pool.submit(_send_one, app, engine, provider, token, row.id, row.phone, row.attempts,
                        bodies[row.campaign_id])
            for row in claimed
        ]
        wait(futures)
        for future in futures:
            if future.exception() is not None:
                logger.error("sender crashed", exc_info=future.exception())
            elif future.result() is not None:
                accepted.append(future.result())
    finally:
        # Whatever this batch did not record (a crash, or an error above) is let go, so that
        # reconciliation need not wait for this process to end before asking the provider.
        _record_accepted(engine, token, accepted, [row.id for row in claimed])
    finish_campaigns(campaign_ids)


def _record_accepted(engine: sa.Engine, token: str, accepted: list[dict[str, Any]], claimed: list[int]) -> None:
    """Record the batch's accepted messages in one transaction and let go of the rest of the
    claim (a worker killed before this leaves them in ``sending`` with its token; once it is
    gone, reconciliation finds them at the provider)."""
    mine = sa.and_(D.c.status == DeliveryStatus.sending.value, D.c.sender == token)
    with engine.begin() as conn:
        if accepted:
            conn.execute(
                sa.update(D).where(D.c.id == sa.bindparam("delivery_id"), mine)
                .values(status=DeliveryStatus.sent.value, provider_sid=sa.bindparam("sid"),
                        sent_at=sa.bindparam("at"), updated_at=sa.bindparam("at"), error_code=None,
                        error_message=None),
                accepted)
        conn.execute(sa.update(D).where(D.c.id.in_(claimed), mine).values(sender=released(token)))


def _send_one(app: Flask, engine: sa.Engine, provider: Provider, token: str, delivery_id: int, phone: str,
              attempts: int, body: str) -> dict[str, Any] | None:
    """Send one message; returns what to record when the provider accepted it."""
    with app.app_context():
        callback = status_callback_url(delivery_id)
        try:
            accepted = provider.send(phone, body, callback)
        except SendFailed as failure:
            _record_failure(app, engine, token, delivery_id, phone, attempts, failure)
            return None
        except Exception:  # noqa: BLE001 - whatever happened, the request may have gone out
            logger.exception("delivery %s: unexpected error while sending; will ask the provider", delivery_id)
            _let_go(engine, token, delivery_id)
            queue.wrapper("messaging.reconcile").schedule(args=(delivery_id,), delay=app.config["SMS_RECONCILE_DELAY"])
            return None
        return {"delivery_id": delivery_id, "sid": accepted.sid, "at": utcnow()}


def _let_go(engine: sa.Engine, token: str, delivery_id: int) -> None:
    """The request ended without an answer: this process will not send it again, so
    reconciliation may ask the provider (after SMS_RECONCILE_DELAY) without waiting for it."""
    with engine.begin() as conn:
        conn.execute(sa.update(D).where(D.c.id == delivery_id, D.c.status == DeliveryStatus.sending.value,
                                        D.c.sender == token).values(sender=released(token)))


def _record_failure(app: Flask, engine: sa.Engine, token: str, delivery_id: int, phone: str, attempts: int,
                    failure: SendFailed) -> None:
    config = app.config
    now = utcnow()
    where = sa.and_(D.c.id == delivery_id, D.c.status == DeliveryStatus.sending.value, D.c.sender == token)
    if failure.kind == "unknown":
        logger.warning("delivery %s: outcome unknown (%s); will ask the provider", delivery_id, failure.message)
        _let_go(engine, token, delivery_id)
        queue.wrapper("messaging.reconcile").schedule(args=(delivery_id,), delay=config["SMS_RECONCILE_DELAY"])
        return
    if failure.kind == "retry" and attempts < config["SMS_MAX_ATTEMPTS"]:
        delay = min(config["SMS_RETRY_BASE_SECONDS"] * 2 ** (attempts - 1), config["SMS_RETRY_MAX_SECONDS"])
        delay = max(delay * random.uniform(0.8, 1.2), failure.retry_after or 0)
        with engine.begin() as conn:
            changed = conn.execute(sa.update(D).where(where).values(
                status=DeliveryStatus.queued.value, next_attempt_at=now + timedelta(seconds=delay), updated_at=now,
                error_code=failure.code, error_message=failure.message[:300])).rowcount
        if changed:
            queue.wrapper("messaging.send_batch").schedule(args=([delivery_id],), delay=delay)
        return
    status = {"invalid": DeliveryStatus.invalid, "opted_out": DeliveryStatus.opted_out}.get(
        failure.kind, DeliveryStatus.failed)
    with engine.begin() as conn:
        conn.execute(sa.update(D).where(where).values(
            status=status.value, failed_at=now, updated_at=now, error_code=failure.code,
            error_message=failure.message[:300]))
        if status == DeliveryStatus.opted_out:
            exists = conn.execute(sa.select(OptOut.mobile).where(OptOut.mobile == phone)).first()
            if exists is None:
                conn.execute(sa.insert(OptOut.__table__).values(
                    mobile=phone, opted_out_at=now, source="provider", detail=f"error {failure.code}"))


# --- reconciliation and sweeps ----------------------------------------------------------

def reconcile(delivery_id: int) -> str:
    """A delivery stuck in ``sending``: ask the provider whether it took the message.

    Not while the process that claimed it still runs on this host: its request may be waiting
    for the pool, on the wire, or answered and waiting for the batch to be recorded; asking
    the provider then could find nothing and send a second message (the sweep asks again).
    Every write is conditional on the attempt's claim token, so two reconciliations of the
    same delivery, or a reconciliation and a late sender, cannot both act.
    """
    delivery = db.session.get(Delivery, delivery_id)
    if delivery is None or delivery.status != DeliveryStatus.sending:
        return "nothing to do"
    token = delivery.sender
    if sender_alive(token):
        logger.info("delivery %s: its sender (%s) is still running; left to it", delivery_id, token)
        return "in flight"
    provider = get_provider()
    since = delivery.sending_at or delivery.created_at
    try:
        sids = provider.find_accepted(delivery.phone, delivery.campaign.body, since)
    except Exception as exc:  # noqa: BLE001 - the provider could not be asked; try again later
        logger.warning("delivery %s: provider could not be asked (%s)", delivery_id, exc)
        queue.wrapper("messaging.reconcile").schedule(args=(delivery_id,), delay=current_app.config["SMS_RECONCILE_DELAY"] * 2)
        return "provider unavailable"
    now = utcnow()
    this_attempt = sa.and_(D.c.id == delivery_id, D.c.status == DeliveryStatus.sending.value,
                           D.c.sender.is_(None) if token is None else D.c.sender == token)
    # The same text to the same number may belong to another delivery (two campaigns with one
    # body, a resend): the newest match no other delivery recorded is this one's.
    taken = set(db.session.scalars(sa.select(Delivery.provider_sid).where(
        Delivery.provider_sid.in_(sids), Delivery.id != delivery_id))) if sids else set()
    sid = next((s for s in sids if s not in taken), None)
    if sid is not None:
        changed = db.session.execute(sa.update(D).where(this_attempt).values(
            status=DeliveryStatus.sent.value, provider_sid=sid, sent_at=now, updated_at=now)).rowcount
        db.session.commit()
        if changed:
            logger.info("delivery %s: provider had accepted it as %s", delivery_id, sid)
        return "found"
    # The provider never took it: send again (this is not a duplicate). The attempt claimed for
    # it is given back: the worker died before the request (the claim counts it in advance),
    # or the request left no trace at the provider. ``attempts`` counts what the provider saw.
    changed = db.session.execute(
        sa.update(D).where(this_attempt)
        .values(status=DeliveryStatus.queued.value, next_attempt_at=None, updated_at=now, sender=None,
                attempts=sa.case((D.c.attempts > 0, D.c.attempts - 1), else_=0))).rowcount
    db.session.commit()
    if changed:
        queue.enqueue("messaging.send_batch", [delivery_id])
    return "requeued"


def sweep(now: datetime | None = None) -> dict[str, int]:
    """Find work that lost its task (worker killed, queue flushed) and enqueue it again."""
    now = now or utcnow()
    config = current_app.config
    found = {"reconcile": 0, "requeue": 0, "fan_out": 0, "poll": 0}
    # A live sender's deliveries are its own, however long they take (see reconcile).
    stuck_sending = [row.id for row in db.session.execute(sa.select(Delivery.id, Delivery.sender).where(
        Delivery.status == DeliveryStatus.sending,
        Delivery.sending_at < now - timedelta(seconds=config["SMS_STUCK_SECONDS"])).limit(5000))
        if not sender_alive(row.sender)]
    for delivery_id in stuck_sending:
        queue.enqueue("messaging.reconcile", delivery_id)
    found["reconcile"] = len(stuck_sending)
    lost = db.session.scalars(sa.select(Delivery.id).where(
        Delivery.status == DeliveryStatus.queued,
        sa.func.coalesce(Delivery.next_attempt_at, Delivery.queued_at) < now - timedelta(
            seconds=config["SMS_STUCK_SECONDS"])).limit(5000)).all()
    for start in range(0, len(lost), config["SMS_BATCH_SIZE"]):
        queue.enqueue("messaging.send_batch", lost[start:start + config["SMS_BATCH_SIZE"]])
    found["requeue"] = len(lost)
    stalled = db.session.scalars(sa.select(Campaign.id).where(
        Campaign.status == CampaignStatus.sending,
        Campaign.released_at < now - timedelta(seconds=config["SMS_STUCK_SECONDS"]))).all()
    for campaign_id in stalled:
        campaign = db.session.get(Campaign, campaign_id)
        pending = db.session.scalar(sa.select(sa.func.count()).where(
            Delivery.campaign_id == campaign_id, Delivery.status == DeliveryStatus.pending))
        if campaign.fanned_out_at is None or pending:
            queue.enqueue("messaging.fan_out", campaign_id)  # idempotent: recipients already written are skipped
            found["fan_out"] += 1
    finish_campaigns(stalled)
    return found


def status_window(now: datetime | None = None) -> datetime:
    """Messages sent before this are past their status window: no report is awaited any more."""
    return (now or utcnow()) - timedelta(hours=current_app.config["SMS_STATUS_WINDOW_HOURS"])


def awaiting_report(now: datetime | None = None) -> sa.ColumnElement[bool]:
    """Sent deliveries whose final status may still come (callback or poll). The console
    provider reports nothing after ``sent``: its messages await nothing."""
    return sa.and_(Delivery.status == DeliveryStatus.sent, Delivery.provider != ConsoleProvider.name,
                   sa.or_(Delivery.sent_at.is_(None), Delivery.sent_at > status_window(now)))


def finish_campaigns(campaign_ids: Iterable[int]) -> None:
    """A sending campaign is done when its fan-out finished and every delivery is final, or
    sent and past its status window (the campaign page says how many never reported)."""
    for campaign_id in set(campaign_ids):
        open_ = db.session.scalar(sa.select(sa.func.count()).where(
            Delivery.campaign_id == campaign_id, sa.or_(Delivery.status.in_(list(IN_FLIGHT)), awaiting_report())))
        if open_ == 0:
            db.session.execute(sa.update(Campaign).where(
                Campaign.id == campaign_id, Campaign.status == CampaignStatus.sending,
                Campaign.fanned_out_at.is_not(None))
                .values(status=CampaignStatus.done, finished_at=utcnow()))
    db.session.commit()


# --- status callbacks -------------------------------------------------------------------

PROVIDER_STATUS = {
    "accepted": DeliveryStatus.sent, "queued": DeliveryStatus.sent, "sending": DeliveryStatus.sent,
    "sent": DeliveryStatus.sent, "delivered": DeliveryStatus.delivered, "read": DeliveryStatus.delivered,
    "undelivered": DeliveryStatus.undelivered, "failed": DeliveryStatus.failed,
}


_BEFORE_SENT = (DeliveryStatus.pending, DeliveryStatus.queued, DeliveryStatus.sending)
#: The statuses a provider report may move a delivery from: forward only, never back.
MAY_BECOME = {
    DeliveryStatus.sent: _BEFORE_SENT,
    DeliveryStatus.undelivered: (*_BEFORE_SENT, DeliveryStatus.sent),
    DeliveryStatus.failed: (*_BEFORE_SENT, DeliveryStatus.sent),
    DeliveryStatus.delivered: (*_BEFORE_SENT, DeliveryStatus.sent, DeliveryStatus.undelivered,
                               DeliveryStatus.failed),
}


def apply_provider_status(delivery_id: int | None, sid: str, provider_status: str,
                          error_code: str | None = None) -> bool:
    """Record a status the provider reported; never moves a delivery backwards. Idempotent."""
    new = PROVIDER_STATUS.get((provider_status or "").lower())
    if new is None or not sid:
        return False
    lower = [s.value for s in MAY_BECOME[new]]
    now = utcnow()
    values: dict[str, Any] = {"status": new.value, "updated_at": now}
    if new == DeliveryStatus.delivered:
        values["delivered_at"] = now
    elif new in (DeliveryStatus.undelivered, DeliveryStatus.failed):
        values.update(failed_at=now, error_code=error_code, error_message=f"provider reported {provider_status}")
    which = D.c.id == delivery_id if delivery_id else D.c.provider_sid == sid
    row = db.session.execute(sa.select(D.c.id, D.c.provider_sid, D.c.sent_at).where(which)).first()
    if row is None or (row.provider_sid and row.provider_sid != sid):
        return False
    if row.provider_sid is None:
        values["provider_sid"] = sid
    if row.sent_at is None:
        values["sent_at"] = now
    changed = db.session.execute(sa.update(D).where(D.c.id == row.id, D.c.status.in_(lower)).values(**values)).rowcount
    if error_code == "21610":
        phone = db.session.scalar(sa.select(D.c.phone).where(D.c.id == row.id))
        contacts.opt_out(None, phone, "provider", "error 21610")
    db.session.commit()
    return bool(changed)


def poll_status(delivery_id: int) -> bool:
    """Ask the provider for the status of a sent message whose callback never came."""
    delivery = db.session.get(Delivery, delivery_id)
    if delivery is None or delivery.status != DeliveryStatus.sent or not delivery.provider_sid:
        return False
    provider = get_provider()
    if provider.simulated:
        return False
    status, error_code = provider.fetch_status(delivery.provider_sid)
    db.session.execute(sa.update(D).where(D.c.id == delivery_id).values(updated_at=utcnow()))
    db.session.commit()
    return apply_provider_status(delivery_id, delivery.provider_sid, status, error_code)


def poll_silent(now: datetime | None = None, limit: int = 500) -> int:
    """Enqueue status polls for twilio messages sent long ago with no final report."""
    now = now or utcnow()
    quiet_for = timedelta(minutes=current_app.config["SMS_STATUS_POLL_MINUTES"])
    ids = db.session.scalars(sa.select(Delivery.id).where(
        Delivery.status == DeliveryStatus.sent, Delivery.provider == "twilio",
        Delivery.updated_at < now - quiet_for, Delivery.sent_at > status_window(now)).limit(limit)).all()
    for delivery_id in ids:
        queue.enqueue("messaging.poll_status", delivery_id)
    return len(ids)
