"""The county register: jurisdiction, townships and enterprises."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import get_locale
from sqlalchemy.orm import Mapped, mapped_column, relationship

from emergency.core.extensions import db
from emergency.core.timeutil import UTCDateTime, utcnow
from emergency.organisations import industries


class Jurisdiction(db.Model):
    """The county (or district) whose bureau runs this system."""

    __tablename__ = "jurisdiction"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Name of the county, e.g. 示范县.
    name: Mapped[str] = mapped_column(sa.String(100))
    #: Six-digit administrative division code (GB/T 2260), used in filing numbers.
    area_code: Mapped[str] = mapped_column(sa.String(6), unique=True)
    #: The bureau that receives filings, e.g. 示范县应急管理局.
    bureau_name: Mapped[str] = mapped_column(sa.String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    townships: Mapped[list[Township]] = relationship(back_populates="jurisdiction", order_by="Township.name")


class Township(db.Model):
    """A township or sub-district (乡镇/街道) of the county."""

    __tablename__ = "township"
    __table_args__ = (sa.UniqueConstraint("jurisdiction_id", "name", name="uq_township_jurisdiction_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    jurisdiction_id: Mapped[int] = mapped_column(sa.ForeignKey("jurisdiction.id"), index=True)
    #: Name, e.g. 城关镇 or 东城街道.
    name: Mapped[str] = mapped_column(sa.String(100))
    #: Nine-digit township code (乡级区划代码), optional.
    code: Mapped[str | None] = mapped_column(sa.String(12))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    jurisdiction: Mapped[Jurisdiction] = relationship(back_populates="townships")

    def __str__(self) -> str:
        return self.name


class Enterprise(db.Model):
    """A production or business unit (生产经营单位) supervised by the bureau."""

    __tablename__ = "enterprise"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Registered name.
    name: Mapped[str] = mapped_column(sa.String(200), index=True)
    #: Unified social credit code, 18 characters with a valid check character.
    credit_code: Mapped[str] = mapped_column(sa.String(18), unique=True)
    #: Code from the industry catalogue (``industries.INDUSTRIES``).
    industry: Mapped[str] = mapped_column(sa.String(40), index=True)
    #: large / medium / small / micro.
    scale: Mapped[str] = mapped_column(sa.String(10), index=True)
    township_id: Mapped[int] = mapped_column(sa.ForeignKey("township.id"), index=True)
    address: Mapped[str] = mapped_column(sa.String(300), default="")
    #: WGS-84 coordinates, optional.
    latitude: Mapped[Decimal | None] = mapped_column(sa.Numeric(9, 6))
    longitude: Mapped[Decimal | None] = mapped_column(sa.Numeric(9, 6))
    #: Legal representative (法定代表人), printed on filing forms.
    legal_representative: Mapped[str] = mapped_column(sa.String(50), default="")
    #: Principal (主要负责人) and their mobile in E.164.
    principal_name: Mapped[str] = mapped_column(sa.String(50))
    principal_mobile: Mapped[str] = mapped_column(sa.String(20))
    #: Safety manager (安全管理人员) and their mobile in E.164.
    safety_manager_name: Mapped[str] = mapped_column(sa.String(50))
    safety_manager_mobile: Mapped[str] = mapped_column(sa.String(20))
    #: Disabled enterprises (closed, moved away) stay for the record but leave the lists.
    active: Mapped[bool] = mapped_column(default=True, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    township: Mapped[Township] = relationship()

    @property
    def industry_info(self) -> industries.Industry:
        return industries.BY_CODE.get(self.industry, industries.BY_CODE["other"])

    @property
    def industry_label(self) -> str:
        return self.industry_info.label(str(get_locale() or "zh_CN"))

    @property
    def scale_label(self) -> str:
        return str(industries.SCALE_LABEL.get(self.scale, self.scale))

    @property
    def high_risk(self) -> bool:
        return self.industry_info.high_risk

    @property
    def crowded_place(self) -> bool:
        return self.industry_info.crowded_place

    def __str__(self) -> str:
        return self.name
