"""The world behind the calls: supply units, their areas and 台区, and the customers living there.

Units carry a region, so dialect follows geography, and a grid (南方电网 in Yunnan,
Guizhou and Guangxi; 国家电网 in Sichuan and the north), so the greeting does too.
Customers are created lazily per area from the run's random stream, which keeps a
30-night run cheap while the same people can call again.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

SOUTHWEST, CANTONESE, NORTHERN = "southwest", "cantonese", "northern"


@dataclass(frozen=True)
class UnitSpec:
    name: str
    province: str
    dialect: str
    grid: str
    customers: int
    towns: tuple[str, ...]
    city: str
    area_code: str
    rural: float


UNITS: tuple[UnitSpec, ...] = (
    UnitSpec(
        "大理供电局",
        "云南",
        SOUTHWEST,
        "南方电网",
        1_350_000,
        ("上关镇", "喜洲镇", "湾桥镇", "凤仪镇", "银桥镇", "双廊镇"),
        "下关",
        "0872",
        0.7,
    ),
    UnitSpec(
        "宾川县供电局",
        "云南",
        SOUTHWEST,
        "南方电网",
        160_000,
        ("金牛镇", "州城镇", "宾居镇", "力角镇"),
        "宾川县城",
        "0872",
        0.85,
    ),
    UnitSpec(
        "曲靖供电局",
        "云南",
        SOUTHWEST,
        "南方电网",
        1_900_000,
        ("越州镇", "三宝镇", "茨营镇", "沾益街道"),
        "麒麟区",
        "0874",
        0.6,
    ),
    UnitSpec(
        "昭通供电局",
        "云南",
        SOUTHWEST,
        "南方电网",
        1_500_000,
        ("洒渔镇", "靖安镇", "乐居镇", "守望乡"),
        "昭阳区",
        "0870",
        0.8,
    ),
    UnitSpec(
        "遵义供电局",
        "贵州",
        SOUTHWEST,
        "南方电网",
        2_300_000,
        ("虾子镇", "新舟镇", "茅台镇", "三岔镇"),
        "汇川区",
        "0851",
        0.6,
    ),
    UnitSpec(
        "毕节供电局",
        "贵州",
        SOUTHWEST,
        "南方电网",
        2_000_000,
        ("燕子口镇", "朱昌镇", "阴底乡", "鸭池镇"),
        "七星关区",
        "0857",
        0.8,
    ),
    UnitSpec(
        "国网绵阳供电公司",
        "四川",
        SOUTHWEST,
        "国家电网",
        2_100_000,
        ("青义镇", "石马镇", "忠兴镇", "新店镇"),
        "涪城区",
        "0816",
        0.6,
    ),
    UnitSpec(
        "国网南充供电公司",
        "四川",
        SOUTHWEST,
        "国家电网",
        2_600_000,
        ("龙门镇", "李渡镇", "搬罾镇", "都京街道"),
        "顺庆区",
        "0817",
        0.65,
    ),
    UnitSpec(
        "南宁供电局",
        "广西",
        CANTONESE,
        "南方电网",
        3_100_000,
        ("那洪街道", "吴圩镇", "心圩街道", "金陵镇"),
        "青秀区",
        "0771",
        0.45,
    ),
    UnitSpec(
        "玉林供电局",
        "广西",
        CANTONESE,
        "南方电网",
        2_000_000,
        ("城北街道", "仁东镇", "茂林镇", "名山街道"),
        "玉州区",
        "0775",
        0.65,
    ),
    UnitSpec(
        "梧州供电局",
        "广西",
        CANTONESE,
        "南方电网",
        1_100_000,
        ("龙圩镇", "夏郢镇", "旺甫镇", "倒水镇"),
        "万秀区",
        "0774",
        0.7,
    ),
    UnitSpec(
        "国网保定供电公司",
        "河北",
        NORTHERN,
        "国家电网",
        3_900_000,
        ("大王店镇", "清苑镇", "北辛店", "东闾乡"),
        "竞秀区",
        "0312",
        0.6,
    ),
    UnitSpec(
        "国网周口供电公司",
        "河南",
        NORTHERN,
        "国家电网",
        3_500_000,
        ("李方口乡", "逊母口镇", "黄泛区农场", "城郊乡"),
        "川汇区",
        "0394",
        0.75,
    ),
    UnitSpec(
        "国网大同供电公司",
        "山西",
        NORTHERN,
        "国家电网",
        1_300_000,
        ("西坪镇", "马军营乡", "聚乐堡乡", "古店镇"),
        "平城区",
        "0352",
        0.55,
    ),
    UnitSpec(
        "国网长春供电公司",
        "吉林",
        NORTHERN,
        "国家电网",
        3_000_000,
        ("奢岭街道", "永春镇", "合隆镇", "米沙子镇"),
        "朝阳区",
        "0431",
        0.5,
    ),
)

_VILLAGE_HEAD = "上下大小新老东西南北河山石李王张杨马黄龙凤梨桃柳竹松金银白青高丰和平安兴"
_VILLAGE_TAIL = {
    SOUTHWEST: ("寨", "坝", "营", "哨", "箐", "坪", "湾", "沟", "村", "场"),
    CANTONESE: ("屯", "垌", "岭", "圩", "村", "塘", "坡", "寨"),
    NORTHERN: ("庄", "屯", "堡", "营", "店", "洼", "集", "村", "沟"),
}
_ESTATE_HEAD = (
    "阳光",
    "锦绣",
    "幸福",
    "金色",
    "滨江",
    "翠湖",
    "盛世",
    "和谐",
    "龙湖",
    "书香",
    "春天",
    "碧水",
    "绿苑",
    "新城",
    "名门",
    "怡景",
)
_ESTATE_TAIL = ("花园", "小区", "苑", "家园", "公寓", "新城", "华庭", "府")
_STREET_TAIL = ("路", "街", "大道", "巷")


@dataclass
class Customer:
    key: str
    account: str
    phone: str
    area: Area
    elderly: bool
    temper: float
    dialect_strength: float
    knows_account: float
    business: bool


@dataclass
class Area:
    name: str
    short: str
    town: str
    kind: str
    unit: Unit
    households: int
    transformers: tuple[str, ...]
    customers: list[Customer] = field(default_factory=list)


@dataclass
class Unit:
    spec: UnitSpec
    areas: list[Area] = field(default_factory=list)
    weights: list[float] = field(default_factory=list)


@dataclass
class World:
    units: list[Unit]
    unit_weights: list[float]
    _accounts: set[str] = field(default_factory=set)

    def new_customer(self, rng: random.Random, area: Area, business: bool = False) -> Customer:
        """A new resident of ``area``; account numbers are unique in the world."""
        grid = area.unit.spec.grid
        while True:
            account = (
                f"{rng.randrange(10**9, 10**10)}"
                if grid == "国家电网"
                else f"0{rng.randrange(10**11, 10**12)}"
            )
            if account not in self._accounts:
                self._accounts.add(account)
                break
        elderly = rng.random() < (0.26 if area.kind == "village" else 0.14)
        if rng.random() < (0.12 if elderly else 0.04):
            phone = f"{area.unit.spec.area_code}-{rng.randrange(2_000_000, 8_999_999)}"
        else:
            phone = f"1{rng.choice('3456789')}{rng.randrange(10**9):09d}"
        base = 0.55 if area.kind == "village" else 0.3
        customer = Customer(
            key=account,
            account=account,
            phone=phone,
            area=area,
            elderly=elderly,
            temper=min(1.0, rng.betavariate(1.6, 4.0) * (1.2 if not elderly else 0.9)),
            dialect_strength=min(1.0, base + (0.3 if elderly else 0.0) + rng.uniform(-0.25, 0.25)),
            knows_account=rng.uniform(0.05, 0.5) if elderly else rng.uniform(0.35, 0.95),
            business=business,
        )
        area.customers.append(customer)
        return customer

    def pick_customer(self, rng: random.Random, area: Area, business: bool = False) -> Customer:
        """A resident of ``area``: usually someone new to the run, sometimes a known caller."""
        known = [c for c in area.customers if c.business == business]
        if known and rng.random() < 0.15:
            return rng.choice(known)
        return self.new_customer(rng, area, business)


def _village(rng: random.Random, dialect: str) -> str:
    return rng.choice(_VILLAGE_HEAD) + rng.choice(_VILLAGE_HEAD) + rng.choice(_VILLAGE_TAIL[dialect])


def build_world(rng: random.Random, scale: float = 1.0) -> World:
    """Units with 25-45 areas each; area and unit weights follow households and customer counts."""
    units: list[Unit] = []
    for spec in UNITS:
        unit = Unit(spec)
        names: set[str] = set()
        for _ in range(rng.randint(25, 45)):
            town = rng.choice(spec.towns)
            if rng.random() < spec.rural:
                short = _village(rng, spec.dialect)
                kind, households = "village", rng.randint(120, 900)
                name = f"{town}{short}"
            elif rng.random() < 0.6:
                short = rng.choice(_ESTATE_HEAD) + rng.choice(_ESTATE_TAIL)
                kind, households = "estate", rng.randint(400, 3000)
                name = f"{spec.city}{short}"
            else:
                short = rng.choice(_ESTATE_HEAD[:8]) + rng.choice(_STREET_TAIL)
                kind, households = "street", rng.randint(200, 1500)
                name = f"{spec.city}{short}"
            if name in names:
                continue
            names.add(name)
            n_tx = max(1, households // 250)
            transformers = tuple(f"{short}{i + 1}号台区" for i in range(n_tx))
            unit.areas.append(Area(name, short, town, kind, unit, households, transformers))
            unit.weights.append(households**0.8)
        units.append(unit)
    weights = [u.spec.customers**0.7 for u in units]
    return World(units, weights)
