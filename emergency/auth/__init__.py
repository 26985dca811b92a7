"""The auth domain (see emergency.core.module for what its module names)."""

from emergency.core.module import Module

module = Module(
    "auth",
    models=("emergency.auth.models",),
    views=("emergency.auth.views",),
    api=("emergency.auth.api",),
    init=("emergency.auth.views:init_login", "emergency.auth.operations:init_app"),
)
