"""Calendar overrides: days off and worked weekends that an admin enters from the official notice."""
from __future__ import annotations

import enum
from datetime import date, datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from emergency.auth.models import User
from emergency.core.extensions import db
from emergency.core.timeutil import UTCDateTime, utcnow


class DayKind(str, enum.Enum):
    """What an override makes of its date."""

    #: A day off (放假), usually a weekday; weekend days inside a holiday range may carry it too.
    holiday = "holiday"
    #: A weekend day that is worked (调休上班).
    workday = "workday"

    @property
    def label(self) -> str:
        return str(DAY_KIND_LABELS[self])


DAY_KIND_LABELS = {
    DayKind.holiday: _l("Day off"),
    DayKind.workday: _l("Worked weekend day"),
}


class CalendarDay(db.Model):
    """One date whose working status the admin has fixed; it always wins over the package."""

    __tablename__ = "calendar_day"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The date concerned (local, Asia/Shanghai); one entry per date.
    day: Mapped[date] = mapped_column(sa.Date, unique=True)
    #: holiday (a day off) or workday (a weekend day worked).
    kind: Mapped[DayKind] = mapped_column(sa.Enum(DayKind, native_enum=False, length=10, validate_strings=True))
    #: The holiday's name as the State Council notice gives it, e.g. 国庆节 or 春节调休.
    name: Mapped[str] = mapped_column(sa.String(50), default="")
    #: The admin who entered it (NULL when entered by the CLI).
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    created_by: Mapped[User | None] = relationship()

    @property
    def working(self) -> bool:
        return self.kind == DayKind.workday

    def __str__(self) -> str:
        return f"{self.day.isoformat()} {self.name}".strip()


class CalendarYear(db.Model):
    """A year whose holiday notice the admin has entered completely (通知已全部录入).

    A year is confirmed when chinese-calendar covers it or when it has a row here with
    ``complete`` set. Until then its deadlines are provisional (暂定): counted on ordinary
    weekends plus whatever entries exist, and recomputed once the year is confirmed.
    """

    __tablename__ = "calendar_year"

    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    complete: Mapped[bool] = mapped_column(default=False)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    completed_by: Mapped[User | None] = relationship()
