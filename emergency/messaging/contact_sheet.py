"""Excel import and export of contacts: all-or-nothing, like the enterprise register.

Every row is validated through ``ContactInput`` after the sheet's names (enterprise credit
code, township name, Chinese role names) are resolved; any error anywhere and nothing is
written, with every bad row listed by column and reason. An enterprise user imports only
its own enterprise's contacts.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from typing import IO, Any

import sqlalchemy as sa
from flask_babel import gettext as _
from marshmallow import ValidationError

from emergency.audit import operations as audit
from emergency.auth.models import Role, User
from emergency.core.extensions import db
from emergency.organisations.models import Enterprise, Township
from emergency.core.sheets import Column, RowError, Sheet
from emergency.messaging import contacts as contact_ops
from emergency.messaging.models import Contact, OrgKind
from emergency.messaging.schemas import ContactInput

SHEET = Sheet("联系人", (
    Column("name", "姓名", "王五", required=True),
    Column("mobile", "手机", "13700137000", required=True),
    Column("org_kind", "单位类型", "企业"),
    Column("enterprise", "企业统一社会信用代码", "91330100MA27XK1234"),
    Column("township", "乡镇/街道", "城关镇"),
    Column("roles", "角色", "工作人员、救援队伍负责人"),
    Column("note", "备注", "夜班值班长"),
))
#: The sheet's Chinese names of organisation kinds and roles (fixed: the sheet's contract).
ORG_KINDS_ZH = {"企业": OrgKind.enterprise, "乡镇/街道": OrgKind.township, "乡镇": OrgKind.township,
                "街道": OrgKind.township, "应急管理局": OrgKind.bureau}
ORG_KIND_NAMES = {OrgKind.enterprise: "企业", OrgKind.township: "乡镇/街道", OrgKind.bureau: "应急管理局"}
ROLES_ZH = {"主要负责人": "principal", "安全管理人员": "safety_manager", "救援队伍负责人": "team_leader",
            "乡镇/街道工作人员": "township_official", "应急管理局工作人员": "bureau_staff",
            "工作人员": "staff", "居民": "resident"}
ROLE_NAMES = {code: name for name, code in ROLES_ZH.items()}
_ROLE_SEPARATORS = re.compile(r"[,，、;；\s]+")


def template_workbook() -> bytes:
    return SHEET.template([
        ["手机", "中国大陆手机号，如 13700137000 或 +8613700137000；同一表内不能重复"],
        ["单位类型", "企业 / 乡镇/街道 / 应急管理局；留空时按是否填写企业信用代码判断"],
        ["企业统一社会信用代码", "单位类型为企业时必填，须为系统中已登记的企业（企业用户只能填写本单位或留空）"],
        ["乡镇/街道", "单位类型为乡镇/街道时必填，须为系统中已登记的乡镇/街道名称"],
        ["角色（可填多个，用顿号分隔）", "、".join(ROLES_ZH)],
        ["说明", "企业主要负责人和安全管理人员由企业登记信息自动维护，无需导入"],
    ])


def export_workbook(contacts: Iterable[Contact]) -> bytes:
    return SHEET.export({
        "name": c.name, "mobile": c.mobile, "org_kind": ORG_KIND_NAMES[c.org_kind],
        "enterprise": c.enterprise.credit_code if c.enterprise else "",
        "township": c.township.name if c.township else "",
        "roles": "、".join(ROLE_NAMES.get(r, r) for r in c.roles), "note": c.note,
    } for c in contacts)


def parse_rows(stream: IO[bytes], actor: User) -> list[tuple[int, dict[str, Any]]]:
    """Read the sheet into validated ``ContactInput`` data, or raise ImportRejected."""
    rows = SHEET.read(stream)
    townships = {t.name: t.id for t in db.session.scalars(sa.select(Township))}
    codes = {cells.get("enterprise", "") for _row, cells in rows} - {""}
    enterprises = {e.credit_code: e for e in db.session.scalars(
        sa.select(Enterprise).where(Enterprise.credit_code.in_(codes)))} if codes else {}
    own = db.session.get(Enterprise, actor.enterprise_id) if actor.role == Role.enterprise else None

    schema = ContactInput()
    errors: list[RowError] = []
    parsed: list[tuple[int, dict[str, Any]]] = []
    seen: dict[tuple, int] = {}
    for row_number, cells in rows:
        data, row_errors = _resolve(row_number, cells, townships, enterprises, own)
        try:
            loaded = schema.load(data)
        except ValidationError as exc:
            row_errors.extend(SHEET.schema_errors(
                row_number, exc, skip={e.column for e in row_errors},
                field_columns={"township_id": "township", "enterprise_id": "enterprise"}))
            loaded = None
        if loaded is not None and not row_errors:
            for field, messages in contact_ops.kind_errors(actor, loaded["org_kind"], loaded["enterprise_id"],
                                                           loaded["roles"]).items():
                column = SHEET.header({"enterprise_id": "enterprise"}.get(field, field))
                row_errors.extend(RowError(row_number, column, message) for message in messages)
        if loaded is not None and not row_errors:
            key = (loaded["mobile"], loaded["org_kind"], loaded["enterprise_id"], loaded["township_id"])
            if key in seen:
                row_errors.append(RowError(row_number, SHEET.header("mobile"),
                                           _("Same mobile and organisation as row %(row)s.", row=seen[key])))
            else:
                seen[key] = row_number
        if row_errors:
            errors.extend(row_errors)
        elif loaded is not None:
            parsed.append((row_number, loaded))

    mobiles = [data["mobile"] for _row, data in parsed]
    existing = set()
    for start in range(0, len(mobiles), 500):
        existing.update(tuple(found) for found in db.session.execute(
            sa.select(Contact.mobile, Contact.org_kind, Contact.enterprise_id, Contact.township_id)
            .where(Contact.mobile.in_(mobiles[start:start + 500]))))
    for row_number, data in parsed:
        if (data["mobile"], data["org_kind"], data["enterprise_id"], data["township_id"]) in existing:
            errors.append(RowError(row_number, SHEET.header("mobile"),
                                   _("Already a contact of this organisation.")))
    if errors:
        raise SHEET.rejected(errors)
    return parsed


def _resolve(row: int, cells: dict[str, str], townships: dict[str, int], enterprises: dict[str, Enterprise],
             own: Enterprise | None) -> tuple[dict[str, Any], list[RowError]]:
    """The row's names turned into ids and codes; problems with the names as row errors."""
    errors: list[RowError] = []
    data: dict[str, Any] = {"name": cells.get("name", ""), "mobile": cells.get("mobile", ""),
                            "note": cells.get("note", "")}
    kind_text, code, township = cells.get("org_kind", ""), cells.get("enterprise", ""), cells.get("township", "")
    kind = ORG_KINDS_ZH.get(kind_text) if kind_text else (
        OrgKind.enterprise if code or own else OrgKind.township if township else None)
    if kind is None:
        errors.append(RowError(row, SHEET.header("org_kind"), _("Must be 企业, 乡镇/街道 or 应急管理局.")))
    elif own is not None and kind != OrgKind.enterprise:
        errors.append(RowError(row, SHEET.header("org_kind"), _("You can import only your own enterprise's contacts.")))
    else:
        data["org_kind"] = kind.value
    if own is not None:
        if code and code != own.credit_code:
            errors.append(RowError(row, SHEET.header("enterprise"),
                                   _("You can import only your own enterprise's contacts.")))
        data["enterprise_id"] = own.id
    elif code:
        if code not in enterprises:
            errors.append(RowError(row, SHEET.header("enterprise"), _("No enterprise with this credit code is registered.")))
        else:
            data["enterprise_id"] = enterprises[code].id
    elif kind == OrgKind.enterprise:
        errors.append(RowError(row, SHEET.header("enterprise"), _("Required for an enterprise's contact.")))
    if township:
        if township not in townships:
            errors.append(RowError(row, SHEET.header("township"), _("No township of this name is registered.")))
        else:
            data["township_id"] = townships[township]
    elif kind == OrgKind.township:
        errors.append(RowError(row, SHEET.header("township"), _("Required for a township's contact.")))
    roles = [r for r in _ROLE_SEPARATORS.split(cells.get("roles", "")) if r]
    unknown = [r for r in roles if r not in ROLES_ZH and r not in ROLE_NAMES]
    if unknown:
        errors.append(RowError(row, SHEET.header("roles"), _("Unknown role %(role)s; allowed: %(allowed)s.",
                                                             role=unknown[0], allowed="、".join(ROLES_ZH))))
    data["roles"] = [ROLES_ZH.get(r, r) for r in roles if r not in unknown]
    return data, errors


def import_contacts(actor: User, rows: list[tuple[int, dict[str, Any]]]) -> list[Contact]:
    """Create every contact of an already validated sheet, with one import entry."""
    created = [contact_ops.create_contact(actor, data) for _row, data in rows]
    enterprise_ids = {c.enterprise_id for c in created}
    audit.record(actor, "import", "contact", None,
                 enterprise_id=enterprise_ids.pop() if len(enterprise_ids) == 1 else None,
                 summary=_("%(n)s contacts imported", n=len(created)),
                 changes={"count": len(created), "mobiles": [c.mobile for c in created]})
    return created
