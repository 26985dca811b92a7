"""Excel import and export of enterprises, with Chinese column headers.

Import is all-or-nothing: every row is validated through ``EnterpriseInput`` first; if any row
has an error, nothing is written and every bad row is reported with its column and reason.
The export uses the same columns, so an exported sheet can be edited and imported elsewhere.
"""
from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from typing import IO, Any

import sqlalchemy as sa
from flask_babel import gettext as _
from marshmallow import ValidationError
from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font, PatternFill
from openpyxl.utils.exceptions import InvalidFileException

from ..extensions import db
from ..validation import localise_errors
from . import industries
from .models import Enterprise, Jurisdiction, Township
from .schemas import EnterpriseInput

#: (field, Chinese header, example) in sheet order.
COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("name", "企业名称", "示范县某某化工有限公司"),
    ("credit_code", "统一社会信用代码", "91330100MA27XK1234"),
    ("industry", "行业", "危险化学品生产经营储存运输"),
    ("scale", "规模", "中型"),
    ("township", "乡镇/街道", "城关镇"),
    ("address", "地址", "城关镇工业园区1号"),
    ("longitude", "经度", "120.123456"),
    ("latitude", "纬度", "30.123456"),
    ("legal_representative", "法定代表人", "张三"),
    ("principal_name", "主要负责人", "张三"),
    ("principal_mobile", "主要负责人手机", "13800138000"),
    ("safety_manager_name", "安全管理人员", "李四"),
    ("safety_manager_mobile", "安全管理人员手机", "13900139000"),
)
HEADER_BY_FIELD = {field: header for field, header, _example in COLUMNS}
FIELD_BY_HEADER = {header: field for field, header, _example in COLUMNS}
REQUIRED_HEADERS = ("企业名称", "统一社会信用代码", "行业", "规模", "乡镇/街道",
                    "主要负责人", "主要负责人手机", "安全管理人员", "安全管理人员手机")
MAX_ROWS = 5000
_HEADER_FONT = Font(bold=True)
_HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")


@dataclass
class RowError:
    #: Row number as Excel shows it (the header is row 1).
    row: int
    #: Column header, or "" for errors about the whole row.
    column: str
    message: str


class ImportRejected(Exception):
    """The sheet has errors; nothing was imported."""

    def __init__(self, errors: list[RowError]):
        super().__init__(f"{len(errors)} errors")
        self.errors = errors


def _new_sheet() -> tuple[Workbook, Any]:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "企业"
    sheet.append([header for _field, header, _example in COLUMNS])
    for cell in sheet[1]:
        cell.font = _HEADER_FONT
        cell.fill = _HEADER_FILL
    for index, (_field, header, _example) in enumerate(COLUMNS):
        sheet.column_dimensions[chr(65 + index)].width = max(12, len(header) * 2 + 4)
    sheet.freeze_panes = "A2"
    return workbook, sheet


def _save(workbook: Workbook) -> bytes:
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def template_workbook() -> bytes:
    """An empty sheet with the headers, one example row and a sheet of allowed values."""
    workbook, sheet = _new_sheet()
    sheet.append([example for _field, _header, example in COLUMNS])
    help_sheet = workbook.create_sheet("填写说明")
    help_sheet.append(["列", "说明"])
    help_sheet.append(["统一社会信用代码", "18位，按 GB 32100-2015 校验最后一位校验码"])
    help_sheet.append(["规模", "大型 / 中型 / 小型 / 微型"])
    help_sheet.append(["乡镇/街道", "须为系统中已登记的乡镇/街道名称"])
    help_sheet.append(["手机", "中国大陆手机号，如 13800138000 或 +8613800138000"])
    help_sheet.append(["经度/纬度", "可留空；填写时两项都要填"])
    help_sheet.append([])
    help_sheet.append(["行业（可选值）", "高危行业 / 人员密集场所"])
    for industry in industries.INDUSTRIES:
        flag = "高危行业" if industry.high_risk else ("人员密集场所" if industry.crowded_place else "")
        help_sheet.append([industry.name_zh, flag])
    help_sheet.column_dimensions["A"].width = 32
    help_sheet.column_dimensions["B"].width = 50
    return _save(workbook)


def export_workbook(enterprises: Iterable[Enterprise]) -> bytes:
    workbook, sheet = _new_sheet()
    for enterprise in enterprises:
        values = {
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
        }
        sheet.append([values[field] for field, _header, _example in COLUMNS])
    return _save(workbook)


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def parse_rows(stream: IO[bytes], jurisdiction: Jurisdiction) -> list[tuple[int, dict[str, Any]]]:
    """Read the sheet into validated ``EnterpriseInput`` data, or raise ImportRejected."""
    try:
        workbook = load_workbook(stream, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise ImportRejected([RowError(0, "", _("The file is not an Excel workbook (.xlsx)."))]) from exc
    try:
        return _parse_sheet(workbook.worksheets[0], jurisdiction)
    finally:
        workbook.close()  # a read-only workbook keeps the file open until closed


def _parse_sheet(sheet: Any, jurisdiction: Jurisdiction) -> list[tuple[int, dict[str, Any]]]:
    rows = sheet.iter_rows(values_only=True)
    header_row = next(rows, None)
    if header_row is None:
        raise ImportRejected([RowError(1, "", _("The sheet is empty."))])
    headers = [_cell_text(h) for h in header_row]
    missing = [h for h in REQUIRED_HEADERS if h not in headers]
    if missing:
        raise ImportRejected([
            RowError(1, header, _("This column is missing from the header row.")) for header in missing
        ])
    townships = {t.name: t.id for t in db.session.scalars(
        sa.select(Township).where(Township.jurisdiction_id == jurisdiction.id))}

    errors: list[RowError] = []
    parsed: list[tuple[int, dict[str, Any]]] = []
    seen_codes: dict[str, int] = {}
    schema = EnterpriseInput()
    for row_number, row in enumerate(rows, start=2):
        cells = {headers[i]: _cell_text(v) for i, v in enumerate(row) if i < len(headers) and headers[i]}
        if not any(cells.values()):
            continue  # blank lines between data are harmless
        if len(parsed) + len(errors) >= MAX_ROWS:
            errors.append(RowError(row_number, "", _("At most %(n)s rows can be imported at once.", n=MAX_ROWS)))
            break
        data: dict[str, Any] = {}
        row_errors: list[RowError] = []
        for header, value in cells.items():
            field = FIELD_BY_HEADER.get(header)
            if field is None or value == "":
                continue
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
            for field, messages in localise_errors(exc.messages).items():
                column = HEADER_BY_FIELD.get("township" if field == "township_id" else field, field)
                if any(e.column == column for e in row_errors):
                    continue
                for message in messages if isinstance(messages, list) else [messages]:
                    row_errors.append(RowError(row_number, column, str(message)))
            loaded = None
        if loaded is not None:
            code = loaded["credit_code"]
            if code in seen_codes:
                row_errors.append(RowError(
                    row_number, HEADER_BY_FIELD["credit_code"],
                    _("Same credit code as row %(row)s.", row=seen_codes[code]),
                ))
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
            errors.append(RowError(row_number, HEADER_BY_FIELD["credit_code"],
                                   _("Another enterprise already has this credit code.")))
    if not parsed and not errors:
        errors.append(RowError(2, "", _("The sheet has no data rows.")))
    if errors:
        errors.sort(key=lambda e: (e.row, e.column))
        raise ImportRejected(errors)
    return parsed
