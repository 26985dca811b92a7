"""The audit domain (see emergency.core.module for what its module names)."""

from emergency.core.module import Module

module = Module(
    "audit",
    models=("emergency.audit.models",),
    views=("emergency.audit.views",),
    api=("emergency.audit.api",),
)
