"""/api/v1: drill cycles and their occurrences."""
from __future__ import annotations

from flask_smorest import Blueprint

blp = Blueprint("drill_cycles_api", __name__, url_prefix="/api/v1",
                description="Drill cycles (presets and custom recurrences) and occurrences with their status")
