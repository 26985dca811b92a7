"""SMS delivery with the real pieces: a real Huey consumer process (SQLite queue, or Redis with
TEST_REDIS_URL), the real twilio client against the local Twilio-compatible server, signed
status callbacks into the app served on a local port. Workers are killed with SIGKILL."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from emergency.core.extensions import db
from emergency.messaging import campaigns as campaign_ops
from emergency.messaging import delivery
from emergency.messaging.models import FINAL, Campaign, Delivery, DeliveryStatus, OptOut

from .browser import live_server
from .processes import kill, process_env, start_worker, wait_for
from tests.fakes.twilio.simulator import TwilioSimulator

BODY = "【测试县应急管理局】暴雨橙色预警：请立即检查尾矿库排洪设施，人员撤离危险区域。"
ACCEPTED = {DeliveryStatus.sent, DeliveryStatus.delivered}


@pytest.fixture
def sim():
    with TwilioSimulator(latency=0.002) as simulator:
        yield simulator


@pytest.fixture
def stack(app, sim, real_queue, tmp_path):
    """The app served locally (for callbacks) and configured to send through the simulator."""
    with live_server(app) as base_url:
        app.config.update(
            SMS_PROVIDER="twilio", TWILIO_ACCOUNT_SID=sim.account_sid, TWILIO_AUTH_TOKEN=sim.auth_token,
            TWILIO_FROM="+15005550006", TWILIO_API_BASE_URL=sim.url, PUBLIC_BASE_URL=base_url,
            SMS_RETRY_BASE_SECONDS=0.05, SMS_RETRY_MAX_SECONDS=0.5, SMS_RECONCILE_DELAY=0.5,
            # Reconciliation leaves a live sender's deliveries to it, whatever their age; this
            # only has to cover a dead worker's last requests reaching the simulator.
            SMS_STUCK_SECONDS=3, SMS_MAX_ATTEMPTS=12,
        )
        workers = []

        def worker(threads: int = 4):
            process = start_worker(process_env(app), tmp_path / f"worker{len(workers)}.log", threads)
            workers.append(process)
            return process

        yield worker
        for process in workers:
            kill(process)


def sending(campaign_id: int) -> dict[str, Delivery]:
    db.session.rollback()
    return {d.phone: d for d in db.session.scalars(sa.select(Delivery).where(
        Delivery.campaign_id == campaign_id, Delivery.status == DeliveryStatus.sending))}


def phones(n: int, start: int = 0) -> list[str]:
    return [f"+86138{i:08d}" for i in range(start, start + n)]


def send(numbers: list[str], **overrides) -> int:
    data = {"kind": "warning", "title": "暴雨橙色预警", "body": BODY, "priority": "urgent", "phones": numbers}
    data.update(overrides)
    campaign = campaign_ops.create_campaign(None, data)
    db.session.commit()  # releases it: the fan-out goes to the worker's queue
    return campaign.id


def statuses(campaign_id: int) -> dict[str, DeliveryStatus]:
    db.session.rollback()  # a fresh snapshot: the worker writes in its own transactions
    return dict(db.session.execute(
        sa.select(Delivery.phone, Delivery.status).where(Delivery.campaign_id == campaign_id)).all())


def attempts(campaign_id: int) -> int:
    db.session.rollback()
    return db.session.scalar(sa.select(sa.func.sum(Delivery.attempts)).where(Delivery.campaign_id == campaign_id))


def reported(campaign_id: int, expected: int, sweep: bool = False):
    """Every delivery final (the simulator reports each message delivered) and the campaign done."""
    def check():
        if sweep:
            db.session.rollback()
            delivery.sweep()
        found = statuses(campaign_id)
        campaign = db.session.get(Campaign, campaign_id)
        return (len(found) == expected and all(s in FINAL for s in found.values())
                and campaign.status.value == "done" and found)
    return check


def settled(campaign_id: int, expected: int, sweep: bool = False):
    def check():
        if sweep:
            db.session.rollback()
            delivery.sweep()
        found = statuses(campaign_id)
        return len(found) == expected and not any(s in delivery.IN_FLIGHT for s in found.values()) and found
    return check


def test_a_flaky_provider_still_gets_every_message_exactly_once(stack, sim):
    sim.set_failure_rate(1 / 3, choices=((429, 20429), (500, None), (503, None)), seed=7)
    stack()
    numbers = phones(300)
    campaign_id = send(numbers)
    final = wait_for(settled(campaign_id, 300), 90, interval=0.5, what="every delivery to settle")
    assert set(final.values()) <= ACCEPTED
    assert sim.count_by_to() == {number: 1 for number in numbers}
    assert attempts(campaign_id) == sim.create_requests  # one attempt per request the provider saw
    db.session.rollback()
    retried = db.session.scalar(sa.select(sa.func.count()).where(
        Delivery.campaign_id == campaign_id, Delivery.attempts > 1))
    assert retried > 50  # a third of first attempts failed and were retried


def test_killing_the_worker_mid_fan_out_loses_and_repeats_nothing(stack, sim):
    sim.latency = 0.02
    first = stack()
    numbers = phones(2000, start=10_000)
    campaign_id = send(numbers)
    wait_for(lambda: len(sim.messages) >= 300, 60, what="sending to be under way")
    kill(first)  # SIGKILL: whatever it held in flight is abandoned
    db.session.rollback()
    in_flight = db.session.scalar(sa.select(sa.func.count()).where(
        Delivery.campaign_id == campaign_id, Delivery.status.in_(list(delivery.IN_FLIGHT))))
    assert 0 < len(sim.messages) < 2000 and in_flight > 0
    stack()
    # The scheduler's sweep finds what the dead worker held and enqueues it again; the campaign
    # is done once every delivery is final (the simulator reports each one delivered).
    final = wait_for(reported(campaign_id, 2000, sweep=True), 180, interval=1, what="recovery after SIGKILL")
    assert set(final.values()) == {DeliveryStatus.delivered}
    counts = sim.count_by_to()
    assert len(counts) == 2000
    assert [n for n, c in counts.items() if c != 1] == []
    # What the dead worker had claimed but not requested spent no attempt.
    assert attempts(campaign_id) == sim.create_requests == 2000


def test_a_dropped_connection_is_resolved_by_asking_the_provider(stack, sim):
    sim.drop_connection_next(5)
    stack(threads=2)
    numbers = phones(40, start=50_000)
    campaign_id = send(numbers)
    final = wait_for(settled(campaign_id, 40), 60, interval=0.5, what="deliveries to settle")
    assert set(final.values()) <= ACCEPTED
    assert sim.count_by_to() == {number: 1 for number in numbers}
    db.session.rollback()
    sids = dict(db.session.execute(sa.select(Delivery.phone, Delivery.provider_sid)
                                   .where(Delivery.campaign_id == campaign_id)).all())
    assert {m["to"]: m["sid"] for m in sim.messages} == sids
    assert attempts(campaign_id) == sim.create_requests == 40


def test_permanent_errors_callbacks_and_resend(stack, sim):
    invalid, landline, opted, unreachable, *fine = phones(8, start=70_000)
    sim.invalid_numbers.add(invalid)
    sim.landline_numbers.add(landline)
    sim.opted_out_numbers.add(opted)
    sim.final_status_for[unreachable] = ("undelivered", 30003)
    stack(threads=2)
    campaign_id = send([invalid, landline, opted, unreachable, *fine], ack_requested=True)
    wait_for(settled(campaign_id, 8), 60, interval=0.3, what="sending")
    assert sim.wait_for_callbacks(30)
    wait_for(lambda: statuses(campaign_id)[fine[0]] == DeliveryStatus.delivered, 30, what="callbacks")
    final = statuses(campaign_id)
    assert final[invalid] == final[landline] == DeliveryStatus.invalid
    assert final[opted] == DeliveryStatus.opted_out
    assert final[unreachable] == DeliveryStatus.undelivered
    assert {final[n] for n in fine} == {DeliveryStatus.delivered}
    assert all(r["http_status"] == 204 for r in sim.callback_results)  # every signature was accepted
    assert db.session.get(OptOut, opted).source == "provider"
    by_phone = {d.phone: d for d in db.session.scalars(sa.select(Delivery).where(Delivery.campaign_id == campaign_id))}
    assert by_phone[invalid].error_code == "21211" and by_phone[landline].error_code == "21614"
    assert by_phone[unreachable].error_code == "30003"

    follow_up = campaign_ops.resend_failed(None, db.session.get(Campaign, campaign_id))
    db.session.commit()
    again = wait_for(settled(follow_up.id, 1), 60, interval=0.3, what="the resend")
    assert list(again) == [unreachable]
    assert len(sim.messages_to(unreachable)) == 2
    assert len(sim.messages_to(invalid)) == 0 and len(sim.messages_to(opted)) == 0


def test_a_live_senders_deliveries_are_left_to_it_however_long_they_take(app, stack, sim):
    """Under load a batch can stay in ``sending`` past SMS_STUCK_SECONDS while its worker is
    alive: one message is still at the provider unanswered, the other waits for the sender
    pool. The sweep's reconciliation must not send either again (it used to: the provider had
    nothing yet, so both were requeued and each number got two messages)."""
    app.config["SMS_CONCURRENCY"] = 1  # the second message waits behind the first
    on_the_wire, in_the_pool = phones(2, start=80_000)
    hold = sim.hold_next_create(on_the_wire)
    worker = stack()
    campaign_id = send([on_the_wire, in_the_pool])
    assert hold.wait_arrived()
    claimed = wait_for(lambda: len(sending(campaign_id)) == 2 and sending(campaign_id), 30, what="the claim")
    assert {d.sender.rsplit(":", 2)[1] for d in claimed.values()} == {str(worker.pid)}
    # What the sweep enqueues for deliveries it finds stuck, run here to see its answer.
    assert [delivery.reconcile(d.id) for d in claimed.values()] == ["in flight", "in flight"]
    hold.release()
    wait_for(settled(campaign_id, 2), 60, interval=0.3, what="sending")
    assert sim.count_by_to() == {on_the_wire: 1, in_the_pool: 1}
    assert attempts(campaign_id) == sim.create_requests == 2


def test_a_killed_workers_message_still_queued_at_the_provider_is_found(app, stack, sim):
    """The worker died after its request reached the provider; the provider accepted it and
    holds it in its queue (no ``date_sent`` yet, as Twilio does). Reconciliation must find it
    and not send it again (a DateSent filter did not list it)."""
    sim.callbacks_enabled = False  # the message stays queued at the provider
    (number,) = phones(1, start=90_000)
    hold = sim.hold_next_create(number)
    campaign_id = send([number])
    first = stack()
    assert hold.wait_arrived()
    (held,) = wait_for(lambda: sending(campaign_id), 30, what="the claim").values()
    kill(first)
    hold.release()  # the provider finishes the request the dead worker made
    assert sim.wait_for_messages(1, timeout=30)
    assert delivery.reconcile(held.id) == "found"
    stack()
    final = wait_for(settled(campaign_id, 1, sweep=True), 60, interval=0.3, what="settling")
    assert final == {number: DeliveryStatus.sent}
    assert sim.count_by_to() == {number: 1}
    assert sending(campaign_id) == {}
