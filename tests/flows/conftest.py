"""Flow fixtures: one Prefect test server per session, a tiny champion in a scratch MLflow, tiny nights.

The nights are written here from a handful of hand-written call templates (not
the simulator) so the flow tests depend only on the export contract.
"""

from __future__ import annotations

import csv
import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from prefect.testing.utilities import prefect_test_harness
from sqlalchemy import func, select

from pipeline.records import EXPORT_FIELDS, SHANGHAI
from pipeline.storage import Call, Slip, make_engine

GREETING = "坐席：您好，国家电网95598，很高兴为您服务。"
TEMPLATES: dict[str, list[str]] = {
    "meter_billing": [
        "我家这个月电费突然高了好多，平时才一百多，这个月三百多，是不是抄错表了",
        "我在手机上交了电费，钱扣了但是户号上一直没到账",
        "欠费停电了，我已经把钱交了，怎么还没给我复电",
        "阶梯电价是怎么算的，为什么我家电费比邻居高这么多",
    ],
    "outage": [
        "我家从早上就停电了，到现在还没来电，什么时候能修好",
        "我们整个村都停电了，抢修的人说一个小时到，现在三个小时了还没来",
        "家里总是跳闸，一天要停好几次电",
        "计划停电没有提前通知，现在超过时间了还没来电",
    ],
    "voltage": [
        "晚上电压太低了，电饭锅煮不熟饭，空调也启动不了",
        "家里的灯一闪一闪的，电压很不稳定",
        "昨天来电的时候电压太高，把我家冰箱烧坏了",
        "水泵带不动，电压只有一百七十多伏",
    ],
    "connection": [
        "我新盖的房子要装电表，申请了两个星期了还没人来装",
        "我想给店里增容，需要准备什么材料，办到哪一步了",
        "屋顶装了光伏，想问并网的手续办到哪一步了",
        "房子买了想过户电表，要带哪些证件",
    ],
    "other": [
        "你们营业厅的工作人员态度太差了，说话很难听",
        "我家门口那根电线杆歪了，很危险，你们派人来看看",
        "村口的变压器一直嗡嗡响，晚上睡不着觉",
        "有人冒充供电局打电话让我交钱，是不是诈骗",
    ],
}
ANGRY = ["再不解决我就打12398投诉", "已经打了三次电话了还是没人管", "家里有老人，这样下去不行"]
UNITS = ["大理供电局", "昆明供电局", "曲靖供电局"]
AREAS = ["上关镇河尾村", "五华区篆塘路", "麒麟区南宁街道"]
EXPORT_FIELDS = list(EXPORT_FIELDS)
LABEL_FIELDS = ["call_id", "category", "escalated_12398", "escalated_at"]


@dataclass
class Night:
    """A tiny night export on disk, with what the test needs to check the flow against."""

    night: str
    folder: Path
    good_ids: list[str]
    bad_rows: int


def _calls(night: str, n: int, seed: int, prefix: str) -> list[dict[str, str]]:
    rng = random.Random(seed)
    start = datetime.fromisoformat(night).replace(tzinfo=SHANGHAI) + timedelta(hours=7)
    customers = [
        (f"53{rng.randrange(10**9, 10**10)}", f"13{rng.randrange(10**8, 10**9)}") for _ in range(n // 2)
    ]
    rows = []
    for i in range(n):
        category = list(TEMPLATES)[i % len(TEMPLATES)]
        text = rng.choice(TEMPLATES[category])
        if rng.random() < 0.3:
            text += "，" + rng.choice(ANGRY)
        customer_id, phone = rng.choice(customers)
        rows.append(
            {
                "call_id": f"{prefix}{i:05d}",
                "call_time": (start + timedelta(minutes=13 * i)).isoformat(),
                "customer_id": customer_id,
                "phone": phone,
                "unit": rng.choice(UNITS),
                "area": rng.choice(AREAS),
                "channel": "phone",
                "duration_s": str(rng.randrange(40, 400)),
                "transcript": f"{GREETING}\n客户：{text}。\n坐席：好的，已为您登记工单。",
                "category": category,
                "escalated_12398": "true" if "12398" in text else "false",
                "escalated_at": "",
            }
        )
    return rows


def _write_csv(path: Path, fields: list[str], rows: list[dict[str, str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)


def write_night(root: Path, night: str, n: int = 40, seed: int = 7, bad_rows: bool = True) -> Night:
    """``root/night/calls.csv`` with ``n`` good calls plus two malformed rows (no phone; bad time)."""
    rows = _calls(night, n, seed, prefix=f"N{night.replace('-', '')}-")
    bad = []
    if bad_rows:
        bad = [
            {**rows[0], "call_id": "BAD-NO-PHONE", "phone": ""},
            {**rows[1], "call_id": "BAD-TIME", "call_time": "昨天下午"},
        ]
    folder = root / night
    _write_csv(folder / "calls.csv", EXPORT_FIELDS, rows + bad)
    return Night(night, folder, [r["call_id"] for r in rows], len(bad))


def write_labelled(root: Path, nights: int, per_night: int, seed: int) -> Path:
    """Simulator layout (calls.csv + labels.csv per night folder), for training and frozen eval sets."""
    for d in range(nights):
        night = (datetime(2026, 10, 1) + timedelta(days=d)).date().isoformat()
        rows = _calls(night, per_night, seed + d, prefix=f"T{seed}-{d}-")
        _write_csv(root / night / "calls.csv", EXPORT_FIELDS, rows)
        _write_csv(root / night / "labels.csv", LABEL_FIELDS, rows)
    return root


@pytest.fixture
def make_night():
    """The night writer, as a fixture (conftest modules are not importable under importlib mode)."""
    return write_night


@pytest.fixture(scope="session")
def prefect_server() -> Iterator[None]:
    """One temporary Prefect server for the whole session (180 s: a loaded 2-core machine needs it)."""
    with prefect_test_harness(server_startup_timeout=180):
        yield


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("tiny-data")
    train = write_labelled(root / "train", nights=3, per_night=60, seed=11)
    eval_root = root / "eval"
    write_labelled(eval_root / "simulated", nights=1, per_night=40, seed=99)
    return {"train": train, "eval": eval_root}


@pytest.fixture(scope="session")
def mlflow_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("mlflow")


@pytest.fixture
def product_env(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, mlflow_store: Path, tiny_data: dict[str, Path]
) -> Path:
    """A fresh product home per test; MLflow (with the session's champion) shared across tests."""
    home = tmp_path / "home"
    monkeypatch.setenv("COMPLAINTS_HOME", str(home))
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{mlflow_store / 'mlflow.db'}")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    return home


@pytest.fixture(scope="session")
def champion(tiny_data: dict[str, Path], mlflow_store: Path) -> str:
    """A tiny baseline classifier registered as champion in the session's MLflow store."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("COMPLAINTS_HOME", str(mlflow_store / "home"))
        mp.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{mlflow_store / 'mlflow.db'}")
        from models.training import train_classifier

        outcome = train_classifier("baseline", tiny_data["train"], preset="quick", eval_dir=tiny_data["eval"])
    assert outcome.gate is not None and outcome.gate.promoted
    return outcome.version


def _snapshot(db_url: str, night: str) -> tuple[dict[str, tuple], Counter]:
    """What scoring decided per call of ``night``, and the slips (without their generated numbers)."""
    engine = make_engine(db_url)
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                Call.call_id,
                Call.category,
                Call.confidence,
                Call.risk_level,
                Call.escalation_score,
                Call.classifier_version,
            ).where(Call.night == date.fromisoformat(night))
        ).all()
        slips = conn.execute(select(Slip.customer_key, Slip.category, Slip.level, Slip.call_count)).all()
    engine.dispose()
    return {r[0]: tuple(r[1:]) for r in rows}, Counter(tuple(r) for r in slips)


def _count(db_url: str, column) -> int:
    engine = make_engine(db_url)
    with engine.connect() as conn:
        value = conn.execute(select(func.count(column))).scalar_one()
    engine.dispose()
    return value


@pytest.fixture
def db_snapshot():
    return _snapshot


@pytest.fixture
def db_count():
    return _count
