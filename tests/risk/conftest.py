"""Risk fixtures: call builders, a tiny real classifier, simulated nights, a private MLflow home."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from pipeline.records import CallRecord
from pipeline.storage import Call, customer_hash

SHANGHAI = ZoneInfo("Asia/Shanghai")
NIGHT = date(2026, 11, 27)


def make_call(
    call_id: str,
    *,
    customer: str = "5300000001",
    category: str = "outage",
    level: str = "yellow",
    score: float = 0.2,
    when: datetime | None = None,
    reasons: list[dict] | None = None,
    unit: str = "大理供电局",
    area: str = "上关镇河尾村",
    problem_id: str | None = None,
) -> Call:
    """A scored call row as scoring would store it (hand-constructed, for slip tests); its problem
    is the customer's calls of that category unless ``problem_id`` says otherwise."""
    when = when or datetime(2026, 11, 27, 9, 0, tzinfo=SHANGHAI)
    return Call(
        call_id=call_id,
        night=when.date(),
        call_time=when,
        customer_key=customer_hash(customer),
        customer_masked=customer[:3] + "****" + customer[-3:],
        unit=unit,
        area=area,
        channel="phone",
        duration_s=120,
        transcript="客户：停电了",
        category=category,
        confidence=0.9,
        probabilities={category: 0.9},
        needs_review=False,
        escalation_score=score,
        risk_level=level,
        reasons=reasons
        if reasons is not None
        else [{"code": "repeat", "text": "同一问题30天内第3次来电", "weight": 0.6}],
        problem_id=problem_id or f"P-{customer}-{category}",
    )


@pytest.fixture
def new_call():
    """The :func:`make_call` builder (test modules cannot import conftest under importlib mode)."""
    return make_call


def make_record(
    call_id: str,
    text: str,
    *,
    when: datetime,
    phone: str = "13800000001",
    customer_id: str | None = None,
    unit: str = "大理供电局",
    area: str | None = "上关镇河尾村",
    category: str | None = None,
) -> CallRecord:
    """An input record as ingest would produce it."""
    return CallRecord(
        call_id=call_id,
        call_time=when,
        phone=phone,
        unit=unit,
        transcript=text,
        customer_id=customer_id,
        area=area,
        duration_s=90,
        category=category,
    )


@pytest.fixture
def new_record():
    return make_record


_TRAIN_TEXTS = {
    "outage": [
        "家里停电了",
        "我们村全停电了",
        "突然没电了什么时候来电",
        "跳闸了一直没电",
        "停电好久了抢修还没来",
    ],
    "voltage": ["电压太低灯很暗", "电压不稳灯一闪一闪", "电饭锅煮不熟饭电压低", "空调启动不了电压低"],
    "meter_billing": ["电费怎么这么高", "电表走得太快了", "交了电费没到账", "这个月电费多收了"],
    "connection": ["新房子要装电表", "申请增容多久办好", "光伏并网怎么办理", "过户要什么材料"],
    "other": ["电线离房子太近了", "路灯不亮", "表扬你们的师傅", "变压器噪音太大"],
}


class TinyClassifier:
    """A real (tiny) char-n-gram logistic regression, trained in the fixture, with the classifier duck type."""

    version = "tiny-classifier/1"

    def __init__(self) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline

        texts = [t for items in _TRAIN_TEXTS.values() for t in items]
        labels = [label for label, items in _TRAIN_TEXTS.items() for _ in items]
        self.model = make_pipeline(
            TfidfVectorizer(analyzer="char", ngram_range=(1, 2)), LogisticRegression(C=20, max_iter=500)
        ).fit(texts, labels)

    def predict(self, transcripts):
        from models.types import predictions_from_proba

        proba = self.model.predict_proba(list(transcripts))
        return predictions_from_proba(proba, list(self.model.classes_), review_threshold=0.3)


@pytest.fixture(scope="session")
def tiny_classifier() -> TinyClassifier:
    return TinyClassifier()


@pytest.fixture(scope="session")
def simulated_nights(tmp_path_factory) -> Path:
    """Three weeks of small simulated nights with labels (real simulator output)."""
    from pipeline.simulator import simulate

    out = tmp_path_factory.mktemp("sim") / "nights"
    simulate(out, days=21, seed=5, scale=0.2)
    return out


@pytest.fixture
def mlflow_home(tmp_path, monkeypatch) -> Path:
    """A private MLflow store and home so registry tests never touch the real one."""
    home = tmp_path / "home"
    monkeypatch.setenv("COMPLAINTS_HOME", str(home))
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{home / 'mlflow.db'}")
    return home
