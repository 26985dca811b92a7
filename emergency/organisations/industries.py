"""The industry catalogue and the statutory flags that follow from an enterprise's industry.

References are to 生产安全事故应急预案管理办法 (应急管理部令第2号, 2019 revision):
article 21 (expert review), 26 (filing within 20 working days), 33 (drills) and 35 (evaluation
every three years). Article 26 and 33 name: producers, traders, storers and carriers of
flammable, explosive and hazardous chemical goods; mines; metal smelting; urban rail transit
operation; construction; and crowded places such as hotels, shopping malls, entertainment
venues and scenic spots.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l


@dataclass(frozen=True)
class Industry:
    #: Stable code stored on the enterprise.
    code: str
    #: Chinese name, also the value used in Excel import and export.
    name_zh: str
    #: English name, shown when the interface is in English.
    name_en: str
    #: High-risk industry (高危行业) under articles 21, 26, 33 and 35.
    high_risk: bool = False
    #: Crowded place (人员密集场所) under articles 26, 33 and 35.
    crowded_place: bool = False

    def label(self, locale: str) -> str:
        return self.name_en if locale.startswith("en") else self.name_zh


INDUSTRIES: tuple[Industry, ...] = (
    Industry("hazardous_chemicals", "危险化学品生产经营储存运输", "Hazardous chemicals", high_risk=True),
    Industry("chemical_use", "使用危险化学品的化工企业", "Chemical plants using hazardous chemicals", high_risk=True),
    Industry("fireworks", "烟花爆竹生产批发", "Fireworks production and wholesale", high_risk=True),
    Industry("coal_mine", "煤矿", "Coal mining", high_risk=True),
    Industry("non_coal_mine", "非煤矿山", "Non-coal mining", high_risk=True),
    Industry("metal_smelting", "金属冶炼", "Metal smelting", high_risk=True),
    Industry("construction", "建筑施工", "Construction", high_risk=True),
    Industry("urban_rail", "城市轨道交通运营", "Urban rail transit", high_risk=True),
    Industry("hotel", "宾馆饭店", "Hotels", crowded_place=True),
    Industry("mall", "商场超市", "Shopping malls", crowded_place=True),
    Industry("entertainment", "娱乐场所", "Entertainment venues", crowded_place=True),
    Industry("scenic_spot", "旅游景区", "Scenic spots", crowded_place=True),
    Industry("school", "学校", "Schools"),
    Industry("hospital", "医疗机构", "Hospitals and clinics"),
    Industry("manufacturing", "一般制造业", "General manufacturing"),
    Industry("food_processing", "食品加工", "Food processing"),
    Industry("warehousing", "仓储物流", "Warehousing and logistics"),
    Industry("power_gas", "电力燃气供应", "Power and gas supply"),
    Industry("other", "其他", "Other"),
)

BY_CODE: dict[str, Industry] = {industry.code: industry for industry in INDUSTRIES}
BY_NAME_ZH: dict[str, Industry] = {industry.name_zh: industry for industry in INDUSTRIES}
HIGH_RISK_CODES = frozenset(i.code for i in INDUSTRIES if i.high_risk)
CROWDED_CODES = frozenset(i.code for i in INDUSTRIES if i.crowded_place)

#: Enterprise scale (企业规模), as in the statistics bureau's classification.
SCALES: tuple[tuple[str, str, object], ...] = (
    ("large", "大型", _l("Large")),
    ("medium", "中型", _l("Medium")),
    ("small", "小型", _l("Small")),
    ("micro", "微型", _l("Micro")),
)
SCALE_CODES = tuple(code for code, _zh, _label in SCALES)
SCALE_BY_ZH = {zh: code for code, zh, _label in SCALES}
SCALE_ZH = {code: zh for code, zh, _label in SCALES}
SCALE_LABEL = {code: label for code, _zh, label in SCALES}
