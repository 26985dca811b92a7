"""Attachments: checked by content, stored once by SHA-256 under ``ATTACHMENT_DIR``.

An upload is accepted only when its extension is one we take *and* its bytes are of that
kind (``sniff``). Word and Excel files are ZIP archives: their directory is read with
``zipfile`` without extracting anything, and archives that would unpack to too much (zip
bombs) are refused. ``zipfile`` never returns more than a member's declared size (a member
that holds more fails its CRC check), so the declared sizes checked here are real bounds.

Stored files are named by their SHA-256 (``ab/cd/abcd…``): identical content is kept once,
and a file never changes after it was written (atomically: temporary file, then rename).
"""
from __future__ import annotations

import hashlib
import io
import os
import re
import tempfile
import zipfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import BinaryIO

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from marshmallow import ValidationError
from sqlalchemy.orm import Mapped, mapped_column

from emergency.core.timeutil import UTCDateTime, utcnow

#: Kind → the extensions that may carry it.
EXTENSIONS: dict[str, tuple[str, ...]] = {
    "pdf": (".pdf",),
    "docx": (".docx",),
    "xlsx": (".xlsx",),
    "jpg": (".jpg", ".jpeg"),
    "png": (".png",),
}
MIME_TYPES: dict[str, str] = {
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "jpg": "image/jpeg",
    "png": "image/png",
}
_KIND_OF_EXTENSION = {ext: kind for kind, exts in EXTENSIONS.items() for ext in exts}

# The main part's content type in [Content_Types].xml. Macro-enabled (.docm, .xlsm) and
# template (.dotx, .xltx) files declare other types and are refused.
_WORD_MAIN = b"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
_EXCEL_MAIN = b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"

#: Zip-bomb guards for DOCX/XLSX: members, total unpacked size, and compression ratio.
MAX_ARCHIVE_MEMBERS = 10_000
MAX_UNPACKED_BYTES = 256 * 1024 * 1024
MAX_COMPRESSION_RATIO = 200
_MAX_CONTENT_TYPES_BYTES = 1024 * 1024

_SHA256 = re.compile(r"[0-9a-f]{64}")


class FileRejected(ValidationError):
    """An upload we refuse. The message names the file and the rule, in the user's language.

    ``rule`` is one of ``type``, ``empty``, ``too_large``, ``mismatch``, ``archive``.
    """

    def __init__(self, message: str, *, filename: str, rule: str, field_name: str = "file") -> None:
        super().__init__(message, field_name=field_name)
        self.filename = filename
        self.rule = rule


@dataclass(frozen=True)
class StoredBlob:
    """A stored attachment: its content hash (the name), size in bytes and kind."""

    sha256: str
    size: int
    kind: str

    @property
    def mime_type(self) -> str:
        return MIME_TYPES[self.kind]


class _UnsafeArchive(Exception):
    pass


def max_bytes() -> int:
    return int(current_app.config.get("ATTACHMENT_MAX_BYTES", 20 * 1024 * 1024))


def sniff(data: bytes, filename: str) -> str:
    """The kind of an upload (pdf/docx/xlsx/jpg/png), or FileRejected saying why not."""
    name = display_name(filename)
    extension = PurePosixPath(filename.replace("\\", "/")).suffix.lower()
    expected = _KIND_OF_EXTENSION.get(extension)
    if expected is None:
        if not extension:
            message = _("%(name)s: the file name has no extension; allowed are PDF, DOCX, XLSX, JPG and PNG.",
                        name=name)
        else:
            message = _("%(name)s: file type %(extension)s is not accepted; allowed are PDF, DOCX, XLSX, JPG "
                        "and PNG.", name=name, extension=extension)
        raise FileRejected(message, filename=filename, rule="type")
    _check_size(data, filename)
    try:
        actual = detect_kind(data)
    except _UnsafeArchive:
        raise FileRejected(_("%(name)s: the archive would unpack to too much data and is refused.", name=name),
                           filename=filename, rule="archive") from None
    if actual != expected:
        raise FileRejected(_("%(name)s: the content does not match the extension %(extension)s.",
                             name=name, extension=extension), filename=filename, rule="mismatch")
    return expected


def detect_kind(data: bytes) -> str | None:
    """The kind of ``data`` judged by its content alone, or None.

    Raises _UnsafeArchive for a ZIP that would unpack to too much.
    """
    if data.startswith(b"%PDF-"):
        return "pdf"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpg"
    if data.startswith(b"PK\x03\x04"):
        return _office_kind(data)
    return None


def _office_kind(data: bytes) -> str | None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
            if len(members) > MAX_ARCHIVE_MEMBERS:
                raise _UnsafeArchive
            if sum(member.file_size for member in members) > MAX_UNPACKED_BYTES:
                raise _UnsafeArchive
            for member in members:
                if member.file_size > 1024 * 1024 and (
                    member.file_size > MAX_COMPRESSION_RATIO * max(member.compress_size, 1)
                ):
                    raise _UnsafeArchive
            names = {member.filename for member in members}
            if "[Content_Types].xml" not in names:
                return None
            info = archive.getinfo("[Content_Types].xml")
            if info.file_size > _MAX_CONTENT_TYPES_BYTES:
                return None
            content_types = archive.read(info)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError, NotImplementedError,
            RuntimeError):  # RuntimeError: an encrypted member
        return None
    if "word/document.xml" in names and _WORD_MAIN in content_types:
        return "docx"
    if "xl/workbook.xml" in names and _EXCEL_MAIN in content_types:
        return "xlsx"
    return None


def _check_size(data: bytes, filename: str | None) -> None:
    name = display_name(filename) if filename else _("The file")
    if not data:
        raise FileRejected(_("%(name)s: the file is empty.", name=name), filename=filename or "", rule="empty")
    limit = max_bytes()
    if len(data) > limit:
        raise FileRejected(_("%(name)s: the file is larger than %(limit)s MB.", name=name,
                             limit=f"{limit / (1024 * 1024):g}"), filename=filename or "", rule="too_large")


#: Longest name kept for a stored attachment (the columns hold 200 characters).
MAX_NAME_LENGTH = 200


def safe_name(filename: str | None) -> str:
    """The name to keep and to send back for an upload: its own name only.

    No folders (``../``, ``C:\\``), no control characters or lone surrogates, no leading dots
    or spaces, at most MAX_NAME_LENGTH characters with the extension kept; "file" when nothing
    is left. Used for every stored attachment and every Content-Disposition.
    """
    base = PurePosixPath((filename or "").replace("\\", "/")).name
    base = "".join(ch for ch in base if ch.isprintable() and not 0xD800 <= ord(ch) <= 0xDFFF)
    base = base.lstrip(". ").strip()
    if len(base) > MAX_NAME_LENGTH:
        _stem, dot, extension = base.rpartition(".")
        keep = f"{dot}{extension}" if dot and len(extension) <= 10 else ""
        base = base[: MAX_NAME_LENGTH - len(keep)] + keep
    return base or "file"


def display_name(filename: str) -> str:
    """The file's own name (``safe_name``), shortened for messages."""
    base = safe_name(filename)
    return base if len(base) <= 80 else base[:60] + "…" + base[-15:]


# --- storage -----------------------------------------------------------------------------

def attachment_root() -> Path:
    configured = current_app.config.get("ATTACHMENT_DIR")
    return Path(configured) if configured else Path(current_app.instance_path) / "attachments"


def path_for(sha256: str) -> Path:
    """Where the blob with this hash lives; ValueError unless it is a lowercase SHA-256 hex digest."""
    if not isinstance(sha256, str) or not _SHA256.fullmatch(sha256):
        raise ValueError("not a SHA-256 hex digest")
    return attachment_root() / sha256[:2] / sha256[2:4] / sha256


def store(data: bytes, filename: str | None = None) -> StoredBlob:
    """Check and store an attachment once; storing the same content again changes nothing.

    With ``filename`` the upload is checked with ``sniff`` (extension and content must agree);
    without, its content alone must be one of the accepted kinds.
    """
    if filename is not None:
        kind = sniff(data, filename)
    else:
        _check_size(data, None)
        try:
            kind = detect_kind(data)
        except _UnsafeArchive:
            kind = None
        if kind is None:
            raise FileRejected(_("The file's content is not PDF, DOCX, XLSX, JPG or PNG."), filename="",
                               rule="type")
    digest = hashlib.sha256(data).hexdigest()
    path = path_for(digest)
    if not (path.is_file() and path.stat().st_size == len(data)):
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, data)
    return StoredBlob(sha256=digest, size=len(data), kind=kind)


def open_blob(sha256: str) -> BinaryIO:
    """The stored blob, opened for reading (FileNotFoundError when there is none)."""
    return path_for(sha256).open("rb")


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file, or none, or all of it."""
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, 0o640)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    try:  # make the rename itself durable
        directory = os.open(path.parent, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(directory)
    except OSError:
        pass
    finally:
        os.close(directory)


__all__ = [
    "EXTENSIONS",
    "MIME_TYPES",
    "FileRejected",
    "StoredBlob",
    "attachment_root",
    "detect_kind",
    "open_blob",
    "path_for",
    "safe_name",
    "sniff",
    "store",
    "write_atomic",
]


class StoredFileMixin:
    """The columns of every uploaded file stored by content hash (plan attachments, drill files):
    its name as uploaded (made safe), hash, size, checked type, who uploaded it and when."""

    filename: Mapped[str] = mapped_column(sa.String(200))
    sha256: Mapped[str] = mapped_column(sa.String(64))
    size: Mapped[int] = mapped_column()
    #: pdf / docx / xlsx / jpg / png (checked against the content).
    file_type: Mapped[str] = mapped_column(sa.String(10))
    uploaded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
