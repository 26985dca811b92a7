"""What messaging does when other domains change: an enterprise's register contacts follow it."""
from __future__ import annotations

from emergency.core.signals import enterprise_saved
from emergency.messaging.contacts import sync_enterprise_contacts


@enterprise_saved.connect
def _sync_contacts(actor, enterprise, **_extra) -> None:
    """The principal's and safety manager's contacts follow the enterprise register."""
    sync_enterprise_contacts(actor, enterprise)
