"""Fixtures for the web-app tests: a migrated temp SQLite DB, users of every role, realistic slips.

Slips are made the way the nightly batch makes them: scored ``Call`` rows go
through ``pipeline.slips.record_call``, which issues, updates and audits the
slips. Transcripts are written like 95598 call records (agent/customer
turns), with personal numbers masked by ``pipeline.text.mask_pii``.
"""

from __future__ import annotations

import json
import random
import re
import shutil
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from pipeline.records import SHANGHAI
from pipeline.slips import record_call
from pipeline.storage.db import customer_hash, make_engine, session_factory, upgrade
from pipeline.storage.models import Call, Slip
from pipeline.text import mask_pii
from pipeline.text.mask import mask_account, mask_phone
from webapp import security
from webapp.app import create_app
from webapp.config import load_web_config
from webapp.users import add_user

PASSWORD = "Grid-95598-ok"
DALI = "大理供电局"
KUNMING = "昆明供电局"
USERS = {
    "prov": ("province", None),
    "dali": ("unit", DALI),
    "dali2": ("unit", DALI),
    "kunming": ("unit", KUNMING),
    "audit": ("auditor", None),
}


@dataclass
class CallSpec:
    """One scored call to store: who, where, what was said, and how it was assessed."""

    call_id: str
    unit: str
    area: str
    account: str
    category: str
    level: str
    score: float
    transcript: str
    reasons: list[dict[str, Any]]
    hours_ago: float = 20.0
    phone: str | None = None


XSS = '<script>alert("xss")</script><img src=x onerror=alert(1)>'

CALLS: list[CallSpec] = [
    CallSpec(
        "GD2026112700017",
        DALI,
        "上关镇河尾村",
        "0531200045678",
        "outage",
        "red",
        0.82,
        "坐席：您好，南方电网95598，很高兴为您服务。\n"
        "客户：我们河尾村又停电了，从昨天晚上到现在还莫得电，这是这个月第三次了。\n"
        "坐席：请问您的户号是多少？\n"
        "客户：户号0531200045678，我电话13812345678。屋头老人要吸氧，冰箱里的药都要坏了。\n"
        "客户：上次你们说好两个小时来修，结果没人管，再不来我就打12398投诉到能源局。\n"
        "坐席：非常抱歉，我马上给您催办抢修。",
        [
            {
                "code": "threat_regulator",
                "text": "客户表示将向12398投诉",
                "weight": 0.9,
                "terms": ["12398", "能源局"],
            },
            {
                "code": "repeat",
                "text": "同一问题30天内第3次来电",
                "weight": 0.7,
                "terms": ["第三次", "又停电"],
            },
            {
                "code": "vulnerable",
                "text": "涉及老人、病人等特殊群体",
                "weight": 0.5,
                "terms": ["老人", "吸氧"],
            },
            {
                "code": "missed_commitment",
                "text": "前次承诺未兑现",
                "weight": 0.4,
                "terms": ["说好", "没人管"],
            },
        ],
        hours_ago=40,
        phone="13812345678",
    ),
    CallSpec(
        "GD2026112700042",
        DALI,
        "下关镇文献路",
        "0531200098765",
        "meter_billing",
        "orange",
        0.48,
        "坐席：您好，95598。\n"
        "客户：我家这个月电费咋个要八百多，平时才两百，表是不是走快了？\n"
        "客户：换了新表以后就不对了，我要求校验电表，上次打过电话也没人回。\n"
        "坐席：好的，我给您登记电表校验申请。",
        [
            {"code": "repeat", "text": "同一问题30天内第2次来电", "weight": 0.5, "terms": ["上次打过电话"]},
            {"code": "anger", "text": "客户情绪激动", "weight": 0.3, "terms": ["走快了"]},
        ],
        hours_ago=30,
        phone="13987650042",
    ),
    CallSpec(
        "GD2026112700063",
        KUNMING,
        "呈贡区吴家营街道",
        "0871300012345",
        "voltage",
        "yellow",
        0.21,
        "坐席：您好，国家电网95598。\n"
        "客户：我们小区晚上电压低得很，灯一闪一闪的，空调都开不起来。\n"
        "坐席：请问是整栋楼都这样吗？\n"
        "客户：整栋都是，好多户都反映了。" + XSS,
        [
            {
                "code": "wide_incident",
                "text": "吴家营街道当晚4户来电反映电压低",
                "weight": 0.3,
                "terms": ["整栋", "电压低"],
            }
        ],
        hours_ago=10,
        phone="13600001234",
    ),
    CallSpec(
        "GD2026112700088",
        KUNMING,
        "官渡区关上街道",
        "0871300067890",
        "connection",
        "orange",
        0.41,
        "坐席：您好，95598。\n"
        "客户：我们店铺申请增容一个多月了还没人来装表，材料交了三次。\n"
        "客户：再拖下去我就去找媒体曝光。",
        [{"code": "threat_other", "text": "客户表示将找媒体反映", "weight": 0.6, "terms": ["媒体", "曝光"]}],
        hours_ago=70,
    ),
]


UNITS_AREAS = {
    DALI: ["喜洲镇周城村", "凤仪镇", "下关镇泰安路", "银桥镇"],
    KUNMING: ["盘龙区拓东街道", "西山区马街", "呈贡区斗南街道"],
    "遵义供电局": ["汇川区高桥街道", "红花岗区老城"],
    "桂林供电局": ["七星区漓东街道", "临桂区四塘镇"],
}
TOPICS = {
    "outage": ("停电故障", "客户：我们这里{area}又停电了，晚上黑起，啥子时候来电？", "又停电"),
    "voltage": ("电压质量", "客户：家里电压低得很，电饭锅煮不熟饭，灯一闪一闪的。", "电压低"),
    "meter_billing": ("抄表收费", "客户：这个月电费突然高了好多，是不是估抄了？我要查一下。", "电费"),
    "connection": ("用电办理", "客户：光伏并网申请交了一个月还没人来装表，进度咋个查？", "光伏并网"),
    "other": ("其他", "客户：门口那根电线杆歪了，离房子太近，怕出事。", "电线杆歪了"),
}
LEVEL_SCORES = {"red": 0.75, "orange": 0.45, "yellow": 0.22}


def generated_specs(count: int, seed: int = 7) -> list[CallSpec]:
    """Varied calls across four units, five categories and ten nights (for the browser demo world)."""
    rng = random.Random(seed)
    specs = []
    for i in range(count):
        unit = rng.choice(list(UNITS_AREAS))
        area = rng.choice(UNITS_AREAS[unit])
        category = rng.choice(list(TOPICS))
        level = rng.choices(["red", "orange", "yellow"], [1, 3, 6])[0]
        _, line, term = TOPICS[category]
        reasons = [{"code": "repeat", "text": "同一问题30天内第2次来电", "weight": 0.4, "terms": [term]}]
        if level == "red":
            line += "再不解决我就打12398投诉。"
            reasons.insert(
                0,
                {
                    "code": "threat_regulator",
                    "text": "客户表示将向12398投诉",
                    "weight": 0.9,
                    "terms": ["12398"],
                },
            )
        specs.append(
            CallSpec(
                call_id=f"GD202611{i:07d}",
                unit=unit,
                area=area,
                account=f"0{rng.randint(10**11, 10**12 - 1)}",
                category=category,
                level=level,
                score=LEVEL_SCORES[level] + rng.random() * 0.1,
                transcript="坐席：您好，95598，请讲。\n"
                + line.format(area=area)
                + "\n坐席：好的，已为您登记。",
                reasons=reasons,
                hours_ago=rng.uniform(2, 240),
            )
        )
    return specs


def _call_row(spec: CallSpec, now: datetime) -> Call:
    call_time = now - timedelta(hours=spec.hours_ago)
    return Call(
        call_id=spec.call_id,
        night=call_time.astimezone(SHANGHAI).date(),
        call_time=call_time,
        customer_key=customer_hash(spec.account),
        customer_masked=mask_account(spec.account),
        unit=spec.unit,
        area=spec.area,
        channel="phone",
        duration_s=180,
        transcript=mask_pii(spec.transcript),
        category=spec.category,
        confidence=0.91,
        probabilities={spec.category: 0.91},
        needs_review=False,
        escalation_score=spec.score,
        risk_level=spec.level,
        reasons=spec.reasons,
        features={},
        classifier_version="complaint-classifier/1",
        risk_model_version="escalation-risk/1",
        scored_at=now,
        phone_masked=mask_phone(spec.phone) if spec.phone else None,
    )


def store_calls(
    factory: sessionmaker[Session], specs: list[CallSpec], now: datetime | None = None
) -> list[str]:
    """Store scored calls and let pipeline.slips issue their slips; returns the slip numbers."""
    now = now or datetime.now(UTC)
    numbers: list[str] = []
    with factory() as session:
        for spec in specs:
            call = _call_row(spec, now)
            session.add(call)
            session.flush()
            night: date = call.night
            slip = record_call(session, call, night, now=now - timedelta(hours=spec.hours_ago - 1))
            if slip is not None:
                numbers.append(slip.slip_no)
        session.commit()
    return numbers


@dataclass
class World:
    """Everything a test needs: the DB, its slips by name, the app."""

    db_url: str
    factory: sessionmaker[Session]
    slips: dict[str, str]
    app: Any

    def slip(self, name: str) -> Slip:
        with self.factory() as session:
            return session.query(Slip).filter_by(slip_no=self.slips[name]).one()


SLIP_NAMES = ("dali_red", "dali_orange", "km_yellow", "km_orange")


def seed_database(path: Path) -> list[str]:
    """Migrate a new SQLite DB at ``path``, add the users and store the calls; returns slip numbers."""
    engine = upgrade(f"sqlite:///{path}")
    factory = session_factory(engine)
    numbers = store_calls(factory, CALLS)
    with factory() as session:
        for name, (role, unit) in USERS.items():
            add_user(session, name, PASSWORD, role, unit)
        session.commit()
    engine.dispose()
    return numbers


def build_world(folder: Path, template: Path | None = None, **config: Any) -> World:
    """A world in ``folder``: a copy of the seeded template DB (or a freshly seeded one) and an app on it."""
    path = folder / "web.db"
    if template is not None:
        shutil.copyfile(template, path)
        numbers = json.loads(template.with_suffix(".json").read_text())
    else:
        numbers = seed_database(path)
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    settings = {"secret_key": "test-secret", "webhook_poll_s": 0, "login_max_failures": 3} | config
    app = create_app(engine=engine, config=load_web_config(**settings))
    return World(url, session_factory(engine), dict(zip(SLIP_NAMES, numbers, strict=True)), app)


@pytest.fixture(autouse=True, scope="session")
def fast_password_hashing() -> None:
    """Argon2 at its production cost takes about a second here; tests use the same code with cheap parameters."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(security, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
        yield


@pytest.fixture(autouse=True)
def data_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Attachments and other files of the data home go to the test's own folder."""
    home = tmp_path / "home"
    monkeypatch.setenv("COMPLAINTS_HOME", str(home))
    return home


@pytest.fixture(scope="session")
def template_db(tmp_path_factory: pytest.TempPathFactory, fast_password_hashing) -> Path:
    """One seeded database per test session; each test gets its own copy."""
    path = tmp_path_factory.mktemp("template") / "web.db"
    numbers = seed_database(path)
    path.with_suffix(".json").write_text(json.dumps(numbers))
    return path


@pytest.fixture
def world(tmp_path: Path, template_db: Path) -> World:
    """The standard test world in a temp folder."""
    built = build_world(tmp_path, template_db)
    yield built
    built.app.state.engine.dispose()


CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    """The CSRF token embedded in a rendered form."""
    match = CSRF_RE.search(html)
    assert match, "page has no CSRF token"
    return match.group(1)


def login(client: TestClient, username: str, password: str = PASSWORD):
    """Sign in through the real login form (CSRF included); returns the POST response."""
    page = client.get("/login")
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": csrf_of(page.text), "next": "/slips"},
        follow_redirects=False,
    )


@pytest.fixture
def client_for(world: World):
    """A function giving a signed-in TestClient for a user name."""
    clients: list[TestClient] = []

    def make(username: str) -> TestClient:
        client = TestClient(world.app)
        clients.append(client)
        response = login(client, username)
        assert response.status_code == 303, response.text
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture(scope="session")
def helpers() -> SimpleNamespace:
    """The helpers above for test modules (importlib mode cannot import conftest by name)."""
    return SimpleNamespace(
        PASSWORD=PASSWORD,
        DALI=DALI,
        KUNMING=KUNMING,
        CALLS=CALLS,
        CallSpec=CallSpec,
        XSS=XSS,
        build_world=build_world,
        seed_database=seed_database,
        store_calls=store_calls,
        generated_specs=generated_specs,
        csrf_of=csrf_of,
        login=login,
    )
