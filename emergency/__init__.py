"""Emergency-plan and drill management for a county emergency-management bureau and its
enterprises. The factory is ``emergency.app.create_app``; the platform is ``emergency.core``;
the domains are listed in ``emergency.modules``."""
from __future__ import annotations

from typing import Any


def create_app(config: dict[str, Any] | None = None):
    """Build the application (see ``emergency.app.create_app``)."""
    # Imported here: this package's root runs on every ``emergency.*`` import and must stay free
    # of the whole app (the factory imports every domain).
    from emergency.app import create_app as build  # (see above)

    return build(config)
