"""The GB/T 29639-2020 skeleton a new plan starts from, per kind, plus the usual appendices.

Each section is (level, title, key part or None, hint). The key part marks the sections whose
change means the plan must be filed again (command, procedure, measures, levels).
"""
from __future__ import annotations

import re

from plans.plan.models import PlanKind

Section = tuple[int, str, str | None, str]

COMPREHENSIVE: tuple[Section, ...] = (
    (1, "总则", None, ""),
    (2, "适用范围", None, "说明预案适用的工作范围和事故类型、级别。"),
    (2, "响应分级", "levels", "依据事故危害程度、影响范围和生产经营单位控制事态的能力，划分响应级别。"),
    (1, "应急组织机构及职责", "command", "明确应急组织形式及构成单位或人员，以结构图表示，并明确各自职责。"),
    (1, "应急响应", "procedure", ""),
    (2, "信息报告", "procedure", "信息接报、信息处置与研判。"),
    (2, "预警", "procedure", "预警启动、响应准备、预警解除。"),
    (2, "响应启动", "procedure", "确定响应级别，明确响应启动后的程序性工作。"),
    (2, "应急处置", "measures", "明确事故现场的警戒疏散、人员搜救、医疗救治、现场监测、技术支持、工程抢险及环境保护等方面的应急处置措施。"),
    (2, "应急支援", "procedure", "明确当事态无法控制时，向外部力量请求支援的程序及要求。"),
    (2, "响应终止", "procedure", "明确响应终止的基本条件和要求。"),
    (1, "后期处置", None, "明确污染物处理、生产秩序恢复、人员安置方面的内容。"),
    (1, "应急保障", None, ""),
    (2, "通信与信息保障", None, ""),
    (2, "应急队伍保障", None, ""),
    (2, "物资装备保障", None, ""),
    (2, "其他保障", None, "经费、交通运输、治安、技术、医学、后勤等保障措施。"),
)
SPECIAL: tuple[Section, ...] = (
    (1, "适用范围", None, "说明专项应急预案适用的范围，以及与综合应急预案的关系。"),
    (1, "应急组织机构及职责", "command", "明确应急组织形式、构成单位或人员及职责。"),
    (1, "响应启动", "procedure", "明确响应启动后的程序性工作。"),
    (1, "处置措施", "measures", "针对可能发生的事故风险、危害程度和影响范围，明确应急处置指导原则，制定相应的应急处置措施。"),
    (1, "应急保障", None, "根据应急工作需求明确保障的内容。"),
)
ONSITE: tuple[Section, ...] = (
    (1, "事故风险描述", None, "简述事故风险评估的结果（可用列表形式附在附件中）。"),
    (1, "应急工作职责", "command", "明确应急组织分工和职责。"),
    (1, "应急处置", "measures", "包括应急处置程序、现场应急处置措施、明确报警负责人以及报警电话及上级管理部门、相关应急救援单位联络方式和联系人员，事故报告基本要求和内容。"),
    (1, "注意事项", None, "包括人员防护和自救互救、装备使用、现场安全等方面的内容。"),
)
APPENDICES: tuple[Section, ...] = (
    (1, "附件", None, ""),
    (2, "生产经营单位概况", None, ""),
    (2, "风险评估的结果", None, ""),
    (2, "预案体系与衔接", None, ""),
    (2, "应急物资装备的名录或清单", None, ""),
    (2, "有关应急部门、机构或人员的联系方式", None, ""),
    (2, "格式化文本", None, "信息接报、预案启动、信息发布等格式化文本。"),
    (2, "关键的路线、标识和图纸", None, "警报系统分布及覆盖范围、重要防护目标和风险清单及分布图、应急指挥部位置及救援队伍行动路线、疏散路线、集合点、警戒范围、重要地点的标识、平面布置图等。"),
    (2, "有关协议或者备忘录", None, "与相关应急救援部门签订的应急救援协议或备忘录。"),
)
BY_KIND = {PlanKind.comprehensive: COMPREHENSIVE + APPENDICES, PlanKind.special: SPECIAL + APPENDICES,
           PlanKind.onsite: ONSITE}

#: Titles (or parts of titles) that mark a key part in imported or renamed sections.
_KEY_TITLES = (
    ("levels", re.compile(r"响应分级|分级响应|响应级别|事故分级")),
    ("command", re.compile(r"组织机构|职责|指挥")),
    ("measures", re.compile(r"处置措施|应急处置|现场处置")),
    ("procedure", re.compile(r"应急响应|响应程序|信息报告|响应启动|预警|应急支援|响应终止|扩大应急")),
)


def sections_for(kind: PlanKind) -> list[dict]:
    """A new draft's sections: titles, levels and key parts, with empty text."""
    return [{"level": level, "title": title, "key_part": key, "body": ""} for level, title, key, _hint in BY_KIND[kind]]


def hint_for(kind: PlanKind, title: str) -> str:
    """What the standard asks a section to say (shown while the section is empty)."""
    return next((hint for _level, t, _key, hint in BY_KIND[kind] if t == title), "")


def guess_key_part(title: str) -> str | None:
    """The key part a section title names, for sections imported from Word."""
    for key, pattern in _KEY_TITLES:
        if pattern.search(title):
            return key
    return None
