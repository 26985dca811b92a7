"""Import a plan written in Word (.docx) as sections of sanitised rich text.

Each paragraph in a heading style of level 1–3 starts a section. A heading is recognised by
its style name (``Heading 1``… as Word stores its built-in styles even in Chinese Word, or
``标题 1``… as WPS may), by a base style that is one, or by an outline level set on the
paragraph or its style. What follows a heading becomes its section's HTML, in body order:
paragraphs as ``<p>`` (bold, italic and underline kept), numbered and bulleted paragraphs as
``<ol>``/``<ul>`` (nested by list level), tables as ``<table>`` (merged cells as
colspan/rowspan), deeper headings as ``<h4>``; then ``richtext.sanitize`` has the last word.
Text before the first heading becomes a leading section titled "前言" (Preamble).

Not imported: images, text boxes, footnotes, comments, tracked insertions, and content
controls at body level (which is where Word keeps its automatic table of contents).
"""
from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass

import docx
from docx.opc.exceptions import PackageNotFoundError
from docx.table import Table, _Cell
from docx.text.paragraph import Paragraph
from flask_babel import gettext as _
from lxml import etree
from markupsafe import escape
from marshmallow import ValidationError

from emergency.files import FileRejected, display_name, sniff

from .richtext import sanitize

_HEADING_STYLE = re.compile(r"^(?:heading|标题)\s*([1-9])$", re.IGNORECASE)
_LIST_STYLE_LEVEL = re.compile(r"^(?:list|列表).*?\s([2-9])$", re.IGNORECASE)
_TOC_STYLE = re.compile(r"^(?:toc|目录)\s*[1-9]$", re.IGNORECASE)
_WHITESPACE = re.compile(r"\s+")
#: python-docx and lxml raise these for damaged packages and parts.
_DAMAGED = (PackageNotFoundError, zipfile.BadZipFile, etree.XMLSyntaxError, KeyError, ValueError, TypeError,
            AttributeError, IndexError, NotImplementedError)


@dataclass(frozen=True)
class ImportedSection:
    """A section found in the document: heading text, heading level (1–3) and sanitised HTML."""

    title: str
    level: int
    html: str


def import_docx(data: bytes, filename: str = "document.docx") -> list[ImportedSection]:
    """Sections of a Word document; ValidationError (FileRejected) for anything but a sound .docx."""
    kind = sniff(data, filename)
    if kind != "docx":
        raise FileRejected(_("%(name)s: only Word documents (.docx) can be imported.", name=display_name(filename)),
                           filename=filename, rule="type")
    try:
        document = docx.Document(io.BytesIO(data))
        return _Importer(document).sections()
    except _DAMAGED as exc:
        raise ValidationError(_("%(name)s cannot be read as a Word document; it may be damaged.",
                                name=display_name(filename)), field_name="file") from exc


class _Importer:
    def __init__(self, document) -> None:
        self.document = document
        self.numbering = self._numbering_element()
        self.sections_found: list[ImportedSection] = []
        self.title: str | None = None
        self.level = 1
        self.parts: list[str] = []
        self.list_items: list[tuple[int, str, str]] = []

    def sections(self) -> list[ImportedSection]:
        for block in self.document.iter_inner_content():
            if isinstance(block, Paragraph):
                self._paragraph(block)
            elif isinstance(block, Table):
                self._flush_list()
                self.parts.append(self._table(block))
        self._close_section()
        return self.sections_found

    # --- sections ---

    def _close_section(self) -> None:
        self._flush_list()
        html = sanitize("".join(self.parts))
        if self.title is not None:
            self.sections_found.append(ImportedSection(self.title, self.level, html))
        elif html:
            self.sections_found.append(ImportedSection(_("Preamble"), 1, html))
        self.parts = []

    def _paragraph(self, paragraph: Paragraph) -> None:
        style_name = paragraph.style.name if paragraph.style is not None else ""
        if style_name and _TOC_STYLE.match(style_name):
            return  # a table-of-contents line repeats a heading
        level = self._heading_level(paragraph)
        if level is not None:
            title = _WHITESPACE.sub(" ", paragraph.text).strip()
            if not title:
                return
            if level <= 3:
                self._close_section()
                self.title, self.level = title, level
            else:
                self._flush_list()
                self.parts.append(f"<h4>{escape(title)}</h4>")
            return
        content = self._runs_html(paragraph)
        if not content:
            return
        listed = self._list_info(paragraph)
        if listed is not None:
            self.list_items.append((*listed, content))
            return
        self._flush_list()
        self.parts.append(f"<p>{content}</p>")

    # --- headings ---

    def _heading_level(self, paragraph: Paragraph) -> int | None:
        own = paragraph._p.xpath("./w:pPr/w:outlineLvl/@w:val")
        if own:
            return _outline_level(own[0])
        style = paragraph.style
        for _depth in range(10):  # base-style chains are short; never loop on a cycle
            if style is None:
                return None
            match = _HEADING_STYLE.match(_WHITESPACE.sub(" ", style.name or "").strip())
            if match:
                return int(match.group(1))
            outline = style.element.xpath("./w:pPr/w:outlineLvl/@w:val")
            if outline:
                return _outline_level(outline[0])
            style = style.base_style
        return None

    # --- runs ---

    def _runs_html(self, paragraph: Paragraph) -> str:
        pieces: list[tuple[tuple[bool, bool, bool], str]] = []
        for item in paragraph.iter_inner_content():
            for run in getattr(item, "runs", None) or [item]:  # a hyperlink holds runs
                text = run.text.replace("\t", " ")
                if not text:
                    continue
                marks = (_flag(run, "bold"), _flag(run, "italic"), _flag(run, "underline"))
                if pieces and pieces[-1][0] == marks:
                    pieces[-1] = (marks, pieces[-1][1] + text)
                else:
                    pieces.append((marks, text))
        if not "".join(text for _marks, text in pieces).strip():
            return ""
        html = []
        for (bold, italic, underline), text in pieces:
            piece = str(escape(text)).replace("\n", "<br>")
            if underline:
                piece = f"<u>{piece}</u>"
            if italic:
                piece = f"<em>{piece}</em>"
            if bold:
                piece = f"<strong>{piece}</strong>"
            html.append(piece)
        return "".join(html).strip()

    # --- lists ---

    def _numbering_element(self):
        try:
            return self.document.part.numbering_part.element
        except (KeyError, NotImplementedError, AttributeError):
            return None

    def _list_info(self, paragraph: Paragraph) -> tuple[int, str] | None:
        """(list level, "ul" or "ol") for a numbered or bulleted paragraph, else None."""
        num_id, ilvl = _num_pr(paragraph._p)
        style = paragraph.style
        for _depth in range(10):
            if num_id is not None or style is None:
                break
            num_id, style_ilvl = _num_pr(style.element)
            ilvl = ilvl if ilvl is not None else style_ilvl
            style = style.base_style
        if num_id is None or num_id == "0":  # numId 0 switches numbering off
            return None
        level = int(ilvl) if ilvl is not None and ilvl.isdigit() else 0
        name = paragraph.style.name if paragraph.style is not None else ""
        nested_style = _LIST_STYLE_LEVEL.match(name)
        if level == 0 and nested_style:  # "List Bullet 2" nests by its own numbering, at level 0
            level = int(nested_style.group(1)) - 1
        fmt = self._number_format(num_id, int(ilvl) if ilvl is not None and ilvl.isdigit() else 0)
        if fmt is None:
            fmt = "decimal" if re.search(r"number|编号", name, re.IGNORECASE) else "bullet"
        return min(level, 8), "ul" if fmt in ("bullet", "none") else "ol"

    def _number_format(self, num_id: str, level: int) -> str | None:
        if self.numbering is None or not num_id.isdigit():
            return None
        num = self.numbering.xpath(f'./w:num[@w:numId="{int(num_id)}"]')
        if not num:
            return None
        override = num[0].xpath(f'./w:lvlOverride[@w:ilvl="{level}"]/w:lvl/w:numFmt/@w:val')
        if override:
            return override[0]
        abstract = num[0].xpath("./w:abstractNumId/@w:val")
        if not abstract or not abstract[0].isdigit():
            return None
        definition = f'./w:abstractNum[@w:abstractNumId="{int(abstract[0])}"]'
        for candidate in range(level, -1, -1):  # an undefined level looks like the one above it
            fmt = self.numbering.xpath(f'{definition}/w:lvl[@w:ilvl="{candidate}"]/w:numFmt/@w:val')
            if fmt:
                return fmt[0]
        return None

    def _flush_list(self) -> None:
        if self.list_items:
            self.parts.append(_lists_html(self.list_items))
            self.list_items = []

    # --- tables ---

    def _table(self, table: Table) -> str:
        rows = table._tbl.tr_lst
        layout: list[list[tuple[int, int, str | None, object]]] = []
        for tr in rows:
            column = tr.grid_before
            cells = []
            for tc in tr.tc_lst:
                span = max(tc.grid_span, 1)
                cells.append((column, span, tc.vMerge, tc))
                column += span
            layout.append(cells)

        header_rows = 0
        for tr in rows:
            if not tr.xpath("./w:trPr/w:tblHeader[not(@w:val) or @w:val!='0' and @w:val!='false']"):
                break
            header_rows += 1

        html_rows: list[str] = []
        for index, cells in enumerate(layout):
            tag = "th" if index < header_rows else "td"
            out = []
            for column, span, merge, tc in cells:
                if merge == "continue":
                    continue
                rowspan = 1
                if merge == "restart":
                    for below in layout[index + 1:]:
                        if any(c == column and m == "continue" for c, _s, m, _tc in below):
                            rowspan += 1
                        else:
                            break
                attributes = (f' colspan="{span}"' if span > 1 else "") + (
                    f' rowspan="{rowspan}"' if rowspan > 1 else "")
                out.append(f"<{tag}{attributes}>{self._cell_html(_Cell(tc, table))}</{tag}>")
            if out:
                html_rows.append("<tr>" + "".join(out) + "</tr>")
        if not html_rows:
            return ""
        head, body = html_rows[:header_rows], html_rows[header_rows:]
        return ("<table>" + (f"<thead>{''.join(head)}</thead>" if head else "")
                + (f"<tbody>{''.join(body)}</tbody>" if body else "") + "</table>")

    def _cell_html(self, cell: _Cell) -> str:
        lines = []
        for block in cell.iter_inner_content():
            if isinstance(block, Paragraph):
                content = self._runs_html(block)
                if content:
                    lines.append(content)
            else:  # a table inside a cell: its rows as lines of text
                for row in block.rows:
                    texts = [c.text.strip() for c in row.cells]
                    if any(texts):
                        lines.append(str(escape(" | ".join(texts))))
        return "<br>".join(lines)


def _outline_level(value: str) -> int | None:
    """Word's outline level 0–8 is heading level 1–9; 9 means body text."""
    return int(value) + 1 if value.isdigit() and int(value) < 9 else None


def _num_pr(element) -> tuple[str | None, str | None]:
    num_id = element.xpath("./w:pPr/w:numPr/w:numId/@w:val")
    ilvl = element.xpath("./w:pPr/w:numPr/w:ilvl/@w:val")
    return (num_id[0] if num_id else None), (ilvl[0] if ilvl else None)


def _flag(run, name: str) -> bool:
    """A run's bold/italic/underline, set on the run itself or by its character style."""
    value = getattr(run, name)
    if value is None and run.style is not None:
        value = getattr(run.style.font, name)
    return bool(value)


def _lists_html(items: list[tuple[int, str, str]]) -> str:
    """Nested <ul>/<ol> from (level, tag, item HTML), levels counted from 0."""
    out: list[str] = []
    stack: list[str] = []
    for level, tag, content in items:
        depth = level + 1
        while len(stack) > depth:
            out.append(f"</li></{stack.pop()}>")
        if len(stack) == depth:
            if stack[-1] == tag:
                out.append("</li>")
            else:
                out.append(f"</li></{stack.pop()}>")
        while len(stack) < depth:
            out.append(f"<{tag}>")
            stack.append(tag)
            if len(stack) < depth:
                out.append("<li>")  # holds a list that skips a level
        out.append(f"<li>{content}")
    while stack:
        out.append(f"</li></{stack.pop()}>")
    return "".join(out)


__all__ = ["ImportedSection", "import_docx"]
