"""/api/v1: calendar feeds (ics) of drill occurrences (filled in by its own change)."""
from __future__ import annotations

from flask_smorest import Blueprint

blp = Blueprint("drill_feeds_api", __name__, url_prefix="/api/v1", description="Calendar feeds (ICS) of drill occurrences")
