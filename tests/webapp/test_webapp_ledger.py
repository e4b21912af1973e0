"""One ledger: the CLI, the pages, the API and the exports agree on order, search and headers; no row cap."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime, timedelta

import typer
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import insert
from typer.testing import CliRunner

from cli import slips as slips_cli
from pipeline import ledger
from pipeline.storage.models import Slip
from webapp.users import issue_token

runner = CliRunner()


def _cli() -> typer.Typer:
    app = typer.Typer()
    slips_cli.register(app)
    return app


def _headers(world, username: str) -> dict[str, str]:
    with world.factory() as session:
        token = issue_token(session, username)
        session.commit()
    return {"Authorization": f"Bearer {token}"}


def test_cli_api_and_excel_agree_on_order_and_headers(world, client_for) -> None:
    with TestClient(world.app) as api:
        items = api.get("/api/slips?status=all", headers=_headers(world, "prov")).json()["items"]
    api_order = [i["slip_no"] for i in items]
    jsonl = runner.invoke(_cli(), ["slips", "export", "--db", world.db_url])
    cli_rows = [json.loads(line) for line in jsonl.output.splitlines() if line.strip()]
    csv_run = runner.invoke(_cli(), ["slips", "export", "--format", "csv", "--db", world.db_url])
    csv_header = next(csv.reader(io.StringIO(csv_run.output.lstrip("\ufeff"))))
    sheet = load_workbook(io.BytesIO(client_for("prov").get("/ledger.xlsx?status=all").content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert [r["预警单编号"] for r in cli_rows] == api_order == [r[0] for r in rows[1:]]
    assert list(rows[0]) == csv_header == list(cli_rows[0]) == list(ledger.EXPORT_HEADERS)
    assert "处理人" in csv_header and "剩余时间" in csv_header and "处理情况" in csv_header


def test_slips_export_streams_every_row_past_ten_thousand(world) -> None:
    now = datetime.now(UTC)
    rows = [
        {
            "slip_no": f"YJ20260101-{i:05d}",
            "unit": "大理供电局",
            "customer_key": f"k{i}",
            "customer_masked": "053******0000",
            "category": "outage",
            "level": "yellow",
            "score": 0.2,
            "reasons": [],
            "recommended_actions": [],
            "status": "issued",
            "due_at": now + timedelta(days=3),
            "created_at": now,
            "updated_at": now,
            "first_call_at": now,
            "last_call_at": now,
            "call_count": 1,
            "supervised": False,
            "reopen_count": 0,
            "version": 1,
        }
        for i in range(10_001)
    ]
    with world.factory() as session:
        session.execute(insert(Slip), rows)
        session.commit()
    result = runner.invoke(_cli(), ["slips", "export", "--db", world.db_url, "--unit", "大理供电局"])
    assert result.exit_code == 0
    assert sum(1 for line in result.output.splitlines() if line.startswith("{")) == 10_001 + 2


def test_search_by_phone_tail_number_account_and_slip_number(world) -> None:
    headers = _headers(world, "prov")
    orange = world.slips["dali_orange"]

    def found(q: str, who: dict[str, str] = headers) -> list[str]:
        with TestClient(world.app) as api:
            return [
                i["slip_no"]
                for i in api.get("/api/slips", params={"q": q, "status": "all"}, headers=who).json()["items"]
            ]

    assert found("0042") == [orange], "caller's phone tail"
    assert found("139 8765 0042") == [orange], "the whole phone number"
    assert found("0531200098765") == [orange], "the account number"
    assert found("8765") == [orange], "account tail (customer shown as *********8765)"
    assert found(orange[-6:].lower()) == [orange], "part of the slip number"
    assert found("下关镇") == [orange], "area"
    assert found("0042", _headers(world, "kunming")) == [], "search stays inside the unit"
    assert found("%") == [], "wildcards are literal"


def test_queue_page_search_and_sort_by_time_left(world, client_for) -> None:
    client = client_for("prov")
    html = client.get("/slips?q=0042").text
    assert re.findall(r'data-slip="([^"]+)"', html) == [world.slips["dali_orange"]]
    by_due = re.findall(r'data-slip="([^"]+)"', client.get("/slips?sort=due").text)
    with world.factory() as session:
        due = {s.slip_no: s.due_at for s in session.query(Slip).all()}
    assert [due[n] for n in by_due] == sorted(due[n] for n in by_due)


def test_due_soon_and_countdown(world, client_for) -> None:
    slip_no = world.slips["km_yellow"]
    with world.factory() as session:
        slip = session.query(Slip).filter_by(slip_no=slip_no).one()
        slip.due_at = datetime.now(UTC) + timedelta(hours=2, minutes=10)
        session.commit()
    client = client_for("prov")
    html = client.get("/slips?status=due_soon").text
    assert re.findall(r'data-slip="([^"]+)"', html) == [slip_no]
    assert "即将超期" in html and re.search(r"剩余 2小时(9|10)分", html)
    overdue = client.get("/slips").text
    assert re.search(r"已超期 \d+小时", overdue), "overdue slips count up how late they are"
    assert "剩余 2小时" in client.get(f"/slips/{slip_no}").text


def test_enums_are_the_one_vocabulary() -> None:
    from pipeline.risk.levels import LEVEL_RANK
    from pipeline.storage.models import SLIP_STATUSES

    assert tuple(ledger.Status) == SLIP_STATUSES
    assert [lv.value for lv in ledger.LEVELS] == ["red", "orange", "yellow"]
    assert sorted(LEVEL_RANK, key=LEVEL_RANK.get, reverse=True)[:3] == ["red", "orange", "yellow"]
    assert ledger.Action.CALLBACK.done_zh == "回访结果已记录"
    assert (
        ledger.safe_cell("=1+2") == "'=1+2" and ledger.safe_cell("@x") == "'@x" and ledger.safe_cell(3) == 3
    )
