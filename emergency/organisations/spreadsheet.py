"""Excel import and export of enterprises, with Chinese column headers.

Import is all-or-nothing: every row is validated through ``EnterpriseInput`` first; if any row
has an error, nothing is written and every bad row is reported with its column and reason.
The export uses the same columns, so an exported sheet can be edited and imported elsewhere.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import IO, Any

import sqlalchemy as sa
from flask_babel import gettext as _
from marshmallow import ValidationError

from emergency.core.extensions import db
from emergency.core.sheets import Column, ImportRejected, RowError, Sheet
from emergency.organisations import industries
from emergency.organisations.models import Enterprise, Jurisdiction, Township
from emergency.organisations.schemas import EnterpriseInput

__all__ = ["ImportRejected", "RowError", "SHEET", "export_workbook", "parse_rows", "template_workbook"]

SHEET = Sheet("企业", (
    Column("name", "企业名称", "示范县某某化工有限公司", required=True),
    Column("credit_code", "统一社会信用代码", "91330100MA27XK1234", required=True),
    Column("industry", "行业", "危险化学品生产经营储存运输", required=True),
    Column("scale", "规模", "中型", required=True),
    Column("township", "乡镇/街道", "城关镇", required=True),
    Column("address", "地址", "城关镇工业园区1号"),
    Column("longitude", "经度", "120.123456"),
    Column("latitude", "纬度", "30.123456"),
    Column("legal_representative", "法定代表人", "张三"),
    Column("principal_name", "主要负责人", "张三", required=True),
    Column("principal_mobile", "主要负责人手机", "13800138000", required=True),
    Column("safety_manager_name", "安全管理人员", "李四", required=True),
    Column("safety_manager_mobile", "安全管理人员手机", "13900139000", required=True),
))


def template_workbook() -> bytes:
    """An empty sheet with the headers, one example row and a sheet of allowed values."""
    help_rows = [
        ["统一社会信用代码", "18位，按 GB 32100-2015 校验最后一位校验码"],
        ["规模", "大型 / 中型 / 小型 / 微型"],
        ["乡镇/街道", "须为系统中已登记的乡镇/街道名称"],
        ["手机", "中国大陆手机号，如 13800138000 或 +8613800138000"],
        ["经度/纬度", "可留空；填写时两项都要填"],
        [],
        ["行业（可选值）", "高危行业 / 人员密集场所"],
    ]
    for industry in industries.INDUSTRIES:
        flag = "高危行业" if industry.high_risk else ("人员密集场所" if industry.crowded_place else "")
        help_rows.append([industry.name_zh, flag])
    return SHEET.template(help_rows)


def export_workbook(enterprises: Iterable[Enterprise]) -> bytes:
    return SHEET.export({
        "name": enterprise.name,
        "credit_code": enterprise.credit_code,
        "industry": enterprise.industry_info.name_zh,
        "scale": industries.SCALE_ZH.get(enterprise.scale, enterprise.scale),
        "township": enterprise.township.name,
        "address": enterprise.address,
        "longitude": str(enterprise.longitude) if enterprise.longitude is not None else "",
        "latitude": str(enterprise.latitude) if enterprise.latitude is not None else "",
        "legal_representative": enterprise.legal_representative,
        "principal_name": enterprise.principal_name,
        "principal_mobile": enterprise.principal_mobile,
        "safety_manager_name": enterprise.safety_manager_name,
        "safety_manager_mobile": enterprise.safety_manager_mobile,
    } for enterprise in enterprises)


def parse_rows(stream: IO[bytes], jurisdiction: Jurisdiction) -> list[tuple[int, dict[str, Any]]]:
    """Read the sheet into validated ``EnterpriseInput`` data, or raise ImportRejected."""
    rows = SHEET.read(stream)
    townships = {t.name: t.id for t in db.session.scalars(
        sa.select(Township).where(Township.jurisdiction_id == jurisdiction.id))}
    errors: list[RowError] = []
    parsed: list[tuple[int, dict[str, Any]]] = []
    seen_codes: dict[str, int] = {}
    schema = EnterpriseInput()
    for row_number, cells in rows:
        data: dict[str, Any] = {}
        row_errors: list[RowError] = []
        for field, value in cells.items():
            if value == "":
                continue
            header = SHEET.header(field)
            if field == "industry":
                industry = industries.BY_NAME_ZH.get(value) or industries.BY_CODE.get(value)
                if industry is None:
                    row_errors.append(RowError(row_number, header, _("Not in the industry catalogue.")))
                else:
                    data["industry"] = industry.code
            elif field == "scale":
                code = industries.SCALE_BY_ZH.get(value) or industries.SCALE_BY_ZH.get(value + "型")
                if code is None and value in industries.SCALE_CODES:
                    code = value
                if code is None:
                    row_errors.append(RowError(row_number, header, _("Must be 大型, 中型, 小型 or 微型.")))
                else:
                    data["scale"] = code
            elif field == "township":
                if value not in townships:
                    row_errors.append(RowError(row_number, header, _("No township of this name is registered.")))
                else:
                    data["township_id"] = townships[value]
            else:
                data[field] = value
        try:
            loaded = schema.load(data)
        except ValidationError as exc:
            row_errors.extend(SHEET.schema_errors(row_number, exc, skip={e.column for e in row_errors},
                                                  field_columns={"township_id": "township"}))
            loaded = None
        if loaded is not None:
            code = loaded["credit_code"]
            if code in seen_codes:
                row_errors.append(RowError(row_number, SHEET.header("credit_code"),
                                           _("Same credit code as row %(row)s.", row=seen_codes[code])))
            else:
                seen_codes[code] = row_number
        if row_errors:
            errors.extend(row_errors)
        elif loaded is not None:
            parsed.append((row_number, loaded))

    existing = set(db.session.scalars(
        sa.select(Enterprise.credit_code).where(Enterprise.credit_code.in_(list(seen_codes)))
    )) if seen_codes else set()
    for row_number, loaded in parsed:
        if loaded["credit_code"] in existing:
            errors.append(RowError(row_number, SHEET.header("credit_code"),
                                   _("Another enterprise already has this credit code.")))
    if errors:
        raise SHEET.rejected(errors)
    return parsed
