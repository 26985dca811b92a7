"""Excel import and export of the enterprise register, through the pages."""
from __future__ import annotations

import io
import re
from typing import Any

import pytest
import sqlalchemy as sa
from openpyxl import Workbook, load_workbook

from emergency.audit.models import AuditEntry
from emergency.core.extensions import db
from emergency.organisations.credit_code import check_character
from emergency.organisations.models import Enterprise

from .conftest import valid_credit_code

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
HEADERS = ["企业名称", "统一社会信用代码", "行业", "规模", "乡镇/街道", "地址", "经度", "纬度", "法定代表人",
           "主要负责人", "主要负责人手机", "安全管理人员", "安全管理人员手机"]
#: Fields compared in the round trip (everything the sheet carries).
SHEET_FIELDS = ("name", "credit_code", "industry", "scale", "township_id", "address", "longitude", "latitude",
                "legal_representative", "principal_name", "principal_mobile", "safety_manager_name",
                "safety_manager_mobile")


# --- helpers -------------------------------------------------------------------------------

def sheet_row(**changes: Any) -> dict[str, Any]:
    """One valid data row, keyed by Chinese header."""
    row = {
        "企业名称": "导入化工有限公司", "统一社会信用代码": valid_credit_code(), "行业": "危险化学品生产经营储存运输",
        "规模": "中型", "乡镇/街道": "城关镇", "地址": "工业园区1号", "经度": "", "纬度": "",
        "法定代表人": "张三", "主要负责人": "张三", "主要负责人手机": 13800138000,
        "安全管理人员": "李四", "安全管理人员手机": "139 0013 9000",
    }
    row.update(changes)
    return row


def workbook_bytes(rows: list[dict[str, Any]], headers: list[str] = HEADERS) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(headers)
    for row in rows:
        sheet.append([row.get(header, "") for header in headers])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def read_sheet(content: bytes) -> list[list[Any]]:
    """Rows of the first sheet of an xlsx (header first)."""
    sheet = load_workbook(io.BytesIO(content), read_only=True).worksheets[0]
    return [list(row) for row in sheet.iter_rows(values_only=True)]


def upload(client, content: bytes, filename: str = "enterprises.xlsx"):
    return client.post("/enterprises/import", data={"file": (io.BytesIO(content), filename)},
                       content_type="multipart/form-data")


def import_errors(response) -> list[tuple[str, str, str]]:
    """(row, column, problem) of every line of the error table on the import page."""
    html = response.get_data(as_text=True)
    assert 'id="import-errors"' in html, html[:1000]
    table = html.split('id="import-errors"', 1)[1]
    return [tuple(cell.strip() for cell in cells)
            for cells in re.findall(r"<tr><td>([^<]*)</td><td>([^<]*)</td><td>([^<]*)</td></tr>", table)]


def enterprise_count() -> int:
    db.session.expire_all()
    return db.session.scalar(sa.select(sa.func.count(Enterprise.id)))


def audit_actions() -> list[str]:
    db.session.expire_all()
    return db.session.scalars(sa.select(AuditEntry.action).where(AuditEntry.object_type == "enterprise")
                              .order_by(AuditEntry.id)).all()


@pytest.fixture
def officer(client, make_user, county):
    make_user("duty", "officer")
    client.post("/login", data={"username": "duty", "password": "Test-password-1"})
    client.post("/lang/en")
    return client


# --- template ------------------------------------------------------------------------------

def test_template_is_an_xlsx_with_chinese_headers(officer):
    response = officer.get("/enterprises/import/template.xlsx")
    assert response.status_code == 200
    assert response.mimetype == XLSX
    assert "attachment" in response.headers["Content-Disposition"]
    workbook = load_workbook(io.BytesIO(response.data))
    assert workbook.sheetnames == ["企业", "填写说明"]
    rows = read_sheet(response.data)
    assert rows[0] == HEADERS
    assert len(rows) == 2  # one example row
    help_rows = [row[0] for row in workbook["填写说明"].iter_rows(values_only=True)]
    assert "宾馆饭店" in help_rows and "危险化学品生产经营储存运输" in help_rows


def test_template_and_import_need_an_editor(client, make_user, county):
    make_user("viewer", "viewer")
    client.post("/login", data={"username": "viewer", "password": "Test-password-1"})
    assert client.get("/enterprises/import/template.xlsx").status_code == 403
    assert upload(client, workbook_bytes([sheet_row()])).status_code == 403
    assert enterprise_count() == 0


# --- import --------------------------------------------------------------------------------

def test_import_valid_sheet(officer, county):
    rows = [
        sheet_row(企业名称="甲公司"),
        sheet_row(企业名称="乙酒店", 行业="宾馆饭店", 规模="小型", 经度=120.5, 纬度="30.25",
                  **{"乡镇/街道": "东城街道"}),
        sheet_row(企业名称="丙学校", 行业="school", 规模="micro", 安全管理人员手机="+8613700137000"),
    ]
    response = upload(officer, workbook_bytes(rows))
    assert response.status_code == 302, import_errors(response)
    assert enterprise_count() == 3
    hotel = db.session.scalar(sa.select(Enterprise).where(Enterprise.name == "乙酒店"))
    assert hotel.industry == "hotel" and hotel.scale == "small"
    assert hotel.township.name == "东城街道"
    assert str(hotel.longitude) == "120.500000" and str(hotel.latitude) == "30.250000"
    assert hotel.principal_mobile == "+8613800138000"  # a number cell
    assert hotel.safety_manager_mobile == "+8613900139000"  # with spaces
    school = db.session.scalar(sa.select(Enterprise).where(Enterprise.name == "丙学校"))
    assert (school.industry, school.scale) == ("school", "micro")
    actions = audit_actions()
    assert actions.count("import") == 1
    assert actions.count("create") == 3
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "import"))
    assert entry.actor == "duty"
    assert entry.changes["count"] == 3
    assert sorted(entry.changes["credit_codes"]) == sorted(r["统一社会信用代码"] for r in rows)


def test_import_ignores_blank_lines(officer, county):
    content = workbook_bytes([sheet_row(), {}, sheet_row()])
    assert upload(officer, content).status_code == 302
    assert enterprise_count() == 2


def test_import_with_bad_rows_imports_nothing_and_lists_every_problem(officer, make_enterprise):
    existing = make_enterprise()
    duplicated = valid_credit_code()
    good = sheet_row(企业名称="好公司")
    bad_check = sheet_row()
    bad_check["统一社会信用代码"] = bad_check["统一社会信用代码"][:17] + (
        "0" if bad_check["统一社会信用代码"][17] != "0" else "1")
    rows = [
        good,                                                     # row 2
        bad_check,                                                # row 3
        sheet_row(行业="航天发射"),                                  # row 4
        sheet_row(**{"乡镇/街道": "不存在镇"}),                       # row 5
        sheet_row(主要负责人手机="12345"),                            # row 6
        sheet_row(统一社会信用代码=duplicated),                       # row 7
        sheet_row(统一社会信用代码=duplicated),                       # row 8
        sheet_row(统一社会信用代码=existing.credit_code),             # row 9
        sheet_row(企业名称="", 规模="巨型"),                           # row 10
    ]
    before = enterprise_count()
    response = upload(officer, workbook_bytes(rows))
    assert response.status_code == 422
    assert enterprise_count() == before
    assert audit_actions() == []
    errors = import_errors(response)
    expected_check = check_character(bad_check["统一社会信用代码"][:17])
    assert errors == [
        ("3", "统一社会信用代码",
         f"The check character (the 18th) is wrong: by GB 32100-2015 it should be {expected_check}."),
        ("4", "行业", "Not in the industry catalogue."),
        ("5", "乡镇/街道", "No township of this name is registered."),
        ("6", "主要负责人手机", "Not a valid phone number."),
        ("8", "统一社会信用代码", "Same credit code as row 7."),
        ("9", "统一社会信用代码", "Another enterprise already has this credit code."),
        ("10", "企业名称", "This field is required."),
        ("10", "规模", "Must be 大型, 中型, 小型 or 微型."),
    ]
    assert "Nothing was imported" in response.get_data(as_text=True)


def test_import_rejects_a_file_that_is_not_xlsx(officer, county):
    response = upload(officer, "企业名称,统一社会信用代码\n甲,123\n".encode(), "enterprises.csv")
    assert response.status_code == 422
    assert import_errors(response) == [("", "", "The file is not an Excel workbook (.xlsx).")]
    assert enterprise_count() == 0


def test_import_without_a_file(officer, county):
    response = officer.post("/enterprises/import", data={}, content_type="multipart/form-data")
    assert response.status_code == 422
    assert import_errors(response) == [("", "", "Choose an Excel file (.xlsx) to upload.")]


def test_import_names_missing_header_columns(officer, county):
    headers = [h for h in HEADERS if h not in ("行业", "安全管理人员手机")]
    response = upload(officer, workbook_bytes([sheet_row()], headers))
    assert response.status_code == 422
    assert import_errors(response) == [
        ("1", "行业", "This column is missing from the header row."),
        ("1", "安全管理人员手机", "This column is missing from the header row."),
    ]
    assert enterprise_count() == 0


def test_import_of_headers_only(officer, county):
    response = upload(officer, workbook_bytes([]))
    assert response.status_code == 422
    assert import_errors(response) == [("2", "", "The sheet has no data rows.")]


def test_import_of_coordinates_needs_both(officer, county):
    response = upload(officer, workbook_bytes([sheet_row(纬度="30.1")]))
    assert response.status_code == 422
    assert import_errors(response) == [("2", "经度", "Give both latitude and longitude, or neither.")]


# --- export --------------------------------------------------------------------------------

@pytest.fixture
def register(make_enterprise, county):
    town_a, town_b, _town_c = county.townships
    return [
        make_enterprise(name="甲化工", industry="hazardous_chemicals", scale="large", township=town_a,
                        address="一号路", latitude="30.100000", longitude="120.200000", legal_representative="周八"),
        make_enterprise(name="乙酒店", industry="hotel", scale="small", township=town_b),
        make_enterprise(name="丙酒店", industry="hotel", scale="medium", township=town_a),
        make_enterprise(name="丁学校", industry="school", scale="micro", township=town_b),
    ]


def test_export_contains_exactly_the_filtered_enterprises(officer, register):
    response = officer.get("/enterprises/export.xlsx", query_string={"industry": "hotel", "sort": "name"})
    assert response.status_code == 200 and response.mimetype == XLSX
    rows = read_sheet(response.data)
    assert rows[0] == HEADERS
    assert sorted(row[0] for row in rows[1:]) == ["丙酒店", "乙酒店"]
    assert {row[2] for row in rows[1:]} == {"宾馆饭店"}

    rows = read_sheet(officer.get("/enterprises/export.xlsx", query_string={"q": "甲"}).data)
    assert rows[1] == ["甲化工", register[0].credit_code, "危险化学品生产经营储存运输", "大型", "东城街道", "一号路",
                       "120.200000", "30.100000", "周八", "张三", "'+8613800138000", "李四", "'+8613900139000"]
    assert len(rows) == 2


def test_export_leaves_out_disabled_unless_asked(officer, register):
    register[3].active = False
    db.session.commit()
    def names(query: dict[str, str]) -> list[str]:
        return sorted(row[0] for row in read_sheet(officer.get("/enterprises/export.xlsx", query_string=query).data)[1:])

    assert "丁学校" not in names({})
    assert "丁学校" in names({"include_disabled": "true"})


def test_export_headers_equal_template_headers(officer, register):
    template = read_sheet(officer.get("/enterprises/import/template.xlsx").data)[0]
    assert read_sheet(officer.get("/enterprises/export.xlsx").data)[0] == template


def test_reimporting_an_export_is_refused_only_for_existing_credit_codes(officer, register):
    content = officer.get("/enterprises/export.xlsx", query_string={"sort": "name"}).data
    response = upload(officer, content)
    assert response.status_code == 422
    errors = import_errors(response)
    assert [(column, message) for _row, column, message in errors] == [
        ("统一社会信用代码", "Another enterprise already has this credit code.")] * len(register)
    assert enterprise_count() == len(register)


def test_export_then_import_into_an_empty_register_recreates_it(officer, register):
    def snapshot() -> list[dict[str, Any]]:
        db.session.expire_all()
        rows = db.session.scalars(sa.select(Enterprise).order_by(Enterprise.credit_code)).all()
        return [{field: getattr(e, field) for field in SHEET_FIELDS} for e in rows]

    before = snapshot()
    content = officer.get("/enterprises/export.xlsx").data
    # The fixture's enterprises have no audit entries or users yet, so they can go.
    db.session.execute(sa.delete(Enterprise))
    db.session.commit()
    assert enterprise_count() == 0

    response = upload(officer, content)
    assert response.status_code == 302, import_errors(response)
    assert snapshot() == before
