"""Signals of the working-day calendar, for the domains whose clocks count its days.

``calendar_changed`` is sent (by ``operations``) whenever an entry is added, changed or
deleted, or a year is marked complete or reopened, with ``years``: the set of years concerned.
Filing and drills subscribe to recompute their open clocks; the calendar imports neither.
"""
from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

calendar_changed = _signals.signal("calendar-changed")
