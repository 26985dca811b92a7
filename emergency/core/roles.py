"""The roles every access check speaks of (users carry one; ``emergency.auth`` keeps the users)."""
from __future__ import annotations

import enum

from flask_babel import lazy_gettext as _l


class Role(str, enum.Enum):
    """What a user may do. Officers see every enterprise of the county."""

    admin = "admin"
    officer = "officer"
    viewer = "viewer"
    enterprise = "enterprise"

    @property
    def label(self) -> str:
        return str(ROLE_LABELS[self])


ROLE_LABELS = {
    Role.admin: _l("Administrator"),
    Role.officer: _l("Duty officer"),
    Role.viewer: _l("Viewer (read-only officer)"),
    Role.enterprise: _l("Enterprise user"),
}
