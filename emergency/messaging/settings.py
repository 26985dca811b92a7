"""County settings stored in the database and changed by an admin (audited)."""
from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from typing import Any

from emergency.audit import operations as audit
from emergency.core.extensions import db
from emergency.core.timeutil import SHANGHAI
from emergency.messaging.models import Setting

DEFAULTS: dict[str, Any] = {
    #: Urgent campaigns need an approver other than the author.
    "two_person_approval": False,
    #: Normal messages wait out these hours (Asia/Shanghai), "HH:MM-HH:MM".
    "quiet_hours": "22:00-07:00",
}
_QUIET = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$")


def get(key: str) -> Any:
    row = db.session.get(Setting, key)
    return DEFAULTS[key] if row is None else row.value


def put(actor, key: str, value: Any) -> None:
    if key not in DEFAULTS:
        raise KeyError(key)
    old = get(key)
    if old == value:
        return
    row = db.session.get(Setting, key)
    if row is None:
        db.session.add(Setting(key=key, value=value))
    else:
        row.value = value
    audit.record(actor, "update", "setting", None, summary=key, changes={key: [old, value]})
    db.session.flush()


def parse_quiet_hours(text: str) -> tuple[time, time] | None:
    """``"22:00-07:00"`` → (22:00, 07:00); empty → None (no quiet hours)."""
    if not text:
        return None
    match = _QUIET.match(text.strip())
    if not match:
        raise ValueError(text)
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    return time(h1, m1), time(h2, m2)


def quiet_until(moment: datetime, quiet: tuple[time, time] | None) -> datetime | None:
    """If ``moment`` falls in quiet hours, the UTC time they end; else None."""
    if quiet is None:
        return None
    start, end = quiet
    local = moment.astimezone(SHANGHAI)
    now_t = local.time()
    if start == end:
        return None
    if start < end:
        inside = start <= now_t < end
        end_day = local.date()
    else:  # spans midnight, e.g. 22:00-07:00
        inside = now_t >= start or now_t < end
        end_day = local.date() + timedelta(days=1) if now_t >= start else local.date()
    if not inside:
        return None
    return datetime.combine(end_day, end, tzinfo=SHANGHAI).astimezone(moment.tzinfo)
