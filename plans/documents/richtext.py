"""Rich text of plan sections: a small safe subset of HTML, its plain text, and version diffs.

Plan sections are written in an editor or imported from Word, then shown on pages and in
PDFs with ``|safe``; ``sanitize`` is what makes that safe. It keeps headings (h2–h4),
paragraphs, line breaks, bold/italic/underline, lists, tables (``colspan``/``rowspan`` only)
and block quotes. Everything else goes: every other attribute (style, class, on*), links,
images, scripts, styles, frames and forms; script-like elements lose their content too.
"""
from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from html.parser import HTMLParser

import nh3
from flask_babel import gettext as _
from markupsafe import Markup, escape

ALLOWED_TAGS = frozenset({
    "h2", "h3", "h4", "p", "br", "strong", "b", "em", "i", "u",
    "ul", "ol", "li", "table", "thead", "tbody", "tr", "th", "td", "blockquote",
})
#: Removed together with everything inside them (other tags are removed, their text kept).
DROPPED_WITH_CONTENT = frozenset({
    "script", "style", "template", "iframe", "frame", "frameset", "object", "embed", "applet",
    "noscript", "noembed", "noframes", "svg", "math", "canvas", "audio", "video", "textarea",
    "select", "title", "xmp",
})
MAX_SPAN = 100

# Close relatives of allowed tags, renamed before cleaning so their text keeps its shape.
_RENAMES = ((re.compile(r"<(/?)h1\b", re.IGNORECASE), r"<\1h2"),
            (re.compile(r"<(/?)h[56]\b", re.IGNORECASE), r"<\1h4"),
            (re.compile(r"<(/?)div\b", re.IGNORECASE), r"<\1p"))
_EMPTY_PARAGRAPH = re.compile(r"<p>(?:\s|&nbsp;|\u00a0)*</p>")


def _span_only(tag: str, attribute: str, value: str) -> str | None:
    if tag in ("td", "th") and attribute in ("colspan", "rowspan") and value.strip().isdigit():
        span = int(value.strip())
        if 1 <= span <= MAX_SPAN:
            return str(span)
    return None


def sanitize(html: str) -> str:
    """The safe subset of ``html`` (see the module docstring); idempotent."""
    if not html:
        return ""
    for pattern, replacement in _RENAMES:
        html = pattern.sub(replacement, html)
    cleaned = nh3.clean(
        html,
        tags=set(ALLOWED_TAGS),
        clean_content_tags=set(DROPPED_WITH_CONTENT),
        attributes={"*": set(), "td": {"colspan", "rowspan"}, "th": {"colspan", "rowspan"}},
        attribute_filter=_span_only,
        strip_comments=True,
        link_rel=None,
        url_schemes=set(),
    )
    return _EMPTY_PARAGRAPH.sub("", cleaned).strip()


# --- plain text --------------------------------------------------------------------------

_BLOCKS = frozenset({"h2", "h3", "h4", "p", "blockquote", "table", "thead", "tbody", "ul", "ol"})
_WHITESPACE = re.compile(r"[ \t\r\n\f\u00a0]+")


class _TextCollector(HTMLParser):
    """Lines of text from sanitised HTML: blocks, list items and table rows each on a line."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self.current: list[str] = []
        self.prefix = ""  # a list item's marker, kept out of whitespace folding
        self.lists: list[list] = []  # [tag, counter] per open list
        self.cells = 0
        self.cell_depth = 0  # inside a table cell, blocks are only spaces: a row is one line

    def _flush(self) -> None:
        line = _WHITESPACE.sub(" ", "".join(self.current)).strip()
        if line:
            self.lines.append(self.prefix + line)
        self.current = []
        self.prefix = ""

    def _break(self) -> None:
        if self.cell_depth:
            self.current.append(" ")
        else:
            self._flush()

    def handle_starttag(self, tag, attrs):
        if tag in _BLOCKS or tag == "br":
            self._break()
        if tag in ("ul", "ol"):
            self.lists.append([tag, 0])
        elif tag == "li":
            self._break()
            marker = "• "
            if self.lists and self.lists[-1][0] == "ol":
                self.lists[-1][1] += 1
                marker = f"{self.lists[-1][1]}. "
            if self.cell_depth:
                self.current.append(marker)
            else:
                self.prefix = "  " * max(len(self.lists) - 1, 0) + marker
        elif tag == "tr":
            self._flush()
            self.cells = 0
        elif tag in ("td", "th"):
            if self.cells:
                self.current.append(" | ")
            self.cells += 1
            self.cell_depth += 1

    def handle_endtag(self, tag):
        if tag in ("td", "th"):
            self.cell_depth = max(self.cell_depth - 1, 0)
        elif tag == "tr":
            self._flush()
        elif tag in _BLOCKS or tag == "li":
            self._break()
        if tag in ("ul", "ol") and self.lists:
            self.lists.pop()

    def handle_data(self, data):
        self.current.append(data)

    def text(self) -> str:
        self._flush()
        return "\n".join(self.lines)


def to_plain_text(html: str) -> str:
    """Plain text of rich text, one line per paragraph, heading, list item or table row.

    For diffs, search and SMS. List items start with "• " or "1. ", table cells are joined by " | ".
    """
    collector = _TextCollector()
    collector.feed(sanitize(html))
    collector.close()
    return collector.text()


# --- diffs -------------------------------------------------------------------------------

@dataclass(frozen=True)
class DiffOp:
    """One step from the old text to the new: ``op`` is equal, insert, delete or replace."""

    op: str
    old: tuple[str, ...]
    new: tuple[str, ...]


def section_diff(old_html: str, new_html: str) -> list[DiffOp]:
    """How the plain text of a section changed, line by line (paragraphs, items, rows)."""
    old_lines = to_plain_text(old_html).splitlines()
    new_lines = to_plain_text(new_html).splitlines()
    matcher = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    return [DiffOp(op, tuple(old_lines[i1:i2]), tuple(new_lines[j1:j2]))
            for op, i1, i2, j1, j2 in matcher.get_opcodes()]


def diff_html(old_html: str, new_html: str, *, old_label: str | None = None, new_label: str | None = None,
              context: int | None = None) -> Markup:
    """A side-by-side comparison table of two versions of a section, every text escaped.

    Rows have the classes ``diff-equal``, ``diff-delete``, ``diff-insert``, ``diff-replace``
    and ``diff-skip``; changed characters within a changed line are in ``<del>``/``<ins>``.
    With ``context``, runs of unchanged lines longer than that are folded into one row.
    """
    old_label = old_label if old_label is not None else _("Earlier version")
    new_label = new_label if new_label is not None else _("This version")
    rows: list[str] = []
    operations = section_diff(old_html, new_html)
    for index, step in enumerate(operations):
        if step.op == "equal":
            rows.extend(_equal_rows(step.old, context, first=index == 0, last=index == len(operations) - 1))
        elif step.op == "delete":
            rows.extend(_row("delete", Markup("<del>%s</del>") % line, "") for line in step.old)
        elif step.op == "insert":
            rows.extend(_row("insert", "", Markup("<ins>%s</ins>") % line) for line in step.new)
        else:
            for position in range(max(len(step.old), len(step.new))):
                old = step.old[position] if position < len(step.old) else None
                new = step.new[position] if position < len(step.new) else None
                if old is None:
                    rows.append(_row("insert", "", Markup("<ins>%s</ins>") % new))
                elif new is None:
                    rows.append(_row("delete", Markup("<del>%s</del>") % old, ""))
                else:
                    rows.append(_row("replace", *_inline_changes(old, new)))
    head = Markup('<thead><tr><th>%s</th><th>%s</th></tr></thead>') % (old_label, new_label)
    return Markup('<table class="diff">') + head + Markup("<tbody>") + Markup("").join(rows) + Markup(
        "</tbody></table>")


def _row(kind: str, old, new) -> Markup:
    return Markup('<tr class="diff-%s"><td>%s</td><td>%s</td></tr>') % (kind, old, new)


def _equal_rows(lines: tuple[str, ...], context: int | None, *, first: bool, last: bool) -> list[Markup]:
    if context is None or len(lines) <= 2 * context + 1:
        return [_row("equal", line, line) for line in lines]
    keep_before = 0 if first else context
    keep_after = 0 if last else context
    if len(lines) <= keep_before + keep_after + 1:
        return [_row("equal", line, line) for line in lines]
    hidden = len(lines) - keep_before - keep_after
    note = _("… %(num)s unchanged lines …", num=hidden)  # folded runs are at least two lines
    skip = Markup('<tr class="diff-skip"><td colspan="2">%s</td></tr>') % note
    return ([_row("equal", line, line) for line in lines[:keep_before]] + [skip]
            + [_row("equal", line, line) for line in lines[len(lines) - keep_after:]])


def _inline_changes(old: str, new: str) -> tuple[Markup, Markup]:
    """Both lines with the changed characters marked (whole lines when they share little)."""
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    if matcher.ratio() < 0.3:
        return Markup("<del>%s</del>") % old, Markup("<ins>%s</ins>") % new
    before: list[Markup] = []
    after: list[Markup] = []
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            before.append(escape(old[i1:i2]))
            after.append(escape(new[j1:j2]))
            continue
        if i2 > i1:
            before.append(Markup("<del>%s</del>") % old[i1:i2])
        if j2 > j1:
            after.append(Markup("<ins>%s</ins>") % new[j1:j2])
    return Markup("").join(before), Markup("").join(after)


__all__ = ["ALLOWED_TAGS", "DiffOp", "diff_html", "sanitize", "section_diff", "to_plain_text"]
