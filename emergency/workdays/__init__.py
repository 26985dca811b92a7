"""The Chinese working-day calendar: chinese-calendar plus admin-maintained overrides.

Other modules call the functions of ``emergency.workdays.calendar``.
"""

from emergency.core.module import Module

module = Module(
    "workdays",
    models=("emergency.workdays.models",),
    views=("emergency.workdays.views",),
    api=("emergency.workdays.api",),
    cli=("emergency.workdays.cli",),
)
