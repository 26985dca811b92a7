"""Pages: drill records (filled in by its own change)."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("drill_records", __name__)
