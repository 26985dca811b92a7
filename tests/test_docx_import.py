"""Importing a Word plan as sections: built with python-docx here, read back by the importer."""
from __future__ import annotations

import io
import zipfile

import docx
import pytest
from docx.enum.style import WD_STYLE_TYPE
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from marshmallow import ValidationError

from emergency.core.files import FileRejected
from plans.documents.docx_import import ImportedSection, import_docx


def saved(document) -> bytes:
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def set_outline_level(paragraph, value: int) -> None:
    level = OxmlElement("w:outlineLvl")
    level.set(qn("w:val"), str(value))
    paragraph._p.get_or_add_pPr().append(level)


def plan_document() -> bytes:
    """A small comprehensive plan, the way enterprises write them."""
    d = docx.Document()
    d.add_paragraph("某某化工有限公司生产安全事故综合应急预案", style="Title")
    d.add_paragraph("本预案由安全环保部编制。")
    toc = d.styles.add_style("目录 1", WD_STYLE_TYPE.PARAGRAPH)
    d.add_paragraph("1 总则 ........ 1", style=toc)

    d.add_heading("1 总则", level=1)
    p = d.add_paragraph("为规范")
    p.add_run("生产安全事故").bold = True
    p.add_run("应急管理工作，")
    p.add_run("特制定本预案").italic = True
    p.add_run("。第一行").add_break()
    p.add_run("第二行<script>alert(1)</script>")
    d.add_paragraph("   ")  # empty paragraphs are dropped
    d.add_heading("1.1 适用范围", level=2)
    d.add_paragraph("本预案适用于：")
    d.add_paragraph("火灾事故", style="List Bullet")
    d.add_paragraph("危险化学品泄漏事故", style="List Bullet")
    d.add_paragraph("储罐区泄漏", style="List Bullet 2")
    d.add_paragraph("中毒和窒息事故", style="List Bullet")
    d.add_heading("1.2 响应分级", level=2)
    d.add_paragraph("一级响应", style="List Number")
    d.add_paragraph("二级响应", style="List Number")

    d.add_heading("2 应急组织机构及职责", level=1)
    d.add_paragraph("应急组织机构如下表：")
    table = d.add_table(rows=4, cols=3)
    for column, text in enumerate(["职务", "姓名", "电话"]):
        table.cell(0, column).text = text
    table.rows[0]._tr.get_or_add_trPr().append(OxmlElement("w:tblHeader"))
    for row, values in ((1, ["总指挥", "张三", "13800138000"]), (2, ["副总指挥", "李四", "13900139000"])):
        for column, text in enumerate(values):
            table.cell(row, column).text = text
    table.cell(1, 1).paragraphs[0].runs[0].bold = True
    table.cell(3, 0).text = "成员"
    table.cell(2, 0).merge(table.cell(3, 0))
    table.cell(3, 1).merge(table.cell(3, 2)).text = "各部门负责人"
    d.add_paragraph("表后说明。")
    d.add_heading("2.1 应急指挥部", level=2)
    d.add_heading("2.1.1 总指挥", level=3)
    d.add_heading("职责细则", level=4)
    d.add_paragraph("负责全面指挥。")

    chinese = d.styles.add_style("标题 1", WD_STYLE_TYPE.PARAGRAPH)  # as WPS names it
    d.add_paragraph("3 应急响应", style=chinese)
    custom = d.styles.add_style("一级标题", WD_STYLE_TYPE.PARAGRAPH)  # the enterprise's own heading style
    custom.base_style = d.styles["Heading 1"]
    d.add_paragraph("4 后期处置", style=custom)
    set_outline_level(d.add_paragraph("4.1 善后处置"), 1)  # outline level 1 = heading 2
    d.add_paragraph("做好善后。")
    return saved(d)


def test_sections_follow_the_headings_in_body_order(app):
    sections = import_docx(plan_document(), "综合应急预案.docx")
    assert [(s.title, s.level) for s in sections] == [
        ("前言", 1),
        ("1 总则", 1),
        ("1.1 适用范围", 2),
        ("1.2 响应分级", 2),
        ("2 应急组织机构及职责", 1),
        ("2.1 应急指挥部", 2),
        ("2.1.1 总指挥", 3),
        ("3 应急响应", 1),
        ("4 后期处置", 1),
        ("4.1 善后处置", 2),
    ]
    html = {s.title: s.html for s in sections}
    # Text before the first heading, without the table-of-contents line.
    assert html["前言"] == "<p>某某化工有限公司生产安全事故综合应急预案</p><p>本预案由安全环保部编制。</p>"
    assert html["1 总则"] == (
        "<p>为规范<strong>生产安全事故</strong>应急管理工作，<em>特制定本预案</em>。第一行<br>"
        "第二行&lt;script&gt;alert(1)&lt;/script&gt;</p>")
    assert html["1.1 适用范围"] == (
        "<p>本预案适用于：</p><ul><li>火灾事故</li><li>危险化学品泄漏事故<ul><li>储罐区泄漏</li></ul></li>"
        "<li>中毒和窒息事故</li></ul>")
    assert html["1.2 响应分级"] == "<ol><li>一级响应</li><li>二级响应</li></ol>"
    assert html["2 应急组织机构及职责"] == (
        "<p>应急组织机构如下表：</p>"
        "<table><thead><tr><th>职务</th><th>姓名</th><th>电话</th></tr></thead><tbody>"
        "<tr><td>总指挥</td><td><strong>张三</strong></td><td>13800138000</td></tr>"
        '<tr><td rowspan="2">副总指挥<br>成员</td><td>李四</td><td>13900139000</td></tr>'
        '<tr><td colspan="2">各部门负责人</td></tr></tbody></table>'
        "<p>表后说明。</p>")
    assert html["2.1 应急指挥部"] == ""  # a heading directly followed by its sub-heading
    assert html["2.1.1 总指挥"] == "<h4>职责细则</h4><p>负责全面指挥。</p>"
    assert html["4.1 善后处置"] == "<p>做好善后。</p>"
    assert all(isinstance(s, ImportedSection) for s in sections)


def test_list_levels_and_kinds_come_from_the_numbering_definitions(app):
    d = docx.Document()
    d.add_heading("应急处置", level=1)
    numbered = d.styles["List Number"].element.xpath("./w:pPr/w:numPr/w:numId/@w:val")[0]
    bulleted = d.styles["List Bullet"].element.xpath("./w:pPr/w:numPr/w:numId/@w:val")[0]
    for text, num_id, ilvl in (("报警", numbered, 0), ("拨打119", bulleted, 1), ("报告值班室", bulleted, 1),
                               ("疏散", numbered, 0), ("关闭阀门", numbered, 2)):
        paragraph = d.add_paragraph(text)
        num_pr = OxmlElement("w:numPr")
        for name, value in (("w:ilvl", ilvl), ("w:numId", num_id)):
            element = OxmlElement(name)
            element.set(qn("w:val"), str(value))
            num_pr.append(element)
        paragraph._p.get_or_add_pPr().append(num_pr)
    d.add_paragraph("其后的正文。")
    [section] = import_docx(saved(d), "a.docx")
    assert section.html == (
        "<ol><li>报警<ul><li>拨打119</li><li>报告值班室</li></ul></li>"
        "<li>疏散<ol><li><ol><li>关闭阀门</li></ol></li></ol></li></ol><p>其后的正文。</p>")


def test_a_document_without_headings_is_one_preamble_section(app):
    d = docx.Document()
    d.add_paragraph("只有正文。")
    assert import_docx(saved(d), "a.docx") == [ImportedSection("前言", 1, "<p>只有正文。</p>")]
    assert import_docx(saved(docx.Document()), "empty.docx") == []


def test_formatting_from_pasted_html_cannot_get_through(app):
    d = docx.Document()
    d.add_heading('<img src=x onerror="alert(1)">标题', level=1)
    d.add_paragraph('<a href="javascript:alert(1)">链接</a>')
    [section] = import_docx(saved(d), "a.docx")
    assert section.title == '<img src=x onerror="alert(1)">标题'  # plain text; escape when shown
    assert section.html == '<p>&lt;a href="javascript:alert(1)"&gt;链接&lt;/a&gt;</p>'


def test_corrupt_and_wrong_files_are_refused(app):
    good = plan_document()
    with pytest.raises(FileRejected) as refused:
        import_docx(good[: len(good) // 2], "截断.docx")
    assert refused.value.rule == "mismatch"
    assert str(refused.value) == "截断.docx：文件内容与扩展名 .docx 不符。"

    with pytest.raises(FileRejected) as refused:
        import_docx(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600), "旧格式.doc")
    assert refused.value.rule == "type"

    with pytest.raises(FileRejected) as refused:
        import_docx(b"%PDF-1.4\n%%EOF\n", "预案.pdf")
    assert str(refused.value) == "预案.pdf：只能导入 Word 文档（.docx）。"


def test_a_docx_with_broken_xml_is_a_validation_error(app):
    broken = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(plan_document())) as source, zipfile.ZipFile(broken, "w") as target:
        for info in source.infolist():
            body = source.read(info)
            if info.filename == "word/document.xml":
                body = body[: len(body) // 2]
            target.writestr(info.filename, body)
    with pytest.raises(ValidationError) as refused:
        import_docx(broken.getvalue(), "损坏.docx")
    assert refused.value.normalized_messages() == {"file": ["损坏.docx：无法作为 Word 文档读取，文件可能已损坏。"]}


def test_size_is_limited(app):
    app.config["ATTACHMENT_MAX_BYTES"] = 10_000
    with pytest.raises(FileRejected) as refused:
        import_docx(plan_document(), "大.docx")
    assert refused.value.rule == "too_large"


# --- cost: linear and bounded (issue 15) -------------------------------------------------------

def one_letter_paragraphs(count: int) -> bytes:
    """The hostile file of issue 15 (4,000 one-letter paragraphs, 37 KB)."""
    d = docx.Document()
    for _ in range(count):
        d.add_paragraph("a")
    return saved(d)


@pytest.fixture
def style_scans(monkeypatch) -> dict[str, int]:
    """Counts python-docx's style scans: every call of these walks all of the document's styles
    (``paragraph.style`` and ``run.style`` make a few of them each). The real functions still run."""
    from docx.oxml.styles import CT_Styles
    from docx.parts.document import DocumentPart

    counts: dict[str, int] = {}
    for owner, name in ((CT_Styles, "default_for"), (CT_Styles, "get_by_id"), (CT_Styles, "get_by_name"),
                        (DocumentPart, "get_style")):
        original = getattr(owner, name)

        def counting(*args, __original=original, __name=name, **kwargs):
            counts[__name] = counts.get(__name, 0) + 1
            return __original(*args, **kwargs)

        monkeypatch.setattr(owner, name, counting)
    return counts


def test_styles_are_read_once_per_document_not_per_paragraph(app, style_scans):
    files = one_letter_paragraphs(40), one_letter_paragraphs(4000)
    style_scans.clear()
    small = import_docx(files[0], "a.docx")
    after_small = sum(style_scans.values())
    hostile = import_docx(files[1], "a.docx")
    assert small[0].html == "<p>a</p>" * 40 and hostile[0].html == "<p>a</p>" * 4000
    # No scan per paragraph or run: the style map is built once from the styles part.
    assert sum(style_scans.values()) - after_small == after_small == 0, style_scans


def test_numbering_and_style_chains_are_resolved_once(app, style_scans):
    """Headings by base style and lists by style numbering still work through the style map."""
    d = docx.Document()
    custom = d.styles.add_style("一级标题", WD_STYLE_TYPE.PARAGRAPH)
    custom.base_style = d.styles["Heading 1"]
    for chapter in range(30):
        d.add_paragraph(f"第{chapter + 1}章", style=custom)
        for item in range(20):
            d.add_paragraph(f"条目{item}", style="List Number" if item % 2 else "List Bullet 2")
    data = saved(d)
    style_scans.clear()  # building the document scanned styles; reading it must not
    sections = import_docx(data, "a.docx")
    assert [s.title for s in sections] == [f"第{n}章" for n in range(1, 31)]
    assert sections[0].html.startswith("<ul><li><ul><li>条目0</li></ul></li></ul><ol><li>条目1<ul><li>条目2</li></ul></li>")
    assert sum(style_scans.values()) == 0, style_scans


def docx_with_body(body_xml: bytes) -> bytes:
    """A python-docx document whose word/document.xml body is replaced by ``body_xml`` (raw bytes)."""
    source = saved(docx.Document())
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(source)) as archive, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in archive.infolist():
            data = archive.read(info)
            if info.filename == "word/document.xml":
                head = data[: data.index(b"<w:body>") + len(b"<w:body>")]
                data = head + body_xml
            target.writestr(info.filename, data)
    return out.getvalue()


def test_the_limits_are_checked_before_the_document_is_parsed(app):
    app.config.update(DOCX_IMPORT_MAX_PARAGRAPHS=100, DOCX_IMPORT_MAX_TABLES=3, DOCX_IMPORT_MAX_CELLS=20)
    # The count stops at the 101st paragraph: what follows (here: not even XML) is never read.
    over = docx_with_body(b"<w:p><w:r><w:t>a</w:t></w:r></w:p>" * 101 + b"\x00 not xml <<<")
    with pytest.raises(FileRejected) as refused:
        import_docx(over, "大预案.docx")
    assert refused.value.rule == "too_large"
    assert refused.value.normalized_messages() == {"file": ["大预案.docx：段落超过 100 段，超出导入上限。"]}
    at_limit = docx_with_body(b"<w:p><w:r><w:t>a</w:t></w:r></w:p>" * 100 + b"</w:body></w:document>")
    assert import_docx(at_limit, "a.docx")[0].html == "<p>a</p>" * 100

    table = b"<w:tbl><w:tr>" + b"<w:tc><w:p/></w:tc>" * 5 + b"</w:tr></w:tbl>"
    with pytest.raises(FileRejected, match="表格超过 3 个"):
        import_docx(docx_with_body(table * 4 + b"</w:body></w:document>"), "a.docx")
    with pytest.raises(FileRejected, match="表格单元格超过 20 个"):
        import_docx(docx_with_body(table * 3 + b"<w:tbl><w:tr>" + b"<w:tc><w:p/></w:tc>" * 6
                                   + b"</w:tr></w:tbl></w:body></w:document>"), "a.docx")

    app.config.update(DOCX_IMPORT_MAX_PARAGRAPHS=20_000, DOCX_IMPORT_MAX_XML_BYTES=512 * 1024)
    with pytest.raises(FileRejected) as refused:
        import_docx(one_letter_paragraphs(4000), "a.docx")
    assert refused.value.rule == "too_large"
    assert str(refused.value) == "a.docx：解压后的 XML 为 0.9 MB，超过导入上限 0.5 MB。"


def test_default_limits_take_real_plans(app):
    assert (app.config["DOCX_IMPORT_MAX_PARAGRAPHS"], app.config["DOCX_IMPORT_MAX_XML_BYTES"]) == (
        20_000, 40 * 1024 * 1024)
    [section] = import_docx(one_letter_paragraphs(5000), "a.docx")
    assert section.html.count("<p>a</p>") == 5000
