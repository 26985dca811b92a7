"""Messaging tasks: fan-out, sending, reconciliation. All idempotent, all take ids."""
from __future__ import annotations

from emergency.core.queue import task
from emergency.messaging import delivery


@task("messaging.fan_out", retries=3, retry_delay=10)
def fan_out(campaign_id: int) -> int:
    return delivery.fan_out(campaign_id)


@task("messaging.send_batch")
def send_batch(delivery_ids: list[int]) -> None:
    delivery.send_batch(delivery_ids)


@task("messaging.reconcile")
def reconcile(delivery_id: int) -> str:
    return delivery.reconcile(delivery_id)


@task("messaging.poll_status")
def poll_status(delivery_id: int) -> bool:
    return delivery.poll_status(delivery_id)
