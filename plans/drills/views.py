"""Pages of drill cycles and occurrences."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("drills", __name__)
