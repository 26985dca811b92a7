"""Pages: drill dashboard (filled in by its own change)."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("drill_dashboard", __name__)
