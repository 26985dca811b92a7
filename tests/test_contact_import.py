"""Excel import and export of SMS contacts, through the pages: all or nothing, every problem named."""
from __future__ import annotations

import html
import io
from typing import Any

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from emergency.audit.models import AuditEntry
from emergency.core.extensions import db
from emergency.messaging.models import Contact, OrgKind

from .conftest import PASSWORD
from .test_import_export import XLSX, workbook_bytes
from .test_import_export import import_errors as raw_import_errors

HEADERS = ["姓名", "手机", "单位类型", "企业统一社会信用代码", "乡镇/街道", "角色", "备注"]


def row(**changes: Any) -> dict[str, Any]:
    values = {"姓名": "王五", "手机": "13700137001", "单位类型": "乡镇/街道", "企业统一社会信用代码": "",
              "乡镇/街道": "城关镇", "角色": "乡镇/街道工作人员", "备注": ""}
    values.update(changes)
    return values


def import_errors(response) -> list[tuple[str, ...]]:
    return [tuple(html.unescape(cell) for cell in error) for error in raw_import_errors(response)]


def upload(client, rows: list[dict[str, Any]], headers: list[str] = HEADERS):
    return client.post("/messaging/contacts/import",
                       data={"file": (io.BytesIO(workbook_bytes(rows, headers)), "contacts.xlsx")},
                       content_type="multipart/form-data")


def imported() -> list[Contact]:
    db.session.expire_all()
    return db.session.scalars(sa.select(Contact).where(Contact.register_role.is_(None)).order_by(Contact.id)).all()


@pytest.fixture
def as_user(app, people):
    def login(username: str):
        client = app.test_client()
        assert client.post("/login", data={"username": username, "password": PASSWORD}).status_code == 302
        client.post("/lang/en")
        return client

    return login


def test_template_carries_the_headers_and_the_role_names(as_user):
    response = as_user("duty").get("/messaging/contacts/import/template.xlsx")
    assert response.status_code == 200 and response.mimetype == XLSX
    workbook = load_workbook(io.BytesIO(response.data))
    assert workbook.sheetnames == ["联系人", "填写说明"]
    assert [c.value for c in workbook["联系人"][1]] == HEADERS
    help_text = " ".join(str(c.value) for r in workbook["填写说明"].iter_rows() for c in r if c.value)
    assert "救援队伍负责人" in help_text and "姓名、手机" in help_text


def test_officer_imports_township_bureau_and_enterprise_contacts(as_user, people):
    officer = as_user("duty")
    response = upload(officer, [
        row(),
        row(姓名="赵局", 手机="+8613700137002", 单位类型="应急管理局", **{"乡镇/街道": ""}, 角色="应急管理局工作人员"),
        row(姓名="钱队长", 手机="137 0013 7003", 单位类型="", 企业统一社会信用代码=people["other"].credit_code,
            **{"乡镇/街道": ""}, 角色="救援队伍负责人、工作人员", 备注="夜班"),
    ])
    assert response.status_code == 302, response.get_data(as_text=True)[-3000:]
    assert response.headers["Location"].endswith("/messaging/contacts")
    contacts = imported()
    assert [(c.name, c.mobile, c.org_kind, c.enterprise_id, sorted(c.roles), c.note) for c in contacts] == [
        ("王五", "+8613700137001", OrgKind.township, None, ["township_official"], ""),
        ("赵局", "+8613700137002", OrgKind.bureau, None, ["bureau_staff"], ""),
        ("钱队长", "+8613700137003", OrgKind.enterprise, people["other"].id, ["staff", "team_leader"], "夜班"),
    ]
    # The enterprise's contact lives in the enterprise's township.
    assert contacts[2].township_id == people["other"].township_id
    entry = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "import",
                                                           AuditEntry.object_type == "contact")).one()
    assert entry.changes["count"] == 3


def test_one_bad_row_imports_nothing_and_every_problem_is_listed(as_user, people):
    officer = as_user("duty")
    upload(officer, [row(手机="13700137009")])  # already a township contact
    before = len(imported())
    response = upload(officer, [
        row(),                                                                # 2: fine
        row(手机="12345"),                                                     # 3
        row(单位类型="公司"),                                                   # 4
        row(单位类型="企业", **{"乡镇/街道": ""}),                               # 5: no credit code
        row(单位类型="", 企业统一社会信用代码="91330999ZZZZZZZZZZ", **{"乡镇/街道": ""}),  # 6
        row(**{"乡镇/街道": "不存在镇"}, 角色="局长"),                            # 7: two problems
        row(),                                                                # 8: same as row 2
        row(手机="13700137009"),                                               # 9: exists
        row(姓名=""),                                                          # 10
    ])
    assert response.status_code == 422
    assert imported() == imported()[:before]
    assert import_errors(response) == [
        ("3", "手机", "Not a valid phone number."),
        ("4", "单位类型", "Must be 企业, 乡镇/街道 or 应急管理局."),
        ("5", "企业统一社会信用代码", "Required for an enterprise's contact."),
        ("6", "企业统一社会信用代码", "No enterprise with this credit code is registered."),
        ("7", "乡镇/街道", "No township of this name is registered."),
        ("7", "角色", "Unknown role 局长; allowed: 主要负责人、安全管理人员、救援队伍负责人、乡镇/街道工作人员、"
                    "应急管理局工作人员、工作人员、居民."),
        ("8", "手机", "Same mobile and organisation as row 2."),
        ("9", "手机", "Already a contact of this organisation."),
        ("10", "姓名", "This field is required."),
    ]


def test_missing_columns_and_a_file_that_is_not_a_workbook(as_user):
    officer = as_user("duty")
    response = upload(officer, [{"姓名": "王五"}], headers=["姓名", "备注"])
    assert response.status_code == 422
    assert import_errors(response) == [("1", "手机", "This column is missing from the header row.")]
    response = officer.post("/messaging/contacts/import", data={"file": (io.BytesIO(b"name,mobile\n"), "c.csv")},
                            content_type="multipart/form-data")
    assert import_errors(response) == [("", "", "The file is not an Excel workbook (.xlsx).")]
    assert imported() == []


def test_enterprise_user_imports_only_into_its_own_enterprise(as_user, people):
    ent_a = as_user("ent-a")
    response = upload(ent_a, [
        row(单位类型="", **{"乡镇/街道": ""}, 角色="工作人员"),
        row(手机="13700137002", 单位类型="", 企业统一社会信用代码=people["other"].credit_code, **{"乡镇/街道": ""}),
        row(手机="13700137003", 单位类型="乡镇/街道"),
    ])
    assert response.status_code == 422
    assert import_errors(response) == [
        ("3", "企业统一社会信用代码", "You can import only your own enterprise's contacts."),
        ("4", "单位类型", "You can import only your own enterprise's contacts."),
    ]
    assert imported() == []
    # Without the foreign rows: every contact is the enterprise's own, whatever the sheet says.
    response = upload(ent_a, [row(单位类型="", **{"乡镇/街道": ""}, 角色="工作人员"),
                              row(手机="13700137004", 单位类型="企业", 企业统一社会信用代码=people["own"].credit_code,
                                      角色="救援队伍负责人")])
    assert response.status_code == 302
    assert {(c.enterprise_id, c.org_kind) for c in imported()} == {(people["own"].id, OrgKind.enterprise)}


def test_export_round_trips_and_is_scoped(as_user, people):
    officer = as_user("duty")
    assert upload(officer, [row(), row(姓名="孙乙厂", 手机="13700137005", 单位类型="企业",
                                       企业统一社会信用代码=people["other"].credit_code, 角色="工作人员")]).status_code == 302
    sheet = load_workbook(io.BytesIO(officer.get("/messaging/contacts/export.xlsx?q=王五").data)).worksheets[0]
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert rows[0] == HEADERS
    # A mobile number begins with + and is written with the apostrophe that keeps it text (no formula).
    assert rows[1:] == [["王五", "'+8613700137001", "乡镇/街道", None, "城关镇", "乡镇/街道工作人员", None]]
    # The enterprise user's export holds its own contacts only, never B's.
    ent_a = as_user("ent-a")
    assert upload(ent_a, [row(姓名="周甲厂", 手机="13700137006", 单位类型="", **{"乡镇/街道": ""},
                                     角色="工作人员")]).status_code == 302
    ent_sheet = load_workbook(io.BytesIO(ent_a.get("/messaging/contacts/export.xlsx").data))
    names = [r[0] for r in ent_sheet.worksheets[0].iter_rows(min_row=2, values_only=True)]
    assert names == ["周甲厂"]
    # What was exported imports again as it was.
    exported = officer.get("/messaging/contacts/export.xlsx?q=王五").data
    before = [(c.name, c.mobile, c.org_kind, c.township_id, c.roles) for c in imported() if c.name == "王五"]
    db.session.execute(sa.delete(Contact).where(Contact.name == "王五"))
    db.session.commit()
    response = officer.post("/messaging/contacts/import", data={"file": (io.BytesIO(exported), "again.xlsx")},
                            content_type="multipart/form-data")
    assert response.status_code == 302
    assert [(c.name, c.mobile, c.org_kind, c.township_id, c.roles) for c in imported() if c.name == "王五"] == before
