"""The organisations domain (see emergency.core.module for what its module names)."""

from emergency.core.module import Module

module = Module(
    "organisations",
    models=("emergency.organisations.models",),
    views=("emergency.organisations.views",),
    api=("emergency.organisations.api",),
)
