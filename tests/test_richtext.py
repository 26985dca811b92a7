"""Rich text of plan sections: the safe subset, plain text, and version comparison."""
from __future__ import annotations

from html.parser import HTMLParser

import pytest

from plans.documents.richtext import (
    ALLOWED_TAGS,
    DiffOp,
    diff_html,
    sanitize,
    section_diff,
    to_plain_text,
)

XSS_VECTORS = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    "<scr<script>ipt>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "<IMG SRC=JaVaScRiPt:alert(1)>",
    "<svg onload=alert(1)><circle r=1 /></svg>",
    "<svg><script>alert(1)</script></svg>",
    '<a href="javascript:alert(1)">点击</a>',
    '<a href="https://evil.example/">外部链接</a>',
    '<iframe src="javascript:alert(1)"></iframe>',
    '<iframe srcdoc="<script>alert(1)</script>"></iframe>',
    '<p style="background:url(javascript:alert(1))">样式</p>',
    '<p class="x" id="y" title="t" lang="en" dir="rtl" onclick="alert(1)">属性</p>',
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    '<noscript><p title="</noscript><img src=x onerror=alert(1)>"></noscript>',
    "<body onload=alert(1)>正文",
    "<form action=//evil.example><button formaction=javascript:alert(1)>提交</button></form>",
    "<input autofocus onfocus=alert(1)>",
    "<details open ontoggle=alert(1)><summary>s</summary></details>",
    '<object data="javascript:alert(1)"></object><embed src="javascript:alert(1)">',
    '<base href="javascript:/">',
    '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    '<link rel="stylesheet" href="http://evil.example/x.css">',
    "<!--<img src=x onerror=alert(1)>-->",
    ('<table background="javascript:alert(1)"><tr><td background="javascript:alert(1)" '
     'style="x" colspan="2" onmouseover="alert(1)">格</td></tr></table>'),
    "<style>@import 'http://evil.example/x.css';</style>",
    '<video><source onerror="alert(1)"></video><audio src=x onerror=alert(1)>',
    '<template><img src=x onerror=alert(1)></template>',
    '<textarea><img src=x onerror=alert(1)></textarea>',
    '<td colspan="2" rowspan="1e9">格</td>',
    '<div onclick="alert(1)"><span style="color:red">红字</span></div>',
]


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.found: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.comments: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.found.append((tag, attrs))

    def handle_comment(self, data):
        self.comments.append(data)


def tags_in(html: str) -> list[tuple[str, list]]:
    parser = _Tags()
    parser.feed(html)
    parser.close()
    assert not parser.comments
    return parser.found


@pytest.mark.parametrize("vector", XSS_VECTORS)
def test_xss_vectors_are_stripped(vector):
    cleaned = sanitize(f"<p>前文</p>{vector}<p>后文</p>")
    for tag, attrs in tags_in(cleaned):
        assert tag in ALLOWED_TAGS, cleaned
        for name, value in attrs:
            assert tag in ("td", "th") and name in ("colspan", "rowspan"), cleaned
            assert value.isdigit(), cleaned
    lowered = cleaned.lower()
    for needle in ("<script", "javascript:", "onerror", "onload", "<img", "<svg", "<iframe", "<style",
                   "href", "src=", "style=", "<a ", "<meta", "<link", "<base", "<form", "<input", "evil.example"):
        assert needle not in lowered, cleaned
    assert "前文" in cleaned  # (an unclosed <audio> or <style> may swallow the rest: that is fine)
    assert sanitize(cleaned) == cleaned


def test_script_like_elements_lose_their_content_other_tags_keep_text():
    assert sanitize("<script>alert('x')</script><style>p{}</style><p>正文</p>") == "<p>正文</p>"
    assert sanitize('<p><a href="http://x">应急管理局</a>联系电话<span>0571-12345678</span></p>') == (
        "<p>应急管理局联系电话0571-12345678</p>")


def test_the_allowed_structure_is_kept():
    html = ("<h2>1 总则</h2><h3>1.1 适用范围</h3><h4>1.1.1 说明</h4>"
            "<p>本预案适用于<strong>本单位</strong>、<b>库区</b>的<em>火灾</em>、<i>爆炸</i>和<u>泄漏</u>事故。<br>第二行</p>"
            "<ul><li>甲</li></ul><ol><li>一</li><li>二</li></ol><blockquote>引用</blockquote>")
    assert sanitize(html) == html


def test_tables_are_kept_with_spans_only():
    html = ('<table border="1" style="width:100%" class="grid"><thead><tr><th colspan="2" align="left">应急组织机构</th>'
            '</tr></thead><tbody><tr><td rowspan="2" width="30">总指挥</td><td>张三</td></tr>'
            '<tr><td colspan="0">李四</td></tr><tr><td rowspan="101">王五</td><td colspan=" 2 ">赵六</td></tr>'
            "</tbody></table>")
    assert sanitize(html) == (
        '<table><thead><tr><th colspan="2">应急组织机构</th></tr></thead><tbody>'
        '<tr><td rowspan="2">总指挥</td><td>张三</td></tr><tr><td>李四</td></tr>'
        '<tr><td>王五</td><td colspan="2">赵六</td></tr></tbody></table>')


def test_near_relatives_are_renamed_not_flattened():
    assert sanitize("<h1>预案</h1><h5>细则</h5><h6>附注</h6>") == "<h2>预案</h2><h4>细则</h4><h4>附注</h4>"
    assert sanitize("<div>第一行</div><div>第二行</div><div> </div>") == "<p>第一行</p><p>第二行</p>"


def test_chinese_text_and_entities_are_intact():
    text = "依据《中华人民共和国安全生产法》第八十一条，“一次性告知”；温度≥60℃时启动Ⅱ级响应 ①②③ 𠀋"
    assert sanitize(f"<p>{text}</p>") == f"<p>{text}</p>"
    assert sanitize("<p>5 &lt; 6 &amp; 7 &gt; 3</p>") == "<p>5 &lt; 6 &amp; 7 &gt; 3</p>"
    assert sanitize("未包裹的文字 <p>段落</p>") == "未包裹的文字 <p>段落</p>"
    assert sanitize("") == "" and sanitize("   ") == ""


# --- plain text --------------------------------------------------------------------------

def test_plain_text_has_one_line_per_block():
    html = ("<h2>2 应急组织机构及职责</h2><p>应急指挥部由<strong>总指挥</strong>、副总指挥组成。<br>下设办公室。</p>"
            "<ul><li>通讯联络组<ul><li>负责通讯</li></ul></li><li>现场处置组</li></ul>"
            "<ol><li>接警</li><li>报告</li></ol>"
            "<table><tr><th>职务</th><th>姓名</th></tr><tr><td><p>总指挥</p><p>（厂长）</p></td><td>张三</td></tr></table>"
            "<blockquote>注：5 &lt; 6</blockquote><script>alert(1)</script>")
    assert to_plain_text(html).splitlines() == [
        "2 应急组织机构及职责",
        "应急指挥部由总指挥、副总指挥组成。",
        "下设办公室。",
        "• 通讯联络组",
        "  • 负责通讯",
        "• 现场处置组",
        "1. 接警",
        "2. 报告",
        "职务 | 姓名",
        "总指挥 （厂长） | 张三",
        "注：5 < 6",
    ]


def test_plain_text_folds_whitespace():
    assert to_plain_text("<p>  应急\n  响应   分级 </p><p></p><p>\u3000\u3000首行缩进\u3000不算</p>") == (
        "应急 响应 分级\n首行缩进\u3000不算")


# --- diffs -------------------------------------------------------------------------------

OLD = "<h3>响应分级</h3><p>响应分为三级。</p><p>由总指挥决定。</p><ul><li>一级</li><li>二级</li><li>三级</li></ul>"
NEW = "<h3>响应分级</h3><p>响应分为四级。</p><ul><li>一级</li><li>二级</li><li>三级</li><li>四级</li></ul>"


def test_section_diff_lists_the_steps():
    assert section_diff(OLD, NEW) == [
        DiffOp("equal", ("响应分级",), ("响应分级",)),
        DiffOp("replace", ("响应分为三级。", "由总指挥决定。"), ("响应分为四级。",)),
        DiffOp("equal", ("• 一级", "• 二级", "• 三级"), ("• 一级", "• 二级", "• 三级")),
        DiffOp("insert", (), ("• 四级",)),
    ]
    assert section_diff(OLD, OLD) == [DiffOp("equal", tuple(to_plain_text(OLD).splitlines()),
                                             tuple(to_plain_text(OLD).splitlines()))]
    assert section_diff("", "<p>新</p>") == [DiffOp("insert", (), ("新",))]


def test_diff_html_marks_changes_side_by_side(app):
    html = str(diff_html(OLD, NEW))
    assert html.startswith('<table class="diff"><thead><tr><th>原版本</th><th>本版本</th></tr></thead>')
    assert '<tr class="diff-replace"><td>响应分为<del>三</del>级。</td><td>响应分为<ins>四</ins>级。</td></tr>' in html
    assert '<tr class="diff-delete"><td><del>由总指挥决定。</del></td><td></td></tr>' in html
    assert '<tr class="diff-insert"><td></td><td><ins>• 四级</ins></td></tr>' in html
    assert '<tr class="diff-equal"><td>• 一级</td><td>• 一级</td></tr>' in html


def test_diff_html_escapes_everything(app):
    html = str(diff_html("<p>&lt;b&gt;旧&lt;/b&gt;</p>", '<p>&lt;script&gt;alert("新")&lt;/script&gt;</p>',
                         old_label="<i>v1</i>", new_label="v2 & v3"))
    assert "<script" not in html and "<b>" not in html and "<i>" not in html
    assert "&lt;script&gt;" in html and "&lt;i&gt;v1&lt;/i&gt;" in html and "v2 &amp; v3" in html


def test_dissimilar_lines_are_replaced_whole(app):
    html = str(diff_html("<p>甲乙丙丁</p>", "<p>戊己庚辛</p>"))
    assert '<tr class="diff-replace"><td><del>甲乙丙丁</del></td><td><ins>戊己庚辛</ins></td></tr>' in html


def test_long_unchanged_runs_can_be_folded(app):
    lines = "".join(f"<p>第{i}条</p>" for i in range(1, 21))
    html = str(diff_html(lines + "<p>旧结尾</p>", lines + "<p>新结尾</p>", context=2))
    assert html.count('class="diff-equal"') == 2  # the two lines before the change
    assert '<tr class="diff-skip"><td colspan="2">… 18 行未改动 …</td></tr>' in html
    assert "第19条" in html and "第1条<" not in html
    assert str(diff_html(lines, lines, context=None)).count('class="diff-equal"') == 20
