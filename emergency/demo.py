"""Demo data: a fictional county (示范县) with townships, enterprises and users.

Deterministic (seeded) so that screenshots and tests see the same county every time.
"""
from __future__ import annotations

import logging
import random
import secrets
from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa

from emergency.audit import operations as audit
from emergency.auth import operations as auth_ops
from emergency.auth.models import Role, User
from emergency.core.extensions import db
from emergency.messaging.contacts import sync_enterprise_contacts
from emergency.organisations import credit_code
from emergency.organisations.models import Enterprise, Jurisdiction, Township
from emergency.organisations.obligations import has_obligation
from plans.drills import cycles, occurrences, records
from plans.drills.models import Occurrence
from plans.plan import operations as plan_ops
from emergency.core.timeutil import SHANGHAI, local_today, utcnow

logger = logging.getLogger(__name__)

AREA_CODE = "330999"  # fictional: 3309xx is Zhoushan; 99 is not in use
TOWNSHIPS = ("城关镇", "东城街道", "西湖街道", "南山镇", "北岭镇", "青石乡", "河口镇", "白云乡")

#: (name stem, industry, scale) — 40 enterprises across the catalogue.
ENTERPRISES: tuple[tuple[str, str, str], ...] = (
    ("恒安化工有限公司", "hazardous_chemicals", "medium"),
    ("瑞丰危险品运输有限公司", "hazardous_chemicals", "small"),
    ("东海石化储运有限公司", "hazardous_chemicals", "large"),
    ("明辉精细化工有限公司", "chemical_use", "medium"),
    ("新锐涂料有限公司", "chemical_use", "small"),
    ("鸿运烟花爆竹批发有限公司", "fireworks", "small"),
    ("南山石料矿业有限公司", "non_coal_mine", "medium"),
    ("青石建材矿业有限公司", "non_coal_mine", "small"),
    ("北岭煤业有限公司", "coal_mine", "medium"),
    ("金泰铝业有限公司", "metal_smelting", "large"),
    ("宏达铸造有限公司", "metal_smelting", "small"),
    ("城建第一建筑工程有限公司", "construction", "large"),
    ("安居建设集团有限公司", "construction", "medium"),
    ("河口路桥工程有限公司", "construction", "small"),
    ("示范县轨道交通运营有限公司", "urban_rail", "large"),
    ("锦江大酒店有限公司", "hotel", "medium"),
    ("白云山庄宾馆", "hotel", "small"),
    ("万家福购物中心有限公司", "mall", "large"),
    ("惠民超市连锁有限公司", "mall", "medium"),
    ("星光娱乐有限公司", "entertainment", "small"),
    ("欢乐谷KTV有限公司", "entertainment", "micro"),
    ("白云山旅游开发有限公司", "scenic_spot", "medium"),
    ("西湖湿地公园管理有限公司", "scenic_spot", "small"),
    ("示范县第一中学", "school", "medium"),
    ("示范县实验小学", "school", "medium"),
    ("城关镇中心幼儿园", "school", "small"),
    ("示范县人民医院", "hospital", "large"),
    ("东城社区卫生服务中心", "hospital", "small"),
    ("精工机械制造有限公司", "manufacturing", "large"),
    ("华纺纺织有限公司", "manufacturing", "medium"),
    ("捷达电子有限公司", "manufacturing", "small"),
    ("绿源食品有限公司", "food_processing", "medium"),
    ("鲜丰冷冻食品有限公司", "food_processing", "small"),
    ("顺通物流有限公司", "warehousing", "medium"),
    ("安达仓储有限公司", "warehousing", "small"),
    ("示范县燃气有限公司", "power_gas", "medium"),
    ("河口水电站", "power_gas", "small"),
    ("青石竹木制品厂", "other", "micro"),
    ("南山茶叶合作社", "other", "micro"),
    ("北岭汽车维修有限公司", "other", "small"),
)
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = ("伟", "芳", "娜", "敏", "静", "强", "磊", "军", "洋", "勇", "艳", "杰", "涛", "明", "超", "霞", "平", "刚", "丽", "华")
MOBILE_PREFIXES = ("138", "139", "136", "137", "150", "151", "158", "187", "188", "135")


@dataclass
class DemoLogin:
    username: str
    password: str
    role: str
    enterprise: str = ""


def demo_credit_code(rng: random.Random) -> str:
    """A credit code with a valid check character (registration authority 9, type 1)."""
    body = "91" + AREA_CODE + "".join(rng.choice(credit_code.ALPHABET) for _ in range(9))
    return body + credit_code.check_character(body)


def _person(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


def _mobile(rng: random.Random) -> str:
    return "+86" + rng.choice(MOBILE_PREFIXES) + "".join(str(rng.randrange(10)) for _ in range(8))


def is_empty() -> bool:
    return db.session.scalar(sa.select(sa.func.count(User.id))) == 0


def load(password: str | None = None, seed: int = 2026) -> list[DemoLogin]:
    """Create the demo county; the caller commits. Passwords are random unless given."""
    rng = random.Random(seed)

    def new_password() -> str:
        return password or secrets.token_urlsafe(9)

    county = Jurisdiction(name="示范县", area_code=AREA_CODE, bureau_name="示范县应急管理局")
    db.session.add(county)
    townships = [Township(jurisdiction=county, name=name, code=f"{AREA_CODE}{100 + i:03d}")
                 for i, name in enumerate(TOWNSHIPS)]
    db.session.add_all(townships)
    db.session.flush()

    logins: list[DemoLogin] = []
    for username, display, role in (("admin", "系统管理员", Role.admin), ("duty", "值班员 陈明", Role.officer),
                                     ("viewer", "查看员 林华", Role.viewer)):
        pw = new_password()
        auth_ops.create_user(None, {"username": username, "display_name": display, "role": role}, pw)
        logins.append(DemoLogin(username, pw, role.value))

    for index, (name, industry, scale) in enumerate(ENTERPRISES, start=1):
        township = townships[index % len(townships)]
        principal = _person(rng)
        enterprise = Enterprise(
            name=f"示范县{name}" if not name.startswith("示范县") else name,
            credit_code=demo_credit_code(rng),
            industry=industry,
            scale=scale,
            township=township,
            address=f"{township.name}{rng.choice(('工业园区', '人民路', '解放路', '新城大道', '滨江路'))}{rng.randint(1, 300)}号",
            latitude=Decimal(f"{29.9 + rng.random() * 0.3:.6f}"),
            longitude=Decimal(f"{121.9 + rng.random() * 0.4:.6f}"),
            legal_representative=principal,
            principal_name=principal,
            principal_mobile=_mobile(rng),
            safety_manager_name=_person(rng),
            safety_manager_mobile=_mobile(rng),
        )
        db.session.add(enterprise)
        db.session.flush()
        audit.record(None, "create", "enterprise", enterprise.id, enterprise_id=enterprise.id,
                     summary=enterprise.name, changes={"source": "demo"})
        sync_enterprise_contacts(None, enterprise)
        username = f"ent{index:02d}"
        pw = new_password()
        auth_ops.create_user(None, {"username": username, "display_name": f"{enterprise.name} 安全管理员",
                                    "role": Role.enterprise, "enterprise_id": enterprise.id}, pw)
        logins.append(DemoLogin(username, pw, Role.enterprise.value, enterprise.name))
    db.session.flush()
    _plans_and_drills(rng)
    logger.info("demo county loaded: %s townships, %s enterprises", len(townships), len(ENTERPRISES))
    return logins


def _plans_and_drills(rng: random.Random) -> None:
    """A published comprehensive plan for a dozen enterprises, with drill cycles and the last
    weeks' drills (some missed, so that the overdue lists and dashboards have something to show)."""
    from datetime import datetime, time, timedelta



    today = local_today()
    enterprises = db.session.scalars(sa.select(Enterprise).order_by(Enterprise.id).limit(12)).all()
    for index, enterprise in enumerate(enterprises):
        plan = plan_ops.create_plan(None, enterprise, {"kind": "comprehensive",
                                                       "title": f"{enterprise.name}生产安全事故综合应急预案"})
        draft = plan.versions[0]
        for section in draft.sections:
            plan_ops.save_section(None, draft, {"body": f"<p>{section.title}：按本单位实际情况编写。</p>"}, section)
        if has_obligation(enterprise, "expert_review"):
            plan_ops.record_review(None, draft, {"held_on": today - timedelta(days=40), "conclusion": "pass",
                                                 "opinion": "预案要素齐全，同意发布。", "experts": [
                                                     {"name": "王建国", "organisation": "县应急专家库",
                                                      "speciality": "安全工程", "no_conflict": True}]})
        records.record_drill(None, enterprise, {
            "title": "综合应急预案桌面推演", "duration_minutes": 90, "form": "tabletop", "content": "comprehensive",
            "purpose": "inspection", "version_ids": [draft.id], "participant_count": rng.randint(8, 30),
            "started_at": datetime.combine(today - timedelta(days=35), time(9, 30), tzinfo=SHANGHAI)})
        # Published on different days of the last month, so that the filing queue has deadlines
        # passed, near and far (the clock runs from the publication date).
        plan_ops.publish(None, draft, {"principal_name": enterprise.principal_name,
                                       "signed_on": today - timedelta(days=32 - 2 * index)})
        weekly = cycles.create_cycle(None, enterprise, {"name": "班组每周应急小练", "preset": "weekly_small",
                                                        "starts_on": today - timedelta(days=56),
                                                        "plan_ids": [plan.id]})
        cycles.create_cycle(None, enterprise, {"name": "全厂每月应急演练", "preset": "monthly_large",
                                               "starts_on": today - timedelta(days=56), "plan_ids": [plan.id]})
        # The cycles existed for eight weeks: lay out their past occurrences as of then.
        for cycle in (weekly,):
            cycle.created_at = utcnow() - timedelta(days=56)
            occurrences.refresh_cycle(cycle, today)
        past = db.session.scalars(sa.select(Occurrence).where(Occurrence.cycle_id == weekly.id,
                                                              Occurrence.due_on < today)).all()
        for occurrence in past:
            if rng.random() < 0.75:
                records.record_drill(None, enterprise, {
                    "title": "班组应急小练", "duration_minutes": 30, "form": "tabletop", "content": "single",
                    "purpose": "inspection", "cycle_id": weekly.id, "version_ids": [plan.current.id],
                    "participant_count": rng.randint(5, 12),
                    "started_at": datetime.combine(occurrence.due_on, time(9, 0), tzinfo=SHANGHAI)})
    for enterprise in db.session.scalars(sa.select(Enterprise)).all():
        occurrences.refresh_obligations(enterprise, today)
    db.session.flush()
