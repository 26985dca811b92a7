"""The messaging domain (see emergency.core.module for what its module names)."""

from emergency.core.module import Module

module = Module(
    "messaging",
    models=("emergency.messaging.models",),
    views=("emergency.messaging.views", "emergency.messaging.webhooks"),
    csrf_exempt=("emergency.messaging.webhooks",),
    api=("emergency.messaging.api",),
    tasks=("emergency.messaging.tasks",),
    jobs=("emergency.messaging.jobs",),
    handlers=("emergency.messaging.handlers",),
)
