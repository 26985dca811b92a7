"""Excel sheets with Chinese column headers: templates, exports and all-or-nothing imports.

A domain describes its sheet once (``Sheet``: a title and ``Column``s); this module writes the
template and the export (every cell through ``neutralise``: no exported text becomes a formula), reads an uploaded workbook into rows keyed by field, and collects
every problem as a ``RowError`` (row as Excel numbers it, column header, reason). Importers
raise ``ImportRejected`` with all errors at once, so nothing is written unless every row is
valid.
"""
from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from typing import IO, Any

from flask_babel import gettext as _
from marshmallow import ValidationError
from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import InvalidFileException

from emergency.core.validation import localise_errors

MAX_ROWS = 5000
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_HEADER_FONT = Font(bold=True)
_HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")


@dataclass(frozen=True)
class Column:
    field: str
    #: The Chinese header: the sheet's contract with the people who fill it in.
    header: str
    example: str = ""
    required: bool = False


@dataclass
class RowError:
    #: Row number as Excel shows it (the header is row 1; 0 for the file as a whole).
    row: int
    #: Column header, or "" for errors about the whole row.
    column: str
    message: str


class ImportRejected(Exception):
    """The sheet has errors; nothing was imported."""

    def __init__(self, errors: list[RowError]):
        super().__init__(f"{len(errors)} errors")
        self.errors = sorted(errors, key=lambda e: e.row)  # stable: columns keep sheet order


@dataclass(frozen=True)
class Sheet:
    title: str
    columns: tuple[Column, ...]

    def rejected(self, errors: list[RowError]) -> ImportRejected:
        """All errors, by row and then in the sheet's column order."""
        order = {c.header: i for i, c in enumerate(self.columns, start=1)}
        return ImportRejected(sorted(errors, key=lambda e: (e.row, order.get(e.column, 0))))

    def header(self, field: str) -> str:
        return next((c.header for c in self.columns if c.field == field), field)

    def _new(self) -> tuple[Workbook, Any]:
        workbook = Workbook()
        sheet = workbook.active
        sheet.title = self.title
        _append(sheet, [c.header for c in self.columns])
        for cell in sheet[1]:
            cell.font = _HEADER_FONT
            cell.fill = _HEADER_FILL
        for index, column in enumerate(self.columns, start=1):
            sheet.column_dimensions[get_column_letter(index)].width = max(12, len(column.header) * 2 + 4)
        sheet.freeze_panes = "A2"
        return workbook, sheet

    def template(self, help_rows: Iterable[Iterable[Any]] = ()) -> bytes:
        """Headers, one example row, and a sheet of instructions."""
        workbook, sheet = self._new()
        _append(sheet, [c.example for c in self.columns])
        help_sheet = workbook.create_sheet("填写说明")
        _append(help_sheet, ["列", "说明"])
        required = "、".join(c.header for c in self.columns if c.required)
        _append(help_sheet, ["必填列", required])
        for row in help_rows:
            _append(help_sheet, row)
        help_sheet.column_dimensions["A"].width = 32
        help_sheet.column_dimensions["B"].width = 60
        return _save(workbook)

    def export(self, rows: Iterable[dict[str, Any]]) -> bytes:
        """One row per dict (keyed by field); the same columns as the import reads."""
        workbook, sheet = self._new()
        for values in rows:
            _append(sheet, [values.get(c.field) for c in self.columns])
        return _save(workbook)

    def read(self, stream: IO[bytes], max_rows: int = MAX_ROWS) -> list[tuple[int, dict[str, str]]]:
        """The data rows as ``(row number, {field: text})``; blank rows are skipped.

        Raises ``ImportRejected`` when the file is not a workbook, a required column is
        missing, there are no data rows or more than ``max_rows``.
        """
        try:
            workbook = load_workbook(stream, read_only=True, data_only=True)
        except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
            raise ImportRejected([RowError(0, "", _("The file is not an Excel workbook (.xlsx)."))]) from exc
        try:
            return self._read_sheet(workbook.worksheets[0], max_rows)
        finally:
            workbook.close()  # a read-only workbook keeps the file open until closed

    def _read_sheet(self, sheet: Any, max_rows: int) -> list[tuple[int, dict[str, str]]]:
        rows = sheet.iter_rows(values_only=True)
        header_row = next(rows, None)
        if header_row is None:
            raise ImportRejected([RowError(1, "", _("The sheet is empty."))])
        headers = [cell_text(h) for h in header_row]
        missing = [c.header for c in self.columns if c.required and c.header not in headers]
        if missing:
            raise ImportRejected([
                RowError(1, header, _("This column is missing from the header row.")) for header in missing])
        field_by_header = {c.header: c.field for c in self.columns}
        result: list[tuple[int, dict[str, str]]] = []
        for row_number, row in enumerate(rows, start=2):
            cells = {field_by_header[headers[i]]: cell_text(v) for i, v in enumerate(row)
                     if i < len(headers) and headers[i] in field_by_header}
            if not any(cells.values()):
                continue  # blank lines between data are harmless
            if len(result) >= max_rows:
                raise ImportRejected([RowError(
                    row_number, "", _("At most %(n)s rows can be imported at once.", n=max_rows))])
            result.append((row_number, cells))
        if not result:
            raise ImportRejected([RowError(2, "", _("The sheet has no data rows."))])
        return result

    def schema_errors(self, row: int, error: ValidationError, *, skip: Iterable[str] = (),
                      field_columns: dict[str, str] | None = None) -> list[RowError]:
        """A schema's errors for one row, in the reader's language, by column header.

        ``field_columns`` maps schema fields to sheet fields where they differ (``township_id``
        is read from the ``township`` column); columns in ``skip`` already have an error.
        """
        errors = []
        skip = set(skip)
        for field, messages in localise_errors(error.messages).items():
            column = self.header((field_columns or {}).get(field, field))
            if column in skip:
                continue
            for message in messages if isinstance(messages, list) else [messages]:
                errors.append(RowError(row, column, str(message)))
        return errors


#: A cell whose text begins with one of these is read as a formula by Excel, LibreOffice
#: and CSV importers (OWASP "CSV injection"): ``=HYPERLINK(...)``, ``=cmd|' /C calc'!A0``.
FORMULA_TRIGGERS = frozenset("=+-@\t\r")


def neutralise(value: Any) -> Any:
    """A value as written into any exported cell: text that could start a formula gets a
    leading apostrophe (so ``+8613800138000`` is written ``'+8613800138000``).

    Text that already starts with apostrophes before such a character gets one more, so
    ``restore`` gives back exactly what was exported, whatever it was.
    """
    if value is None:
        return ""
    if isinstance(value, str) and value.lstrip("'")[:1] in FORMULA_TRIGGERS:
        return "'" + value
    return value


def restore(text: str) -> str:
    """The inverse of ``neutralise`` for a cell read back in (the import side)."""
    if text.startswith("'") and text.lstrip("'")[:1] in FORMULA_TRIGGERS:
        return text[1:]
    return text


def cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return restore(str(value)).strip()


def _append(sheet: Any, values: Iterable[Any]) -> None:
    """Every row of every sheet written here goes through ``neutralise``."""
    sheet.append([neutralise(v) for v in values])


def _save(workbook: Workbook) -> bytes:
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
