"""Messaging tasks: fan-out, sending, reconciliation. All idempotent, all take ids."""
from __future__ import annotations

from emergency.messaging import delivery

from ..context import app_task


@app_task(retries=3, retry_delay=10)
def fan_out(campaign_id: int) -> int:
    return delivery.fan_out(campaign_id)


@app_task()
def send_batch(delivery_ids: list[int]) -> None:
    delivery.send_batch(delivery_ids)


@app_task()
def reconcile(delivery_id: int) -> str:
    return delivery.reconcile(delivery_id)


@app_task()
def poll_status(delivery_id: int) -> bool:
    return delivery.poll_status(delivery_id)
