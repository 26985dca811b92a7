"""/api/v1: drill records, their evaluations, corrective actions and spot checks (filled in by its own change)."""
from __future__ import annotations

from flask_smorest import Blueprint

blp = Blueprint("drills_api", __name__, url_prefix="/api/v1", description="Drill records, their evaluations, corrective actions and spot checks")
