"""The Chinese working-day calendar: chinese-calendar plus admin-maintained overrides.

Other modules call the functions of ``emergency.workdays.calendar``.
"""
