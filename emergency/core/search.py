"""Free-text search in lists: what the user typed is matched literally, case-insensitively.

Every ``q`` filter goes through ``matches`` so that ``%``, ``_`` and ``\\`` are characters to
find, not LIKE wildcards (``q=%`` finds names containing a percent sign, not everything).
"""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa

ESCAPE = "\\"


def like_pattern(text: str, *, upper: bool = False) -> str:
    """``%text%`` with the LIKE wildcards in ``text`` escaped (by ``ESCAPE``)."""
    escaped = text.replace(ESCAPE, ESCAPE * 2).replace("%", ESCAPE + "%").replace("_", ESCAPE + "_")
    return f"%{escaped.upper() if upper else escaped}%"


def matches(text: str, *columns: Any) -> sa.ColumnElement[bool]:
    """Any of ``columns`` contains ``text`` literally (ILIKE: case-insensitive for Latin letters)."""
    pattern = like_pattern(text)
    return sa.or_(*[column.ilike(pattern, escape=ESCAPE) for column in columns])
