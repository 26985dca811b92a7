"""Pages: drill calendar (filled in by its own change)."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("drill_calendar", __name__)
