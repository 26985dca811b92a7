"""Attachments: kinds judged by content, refusals in the user's language, storage by hash."""
from __future__ import annotations

import hashlib
import io
import struct
import zipfile
import zlib
from pathlib import Path

import docx
import openpyxl
import pytest
from marshmallow import ValidationError

from emergency.core.files import (
    MAX_ARCHIVE_MEMBERS,
    FileRejected,
    StoredBlob,
    attachment_root,
    open_blob,
    path_for,
    sniff,
    store,
)


def make_png() -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00\x00"))
            + chunk(b"IEND", b""))


JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def make_docx(text: str = "总则") -> bytes:
    document = docx.Document()
    document.add_heading(text, level=1)
    document.add_paragraph("正文")
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def make_xlsx() -> bytes:
    workbook = openpyxl.Workbook()
    workbook.active["A1"] = "应急物资"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def rezip(data: bytes, *, replace: dict[str, bytes] | None = None, drop: tuple[str, ...] = ()) -> bytes:
    """The same archive with some members replaced or left out."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            if info.filename in drop:
                continue
            body = (replace or {}).get(info.filename, source.read(info))
            target.writestr(info.filename, body)
    return out.getvalue()


# --- sniff -------------------------------------------------------------------------------

@pytest.mark.parametrize(("filename", "maker", "kind"), [
    ("预案.pdf", lambda: PDF, "pdf"),
    ("SCAN.PDF", lambda: PDF, "pdf"),
    ("现场照片.jpg", lambda: JPEG, "jpg"),
    ("现场照片.JPEG", lambda: JPEG, "jpg"),
    ("疏散路线图.png", make_png, "png"),
    ("综合应急预案.docx", make_docx, "docx"),
    ("应急资源调查清单.xlsx", make_xlsx, "xlsx"),
])
def test_content_that_matches_its_extension_is_accepted(app, filename, maker, kind):
    assert sniff(maker(), filename) == kind


@pytest.mark.parametrize(("filename", "maker"), [
    ("预案.pdf", make_docx),          # a Word file called .pdf
    ("预案.docx", lambda: PDF),       # a PDF called .docx
    ("清单.xlsx", make_docx),         # Word is not Excel
    ("预案.docx", make_xlsx),
    ("照片.png", lambda: JPEG),
    ("照片.jpg", make_png),
    ("预案.pdf", lambda: b"MZ\x90\x00 this is a program"),
    ("预案.docx", lambda: b"PK\x03\x04 not really a zip"),
])
def test_content_that_does_not_match_is_refused(app, filename, maker):
    with pytest.raises(FileRejected) as refused:
        sniff(maker(), filename)
    extension = Path(filename).suffix.lower()
    assert refused.value.rule == "mismatch"
    assert str(refused.value) == f"{filename}：文件内容与扩展名 {extension} 不符。"
    assert refused.value.normalized_messages() == {"file": [f"{filename}：文件内容与扩展名 {extension} 不符。"]}


def test_file_rejected_is_a_validation_error(app):
    with pytest.raises(ValidationError):
        sniff(b"", "x.pdf")


def test_office_files_need_their_main_part_and_content_type(app):
    word = make_docx()
    assert sniff(word, "a.docx") == "docx"
    without_types = rezip(word, drop=("[Content_Types].xml",))
    without_document = rezip(word, drop=("word/document.xml",))
    with zipfile.ZipFile(io.BytesIO(word)) as archive:
        types = archive.read("[Content_Types].xml")
    macro = rezip(word, replace={"[Content_Types].xml": types.replace(
        b"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
        b"application/vnd.ms-word.document.macroEnabled.main+xml")})
    for data in (without_types, without_document, macro):
        with pytest.raises(FileRejected) as refused:
            sniff(data, "a.docx")
        assert refused.value.rule == "mismatch"


@pytest.mark.parametrize(("filename", "message"), [
    ("setup.exe", "setup.exe：不支持的文件类型 .exe；允许 PDF、DOCX、XLSX、JPG、PNG。"),
    ("旧版预案.doc", "旧版预案.doc：不支持的文件类型 .doc；允许 PDF、DOCX、XLSX、JPG、PNG。"),
    ("预案.pdf.html", "预案.pdf.html：不支持的文件类型 .html；允许 PDF、DOCX、XLSX、JPG、PNG。"),
    ("README", "README：文件名没有扩展名；允许 PDF、DOCX、XLSX、JPG、PNG。"),
    ("C:\\Users\\张三\\桌面\\run.bat", "run.bat：不支持的文件类型 .bat；允许 PDF、DOCX、XLSX、JPG、PNG。"),
])
def test_other_types_are_refused_with_the_allowed_list(app, filename, message):
    with pytest.raises(FileRejected) as refused:
        sniff(PDF, filename)
    assert refused.value.rule == "type"
    assert str(refused.value) == message


def test_empty_and_oversized_files_are_refused(app):
    with pytest.raises(FileRejected) as refused:
        sniff(b"", "预案.pdf")
    assert (refused.value.rule, str(refused.value)) == ("empty", "预案.pdf：文件为空。")

    app.config["ATTACHMENT_MAX_BYTES"] = 1024 * 1024
    sniff(PDF + b"\0" * (1024 * 1024 - len(PDF)), "刚好.pdf")  # exactly the limit is fine
    with pytest.raises(FileRejected) as refused:
        sniff(PDF + b"\0" * (1024 * 1024), "大文件.pdf")
    assert (refused.value.rule, str(refused.value)) == ("too_large", "大文件.pdf：文件超过 1 MB。")


def test_the_default_limit_is_20_mb(app):
    assert app.config["ATTACHMENT_MAX_BYTES"] == 20 * 1024 * 1024
    with pytest.raises(FileRejected, match="文件超过 20 MB"):
        sniff(PDF + b"\0" * (20 * 1024 * 1024), "大文件.pdf")


def test_zip_bombs_are_refused_without_unpacking(app):
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", make_docx_types())
        archive.writestr("word/document.xml", b"<w:document/>")
        with archive.open("word/media/zeros.bin", "w") as member:
            for _ in range(16):
                member.write(bytes(1024 * 1024))  # 16 MB of zeros: deflates about 1000:1
    assert len(bomb.getvalue()) < 100_000
    with pytest.raises(FileRejected) as refused:
        sniff(bomb.getvalue(), "预案.docx")
    assert refused.value.rule == "archive"
    assert str(refused.value) == "预案.docx：文件解压后数据过大，已拒绝。"


def test_archives_with_too_many_members_are_refused(app):
    crowded = io.BytesIO()
    with zipfile.ZipFile(crowded, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("[Content_Types].xml", make_docx_types())
        archive.writestr("word/document.xml", b"<w:document/>")
        for i in range(MAX_ARCHIVE_MEMBERS):
            archive.writestr(f"word/media/{i}.txt", b"")
    with pytest.raises(FileRejected) as refused:
        sniff(crowded.getvalue(), "预案.docx")
    assert refused.value.rule == "archive"


def test_member_sizes_that_lie_cannot_unpack_more(app):
    """zipfile stops at a member's declared size: a lying header fails instead of flooding memory."""
    honest = io.BytesIO()
    with zipfile.ZipFile(honest, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", make_docx_types() + b" " * 5000)
        archive.writestr("word/document.xml", b"<w:document/>")
    data = bytearray(honest.getvalue())
    # Claim the first member is tiny, in both the local header and the central directory.
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        at = data.index(signature)
        struct.pack_into("<I", data, at + offset, 10)
    with pytest.raises(FileRejected) as refused:
        sniff(bytes(data), "预案.docx")
    assert refused.value.rule == "mismatch"


def make_docx_types() -> bytes:
    return (b'<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            b'<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-'
            b'officedocument.wordprocessingml.document.main+xml"/></Types>')


def test_english_messages_on_request(app):
    from flask_babel import force_locale

    with force_locale("en"), pytest.raises(FileRejected) as refused:
        sniff(PDF, "setup.exe")
    assert str(refused.value) == "setup.exe: file type .exe is not accepted; allowed are PDF, DOCX, XLSX, JPG and PNG."


# --- storage -----------------------------------------------------------------------------

def test_store_writes_once_by_content_hash(app):
    data = make_docx("应急组织机构及职责")
    blob = store(data, "预案.docx")
    digest = hashlib.sha256(data).hexdigest()
    assert blob == StoredBlob(sha256=digest, size=len(data), kind="docx")
    assert blob.mime_type == "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    path = path_for(digest)
    assert path == Path(app.instance_path) / "attachments" / digest[:2] / digest[2:4] / digest
    assert path.read_bytes() == data
    written = path.stat().st_mtime_ns

    again = store(data, "另一个名字.docx")
    assert again == blob
    assert path.stat().st_mtime_ns == written  # not rewritten
    assert [p.name for p in path.parent.iterdir()] == [digest]  # no temporary files
    with open_blob(digest) as handle:
        assert handle.read() == data


def test_store_without_a_name_judges_by_content(app):
    assert store(make_png()).kind == "png"
    with pytest.raises(FileRejected) as refused:
        store(b"#!/bin/sh\nrm -rf /\n")
    assert str(refused.value) == "文件内容不是 PDF、DOCX、XLSX、JPG 或 PNG。"
    with pytest.raises(FileRejected):
        store(b"")


def test_refused_files_are_not_stored(app):
    with pytest.raises(FileRejected):
        store(PDF, "x.exe")
    assert not attachment_root().exists()


def test_a_damaged_stored_copy_is_replaced(app):
    blob = store(PDF, "a.pdf")
    path = path_for(blob.sha256)
    path.write_bytes(PDF[:5])
    store(PDF, "a.pdf")
    assert path.read_bytes() == PDF


def test_attachment_dir_is_configurable(app, tmp_path):
    app.config["ATTACHMENT_DIR"] = str(tmp_path / "elsewhere")
    blob = store(PDF, "a.pdf")
    assert path_for(blob.sha256).is_relative_to(tmp_path / "elsewhere")
    assert path_for(blob.sha256).is_file()


@pytest.mark.parametrize("bad", [
    "../../etc/passwd",
    "a" * 63,
    "a" * 65,
    "A" * 64,
    "g" * 64,
    "/" + "a" * 63,
    "aa/" + "a" * 61,
    "a" * 64 + "\n",
    "",
    None,
])
def test_hashes_are_checked_before_touching_the_disk(app, bad):
    with pytest.raises(ValueError):
        path_for(bad)
    with pytest.raises(ValueError):
        open_blob(bad)


def test_a_missing_blob_is_file_not_found(app):
    with pytest.raises(FileNotFoundError):
        open_blob("0" * 64)
