"""How fast the slip queue pages with tens of thousands of slips (prints timings, asserts nothing).

    .venv/bin/python benchmarks/webapp_queue.py [--slips 50000] [--db sqlite:///...]

Fills a temporary database with synthetic slips across 12 units (bulk insert,
no scoring), then times the queries behind the queue page, the API and the
dashboard for a province user and a unit user.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert
from tqdm import tqdm

from pipeline.labels import LABELS
from pipeline.storage.db import session_factory, upgrade
from pipeline.storage.models import Slip, User
from webapp import dashboard
from webapp.queue import LedgerFilters, queue_page

UNITS = [
    f"{name}供电局"
    for name in (
        "大理",
        "昆明",
        "曲靖",
        "玉溪",
        "遵义",
        "贵阳",
        "桂林",
        "南宁",
        "成都",
        "绵阳",
        "保定",
        "邯郸",
    )
]


def fill(factory, count: int, seed: int = 1) -> None:
    rng = random.Random(seed)
    now = datetime.now(UTC)
    batch: list[dict] = []
    with factory() as session:
        for i in tqdm(range(count), desc="写入预警单", unit="张"):
            created = now - timedelta(hours=rng.uniform(0, 24 * 90))
            level = rng.choices(["red", "orange", "yellow"], [1, 3, 6])[0]
            status = rng.choices(
                ["issued", "acknowledged", "in_progress", "callback", "closed"], [2, 2, 2, 1, 8]
            )[0]
            due = created + timedelta(hours={"red": 24, "orange": 48, "yellow": 72}[level])
            batch.append(
                {
                    "slip_no": f"YJ{created:%Y%m%d}-{i:06d}",
                    "unit": rng.choice(UNITS),
                    "customer_key": f"{rng.getrandbits(128):032x}",
                    "customer_masked": "053******1234",
                    "area": "某镇某村",
                    "category": rng.choice(LABELS),
                    "level": level,
                    "score": rng.random(),
                    "reasons": [{"code": "repeat", "text": "同一问题30天内第3次来电", "weight": 0.5}],
                    "recommended_actions": ["电话回访"],
                    "status": status,
                    "due_at": due,
                    "created_at": created,
                    "updated_at": created,
                    "closed_at": due - timedelta(hours=rng.uniform(-12, 20)) if status == "closed" else None,
                    "first_call_at": created,
                    "last_call_at": created,
                    "call_count": 1,
                    "supervised": False,
                    "reopen_count": 0,
                    "version": 1,
                }
            )
            if len(batch) == 5000:
                session.execute(insert(Slip), batch)
                batch.clear()
        if batch:
            session.execute(insert(Slip), batch)
        session.commit()


def timed(label: str, fn, repeat: int = 5) -> None:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    print(f"{label:<42} median {statistics.median(times):7.1f} ms   max {max(times):7.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slips", type=int, default=50_000)
    parser.add_argument("--db", default=None, help="database URL (default: a temporary SQLite file)")
    args = parser.parse_args()
    url = args.db or f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.db'}"
    factory = session_factory(upgrade(url))
    fill(factory, args.slips)
    province = User(username="p", password_hash="x", role="province")
    unit = User(username="u", password_hash="x", role="unit", unit=UNITS[0])
    print(f"\n{args.slips} slips in {url.split('://')[0]}")
    with factory() as session:
        timed(
            "queue page 1, province, open",
            lambda: queue_page(session, province, LedgerFilters(status="open"), 1, 50),
        )
        timed(
            "queue page 200, province, open",
            lambda: queue_page(session, province, LedgerFilters(status="open"), 200, 50),
        )
        timed(
            "queue page 1, province, red + outage",
            lambda: queue_page(
                session, province, LedgerFilters(status="open", level="red", category="outage"), 1, 50
            ),
        )
        timed(
            "queue page 1, province, overdue",
            lambda: queue_page(session, province, LedgerFilters(status="overdue"), 1, 50),
        )
        timed(
            "queue page 1, unit user, open",
            lambda: queue_page(session, unit, LedgerFilters(status="open"), 1, 50),
        )
        timed(
            "queue page 1, province, all statuses",
            lambda: queue_page(session, province, LedgerFilters(status="all"), 1, 50),
        )
        timed(
            "dashboard totals + open by unit + on time",
            lambda: (
                dashboard.totals(session, province),
                dashboard.open_by_unit_level(session, province),
                dashboard.closed_on_time(session, province),
            ),
        )


if __name__ == "__main__":
    main()
