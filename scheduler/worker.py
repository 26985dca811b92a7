"""Entry point of the worker: ``huey_consumer scheduler.worker.huey -k thread -w 4``.

The worker's Flask app is built here, at start (so that the first task does not pay for it),
and its queue — with every domain's tasks registered — is what the consumer runs.
"""
import logging

from emergency.core.queue import app_queue

from scheduler.context import process_app

# huey_consumer gives its own logger a handler; the app's lines go to the root logger,
# configured once here, so no line is printed twice.
logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
logging.getLogger("huey").propagate = False
for _noisy in ("twilio.http_client",):
    logging.getLogger(_noisy).setLevel(logging.WARNING)

huey = app_queue(process_app()).huey

__all__ = ["huey"]
