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

Cost is linear in the document and bounded. Styles are read once per document into a map by
style id (python-docx's ``paragraph.style`` scans every style on each call, about ten times a
paragraph: minutes for a few thousand paragraphs), and numbering definitions once into maps
by id. Before anything is parsed, ``measure`` reads the archive's directory (the unpacked XML
size) and streams the main part counting paragraphs, tables and table cells, stopping as soon
as a limit is passed (``DOCX_IMPORT_MAX_*`` in the configuration): a file over a limit is a
field error on ``file`` that names the limit.
"""
from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import PurePosixPath

import docx
from docx.opc.exceptions import PackageNotFoundError
from docx.oxml.ns import nsmap, qn
from docx.table import Table, _Cell
from docx.text.font import Font
from docx.text.paragraph import Paragraph
from flask import current_app
from flask_babel import gettext as _
from lxml import etree
from markupsafe import escape
from marshmallow import ValidationError

from emergency.core.files import FileRejected, display_name, sniff

from plans.documents.richtext import sanitize

_HEADING_STYLE = re.compile(r"^(?:heading|标题)\s*([1-9])$", re.IGNORECASE)
_LIST_STYLE_LEVEL = re.compile(r"^(?:list|列表).*?\s([2-9])$", re.IGNORECASE)
_TOC_STYLE = re.compile(r"^(?:toc|目录)\s*[1-9]$", re.IGNORECASE)
_WHITESPACE = re.compile(r"\s+")
#: python-docx and lxml raise these for damaged packages and parts.
_DAMAGED = (PackageNotFoundError, zipfile.BadZipFile, etree.XMLSyntaxError, KeyError, ValueError, TypeError,
            AttributeError, IndexError, NotImplementedError, RecursionError)
_WORD_MAIN = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
#: Compiled once; works on any element (python-docx does not give every element its own class).
_LEVEL_FORMAT = etree.XPath("./w:lvl[@w:ilvl=$ilvl]/w:numFmt/@w:val", namespaces={"w": nsmap["w"]})
_OUTLINE_LEVEL = etree.XPath("./w:pPr/w:outlineLvl/@w:val", namespaces={"w": nsmap["w"]})
_NUM_ID = etree.XPath("./w:pPr/w:numPr/w:numId/@w:val", namespaces={"w": nsmap["w"]})
_NUM_LEVEL = etree.XPath("./w:pPr/w:numPr/w:ilvl/@w:val", namespaces={"w": nsmap["w"]})
_W_P, _W_TBL, _W_TC = qn("w:p"), qn("w:tbl"), qn("w:tc")
#: Defaults of the limits (the configuration's DOCX_IMPORT_MAX_*): real plans have 3,000–5,000 paragraphs.
DEFAULT_LIMITS = {"paragraphs": 20_000, "tables": 2_000, "cells": 100_000, "xml_bytes": 40 * 1024 * 1024}
#: How often (in body blocks) the importer reports progress.
PROGRESS_EVERY = 200


@dataclass(frozen=True)
class ImportedSection:
    """A section found in the document: heading text, heading level (1–3) and sanitised HTML."""

    title: str
    level: int
    html: str


@dataclass(frozen=True)
class DocxShape:
    """What a .docx holds, counted before parsing: its main part's paragraphs, tables and table
    cells (all of them, nested ones too), and the unpacked size of its XML parts."""

    paragraphs: int
    tables: int
    cells: int
    xml_bytes: int


def limits() -> dict[str, int]:
    """The configured import limits (DOCX_IMPORT_MAX_PARAGRAPHS, _TABLES, _CELLS, _XML_BYTES)."""
    config = current_app.config
    return {key: int(config.get(f"DOCX_IMPORT_MAX_{key.upper()}") or default)
            for key, default in DEFAULT_LIMITS.items()}


def import_docx(data: bytes, filename: str = "document.docx",
                progress: Callable[[int, int], None] | None = None) -> list[ImportedSection]:
    """Sections of a Word document; ValidationError (FileRejected) for anything but a sound .docx
    within the limits. ``progress(done, total)`` is called every few hundred body blocks."""
    measure(data, filename)
    try:
        document = docx.Document(io.BytesIO(data))
        return _Importer(document, progress).sections()
    except _DAMAGED as exc:
        raise _damaged(filename) from exc


def measure(data: bytes, filename: str = "document.docx") -> DocxShape:
    """Check an upload is a .docx within the limits without parsing it; its shape.

    The unpacked XML size comes from the archive's directory (``zipfile`` never returns more
    than a member's declared size). The main part is then streamed once, counting, and the
    count stops at the first limit passed. FileRejected (rule ``too_large``) names the limit.
    """
    if sniff(data, filename) != "docx":
        raise FileRejected(_("%(name)s: only Word documents (.docx) can be imported.", name=display_name(filename)),
                           filename=filename, rule="type")
    bounds = limits()
    name = display_name(filename)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            main, xml_bytes = _xml_parts(archive)
            if xml_bytes > bounds["xml_bytes"]:
                raise FileRejected(_("%(name)s unpacks to %(size)s MB of XML, more than the import limit of "
                                     "%(limit)s MB.", name=name, size=_megabytes(xml_bytes),
                                     limit=_megabytes(bounds["xml_bytes"])), filename=filename, rule="too_large")
            counts = {_W_P: 0, _W_TBL: 0, _W_TC: 0}
            names = {_W_P: "paragraphs", _W_TBL: "tables", _W_TC: "cells"}
            with archive.open(main) as stream:
                for _event, element in etree.iterparse(stream, events=("end",), tag=tuple(counts),
                                                       resolve_entities=False, no_network=True, load_dtd=False):
                    counts[element.tag] += 1
                    if counts[element.tag] > bounds[names[element.tag]]:
                        raise _over_limit(name, filename, names[element.tag], bounds[names[element.tag]])
                    element.clear(keep_tail=True)
    except _DAMAGED as exc:
        raise _damaged(filename) from exc
    return DocxShape(paragraphs=counts[_W_P], tables=counts[_W_TBL], cells=counts[_W_TC], xml_bytes=xml_bytes)


def _xml_parts(archive: zipfile.ZipFile) -> tuple[str, int]:
    """The main document part's member name, and the unpacked size of every XML part.

    A part is XML when its content type says so (by its name or its extension) or it is a
    relationships part: those are the parts python-docx parses.
    """
    types = etree.fromstring(archive.read("[Content_Types].xml"),
                             etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False))
    defaults = {e.get("Extension", "").lower(): e.get("ContentType", "") for e in types
                if isinstance(e.tag, str) and e.tag.endswith("}Default")}
    overrides = {e.get("PartName", "").lower(): e.get("ContentType", "") for e in types
                 if isinstance(e.tag, str) and e.tag.endswith("}Override")}
    main = next((part for part, kind in overrides.items() if kind == _WORD_MAIN), None)
    members = {info.filename.lower(): info for info in archive.infolist()}
    if main is None or main.lstrip("/") not in members:
        raise KeyError("no main document part")
    xml_bytes = 0
    for lowered, info in members.items():
        kind = overrides.get("/" + lowered) or defaults.get(PurePosixPath(lowered).suffix.lstrip("."), "")
        if lowered.endswith(".rels") or kind.endswith("xml"):
            xml_bytes += info.file_size
    return members[main.lstrip("/")].filename, xml_bytes


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f}".removesuffix(".0")


def _over_limit(name: str, filename: str, what: str, limit: int) -> FileRejected:
    messages = {
        "paragraphs": _("%(name)s has more than %(limit)s paragraphs, the import limit.", name=name, limit=limit),
        "tables": _("%(name)s has more than %(limit)s tables, the import limit.", name=name, limit=limit),
        "cells": _("%(name)s has more than %(limit)s table cells, the import limit.", name=name, limit=limit),
    }
    return FileRejected(messages[what], filename=filename, rule="too_large")


def _damaged(filename: str) -> ValidationError:
    return ValidationError(_("%(name)s cannot be read as a Word document; it may be damaged.",
                             name=display_name(filename)), field_name="file")


@dataclass(frozen=True)
class _Style:
    """A style as the importer needs it, with what it inherits from its base styles resolved."""

    name: str
    #: Heading level from the style's name or outline level (own or inherited), else None.
    heading: int | None
    #: Numbering from the style chain: numId of the first style that has one, and the first ilvl on the way.
    num_id: str | None
    ilvl: str | None
    #: A character style's own bold, italic and underline (tri-state, as python-docx reads them).
    bold: bool | None
    italic: bool | None
    underline: object


class _Styles:
    """Every style of the document, read once: lookups by style id are dictionary lookups."""

    def __init__(self, document) -> None:
        try:
            root = document.styles.element
        except (KeyError, NotImplementedError, AttributeError):
            root = None
        self.elements: dict[tuple[str, str], object] = {}
        self.defaults: dict[str, str] = {}
        for element in (root.iterchildren(qn("w:style")) if root is not None else ()):
            kind, style_id = element.get(qn("w:type")) or "paragraph", element.get(qn("w:styleId")) or ""
            self.elements.setdefault((kind, style_id), element)
            if element.get(qn("w:default")) in ("1", "true", "on"):
                self.defaults[kind] = style_id  # the last default wins, as in python-docx
        self.resolved: dict[tuple[str, str], _Style | None] = {}

    def get(self, style_id: str | None, kind: str = "paragraph") -> _Style | None:
        """The style of that id and kind (the kind's default one for none or an unknown id), or None."""
        if style_id is None or (kind, style_id) not in self.elements:
            style_id = self.defaults.get(kind)
            if style_id is None:
                return None
        return self._resolve(kind, style_id, 0)

    def _resolve(self, kind: str, style_id: str, depth: int) -> _Style | None:
        key = (kind, style_id)
        if key in self.resolved:
            return self.resolved[key]
        element = self.elements.get(key)
        if element is None or depth >= 10:  # base-style chains are short; never loop on a cycle
            return None
        self.resolved[key] = None  # a cycle back here ends the chain
        based_on = element.xpath("./w:basedOn/@w:val")
        base = self._resolve(kind, based_on[0], depth + 1) if based_on else None
        name_values = element.xpath("./w:name/@w:val")
        name = _WHITESPACE.sub(" ", name_values[0] if name_values else "").strip()
        match = _HEADING_STYLE.match(name)
        outline = _OUTLINE_LEVEL(element)
        if match:
            heading = int(match.group(1))
        elif outline:
            heading = _outline_level(outline[0])
        else:
            heading = base.heading if base is not None else None
        num_id, ilvl = _num_pr(element)
        if num_id is None and base is not None:
            num_id, ilvl = base.num_id, ilvl if ilvl is not None else base.ilvl
        font = Font(element)
        style = _Style(name=name, heading=heading, num_id=num_id, ilvl=ilvl, bold=font.bold, italic=font.italic,
                       underline=font.underline)
        self.resolved[key] = style
        return style


class _Importer:
    def __init__(self, document, progress: Callable[[int, int], None] | None = None) -> None:
        self.document = document
        self.progress = progress
        self.styles = _Styles(document)
        self._read_numbering()
        self.formats: dict[tuple[str, int], str | None] = {}
        self.sections_found: list[ImportedSection] = []
        self.title: str | None = None
        self.level = 1
        self.parts: list[str] = []
        self.list_items: list[tuple[int, str, str]] = []

    def sections(self) -> list[ImportedSection]:
        total = len(self.document.element.body)
        for done, block in enumerate(self.document.iter_inner_content(), start=1):
            if isinstance(block, Paragraph):
                self._paragraph(block)
            elif isinstance(block, Table):
                self._flush_list()
                self.parts.append(self._table(block))
            if self.progress is not None and done % PROGRESS_EVERY == 0:
                self.progress(done, total)
        self._close_section()
        return self.sections_found

    def _style(self, paragraph: Paragraph) -> _Style | None:
        """The paragraph's style, by the pStyle id in its XML (never python-docx's ``paragraph.style``)."""
        return self.styles.get(paragraph._p.style)

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
        style = self._style(paragraph)
        if style is not None and _TOC_STYLE.match(style.name):
            return  # a table-of-contents line repeats a heading
        level = self._heading_level(paragraph, style)
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
        listed = self._list_info(paragraph, style)
        if listed is not None:
            self.list_items.append((*listed, content))
            return
        self._flush_list()
        self.parts.append(f"<p>{content}</p>")

    # --- headings ---

    def _heading_level(self, paragraph: Paragraph, style: _Style | None) -> int | None:
        own = _OUTLINE_LEVEL(paragraph._p)
        if own:
            return _outline_level(own[0])
        return style.heading if style is not None else None

    # --- runs ---

    def _runs_html(self, paragraph: Paragraph) -> str:
        pieces: list[tuple[tuple[bool, bool, bool], str]] = []
        for item in paragraph.iter_inner_content():
            for run in getattr(item, "runs", None) or [item]:  # a hyperlink holds runs
                text = run.text.replace("\t", " ")
                if not text:
                    continue
                marks = (self._flag(run, "bold"), self._flag(run, "italic"), self._flag(run, "underline"))
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

    def _flag(self, run, name: str) -> bool:
        """A run's bold/italic/underline, set on the run itself or by its character style."""
        value = getattr(run, name)
        if value is None:
            style = self.styles.get(run._r.style, "character")
            if style is not None:
                value = getattr(style, name)
        return bool(value)

    # --- lists ---

    def _read_numbering(self) -> None:
        """Numbering definitions by id, read once (w:num by numId, w:abstractNum by abstractNumId)."""
        self.nums: dict[str, object] = {}
        self.abstracts: dict[str, object] = {}
        try:
            numbering = self.document.part.numbering_part.element
        except (KeyError, NotImplementedError, AttributeError):
            return
        for num in numbering.iterchildren(qn("w:num")):
            self.nums.setdefault(num.get(qn("w:numId")) or "", num)
        for abstract in numbering.iterchildren(qn("w:abstractNum")):
            self.abstracts.setdefault(abstract.get(qn("w:abstractNumId")) or "", abstract)

    def _list_info(self, paragraph: Paragraph, style: _Style | None) -> tuple[int, str] | None:
        """(list level, "ul" or "ol") for a numbered or bulleted paragraph, else None."""
        num_id, ilvl = _num_pr(paragraph._p)
        if num_id is None and style is not None:
            num_id, ilvl = style.num_id, ilvl if ilvl is not None else style.ilvl
        if num_id is None or num_id == "0":  # numId 0 switches numbering off
            return None
        level = int(ilvl) if ilvl is not None and ilvl.isdigit() else 0
        name = style.name if style is not None else ""
        nested_style = _LIST_STYLE_LEVEL.match(name)
        if level == 0 and nested_style:  # "List Bullet 2" nests by its own numbering, at level 0
            level = int(nested_style.group(1)) - 1
        fmt = self._number_format(num_id, int(ilvl) if ilvl is not None and ilvl.isdigit() else 0)
        if fmt is None:
            fmt = "decimal" if re.search(r"number|编号", name, re.IGNORECASE) else "bullet"
        return min(level, 8), "ul" if fmt in ("bullet", "none") else "ol"

    def _number_format(self, num_id: str, level: int) -> str | None:
        key = (num_id, level)
        if key not in self.formats:
            self.formats[key] = self._find_number_format(num_id, level)
        return self.formats[key]

    def _find_number_format(self, num_id: str, level: int) -> str | None:
        num = self.nums.get(num_id) if num_id.isdigit() else None
        if num is None:
            return None
        override = num.xpath(f'./w:lvlOverride[@w:ilvl="{level}"]/w:lvl/w:numFmt/@w:val')
        if override:
            return override[0]
        abstract_id = num.xpath("./w:abstractNumId/@w:val")
        definition = self.abstracts.get(abstract_id[0]) if abstract_id and abstract_id[0].isdigit() else None
        if definition is None:
            return None
        for candidate in range(min(level, 9), -1, -1):  # an undefined level looks like the one above it
            fmt = _LEVEL_FORMAT(definition, ilvl=str(candidate))
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

        continued = [{column for column, _s, merge, _tc in cells if merge == "continue"} for cells in layout]
        html_rows: list[str] = []
        for index, cells in enumerate(layout):
            tag = "th" if index < header_rows else "td"
            out = []
            for column, span, merge, tc in cells:
                if merge == "continue":
                    continue
                rowspan = 1
                if merge == "restart":
                    while index + rowspan < len(layout) and column in continued[index + rowspan]:
                        rowspan += 1
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
            else:  # a table inside a cell: its rows as lines of text (a merged cell's text once)
                for tr in block._tbl.tr_lst:
                    texts = [_Cell(tc, block).text.strip() for tc in tr.tc_lst if tc.vMerge != "continue"]
                    if any(texts):
                        lines.append(str(escape(" | ".join(texts))))
        return "<br>".join(lines)


def _outline_level(value: str) -> int | None:
    """Word's outline level 0–8 is heading level 1–9; 9 means body text."""
    return int(value) + 1 if value.isdigit() and int(value) < 9 else None


def _num_pr(element) -> tuple[str | None, str | None]:
    num_id, ilvl = _NUM_ID(element), _NUM_LEVEL(element)
    return (num_id[0] if num_id else None), (ilvl[0] if ilvl else None)


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


__all__ = ["DocxShape", "ImportedSection", "import_docx", "limits", "measure"]
