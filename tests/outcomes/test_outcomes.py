"""12398 outcomes (issue 14, item 1) and the labels export (item 2): matching by identity, unit, time and
text; idempotent import; every label listed with its source, author and time; numbers never shown raw."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from cli.main import app
from pipeline.corrections import correct_category, iter_labels, store_coded_categories
from pipeline.identity import resolve_night
from pipeline.outcomes import OutcomeRow, import_outcomes, match_row, problem_calls, read_outcomes, similarity
from pipeline.records import CallRecord
from pipeline.slips import apply_action, record_call
from pipeline.storage import customer_hash
from pipeline.storage.models import Call, Slip, SlipEvent
from pipeline.storage.outcomes import Label, Outcome12398
from pipeline.text.mask import mask_account, mask_phone, mask_pii

SH = ZoneInfo("Asia/Shanghai")
T = datetime(2026, 11, 20, 21, 0, tzinfo=SH)
DALI = "大理供电局"
KUNMING = "昆明供电局"
ACC_A = "0531200045678"
PHONE_A = "13812345678"
PHONE_B = "13987650042"
ACC_D = "5300123409"
PHONE_D = "13700002222"
OUTAGE = "坐席：您好，95598。\n客户：我们河尾村又停电了，到现在还没来电，说好来抢修的师傅一直没来，屋头老人要吸氧。"
BILL = "坐席：您好，95598。\n客户：这个月电费咋个要八百多，平时才两百，电表是不是走快了，我要校验电表。"
VOLT = "坐席：您好，95598。\n客户：我们小区晚上电压低得很，灯一闪一闪的，空调都开不起来，冰箱也停了。"
RIVER = "客户反映河尾村反复停电，抢修人员承诺来修一直没有到场，家中老人需要吸氧，要求尽快恢复供电。"
VOLT_12398 = "客户反映小区晚上电压低，灯闪烁，空调无法启动，多次反映未解决。"


def _call(
    call_id: str,
    key: str,
    category: str,
    text: str,
    hours_before: float,
    *,
    unit: str = DALI,
    area: str = "上关镇河尾村",
    phone: str | None = None,
    level: str = "red",
) -> Call:
    at = T - timedelta(hours=hours_before)
    return Call(
        call_id=call_id,
        night=at.date(),
        call_time=at,
        customer_key=customer_hash(key),
        customer_masked=mask_account(key) if "*" not in key else key,
        unit=unit,
        area=area,
        transcript=mask_pii(text),
        category=category,
        confidence=0.9,
        probabilities={category: 0.9},
        escalation_score=0.8 if level == "red" else 0.05,
        risk_level=level,
        reasons=[{"code": "repeat", "text": "同一问题30天内第2次来电", "weight": 0.5}]
        if level != "none"
        else [],
        features={},
        phone_masked=mask_phone(phone) if phone else None,
    )


def _store(session, call: Call) -> Slip | None:
    session.add(call)
    session.flush()
    return record_call(session, call, call.night, now=call.call_time + timedelta(minutes=30))


@pytest.fixture
def site(factory):
    """Customers A (account; an outage slip and a slip-less billing problem), B (masked phone only,
    a voltage slip), two masked-phone twins in Kunming, and D (phone first, account linked later)."""
    with factory() as session:
        slip_a = _store(session, _call("A1", ACC_A, "outage", OUTAGE, 72, phone=PHONE_A))
        _store(session, _call("A2", ACC_A, "outage", OUTAGE, 24, phone=PHONE_A))
        _store(session, _call("A3", ACC_A, "meter_billing", BILL, 200, phone=PHONE_A, level="none"))
        masked_b = mask_phone(PHONE_B)
        _store(session, _call("B1", masked_b, "voltage", VOLT, 30, area="下关镇文献路", phone=PHONE_B))
        for n, phone in enumerate(("13600001111", "13600091111")):
            twin = mask_phone(phone)
            _store(
                session,
                _call(
                    f"K{n}",
                    f"{twin}#{n}",
                    "voltage",
                    VOLT,
                    40 + n,
                    unit=KUNMING,
                    area=f"呈贡{n}",
                    phone=phone,
                ),
            )
        records = [
            CallRecord("D1", T - timedelta(days=3), PHONE_D, DALI, "客户：停电了", area="下关镇"),
            CallRecord(
                "D2", T - timedelta(days=2), PHONE_D, DALI, "客户：又停电了", customer_id=ACC_D, area="下关镇"
            ),
        ]
        resolve_night(session, records)
        _store(session, _call("D1", PHONE_D, "outage", OUTAGE, 72, area="下关镇", phone=PHONE_D))
        session.commit()
        return {"slip_a": slip_a.slip_no}


def _row(
    ticket: str, *, account: str = "", phone: str = "", unit: str = DALI, text: str = RIVER, hours: float = 0
):
    return OutcomeRow(2, ticket, T + timedelta(hours=hours), account, phone, unit, text)


def test_text_similarity_prefers_the_same_problem() -> None:
    assert similarity(RIVER, OUTAGE) > similarity(RIVER, BILL) + 0.1
    assert similarity("", OUTAGE) == 0.0


def test_account_match_picks_the_problem_the_complaint_is_about(factory, site) -> None:
    with factory() as session:
        match = match_row(session, _row("Z1", account=ACC_A))
        assert match.status == "matched"
        assert match.best.problem.slip.slip_no == site["slip_a"]
        assert {c.call_id for c in match.best.problem.calls} == {"A1", "A2"}
        assert len(match.candidates) == 2, "the billing problem was a candidate and lost on text"


def test_full_phone_alone_finds_the_customer_through_its_masked_form_in_the_unit(factory, site) -> None:
    with factory() as session:
        match = match_row(session, _row("Z2", phone=PHONE_A))
        assert match.status == "matched" and match.best.problem.slip.slip_no == site["slip_a"]


def test_masked_phone_matches_only_within_the_unit(factory, site) -> None:
    masked = mask_phone(PHONE_B)
    with factory() as session:
        same_unit = match_row(session, _row("Z3", phone=masked, text=VOLT_12398))
        assert same_unit.status == "matched" and [c.call_id for c in same_unit.best.problem.calls] == ["B1"]
        other_unit = match_row(session, _row("Z4", phone=masked, unit=KUNMING, text=VOLT_12398))
        assert other_unit.status == "unmatched"
        weak = match_row(session, _row("Z5", phone=masked, text="客户咨询营业厅地址。"))
        assert weak.status == "ambiguous", "a masked phone with unrelated text is left to a person"


def test_two_customers_behind_one_masked_phone_are_ambiguous(factory, site) -> None:
    with factory() as session:
        match = match_row(session, _row("Z6", phone="136****1111", unit=KUNMING, text=VOLT_12398))
        assert match.status == "ambiguous" and len(match.candidates) == 2


def test_account_linked_by_identity_finds_calls_stored_under_the_phone(factory, site) -> None:
    with factory() as session:
        match = match_row(session, _row("Z7", account=ACC_D))
        assert match.status == "matched" and [c.call_id for c in match.best.problem.calls] == ["D1"]


def test_time_and_horizon_bound_the_match(factory, site) -> None:
    with factory() as session:
        assert match_row(session, _row("Z8", account=ACC_A, hours=-250)).status == "unmatched", (
            "before the calls"
        )
        assert match_row(session, _row("Z9", account=ACC_A, hours=24 * 60)).status == "unmatched", (
            "past horizon"
        )
        assert match_row(session, _row("Z10", account="0999999999")).status == "unmatched"


def test_problem_of_a_slipless_call_is_its_customer_and_category(factory, site) -> None:
    with factory() as session:
        a3 = session.scalar(select(Call).where(Call.call_id == "A3"))
        problem = problem_calls(session, a3)
        assert problem.slip is None and problem.ref == "A3" and [c.call_id for c in problem.calls] == ["A3"]


def _write_file(path: Path, rows: list[dict[str, str]]) -> Path:
    frame = pd.DataFrame(rows, columns=["转办编号", "受理时间", "户号", "联系电话", "供电单位", "诉求内容"])
    if path.suffix == ".xlsx":
        frame.to_excel(path, index=False)
    else:
        frame.to_csv(path, index=False, encoding="utf-8-sig")
    return path


def _file_rows() -> list[dict[str, str]]:
    when = T.strftime("%Y-%m-%d %H:%M")
    return [
        {"转办编号": "12398-2611-001", "受理时间": when, "户号": ACC_A, "联系电话": PHONE_A, "供电单位": DALI, "诉求内容": RIVER},
        {"转办编号": "12398-2611-002", "受理时间": when, "户号": "", "联系电话": mask_phone(PHONE_B),
         "供电单位": DALI, "诉求内容": VOLT_12398},
        {"转办编号": "12398-2611-003", "受理时间": when, "户号": "", "联系电话": "136****1111",
         "供电单位": KUNMING, "诉求内容": VOLT_12398},
        {"转办编号": "12398-2611-004", "受理时间": when, "户号": "0999999999", "联系电话": "", "供电单位": DALI,
         "诉求内容": "反映电费问题"},
        {"转办编号": "", "受理时间": when, "户号": ACC_A, "联系电话": "", "供电单位": DALI, "诉求内容": "缺编号"},
    ]  # fmt: skip


def _state(factory) -> tuple:
    with factory() as session:
        return (
            session.scalar(select(func.count()).select_from(Outcome12398)),
            session.scalar(select(func.count()).select_from(Label)),
            session.scalar(select(func.count()).select_from(SlipEvent)),
            tuple(session.execute(select(Slip.slip_no, Slip.version, Slip.escalated_at).order_by(Slip.id))),
        )


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_import_marks_the_slip_labels_the_problem_and_is_idempotent(factory, site, tmp_path, suffix) -> None:
    path = _write_file(tmp_path / f"12398{suffix}", _file_rows())
    rows, bad = read_outcomes(path)
    assert len(rows) == 4 and [b.reason for b in bad] == ["缺少转办编号"]
    with factory() as session:
        result = import_outcomes(session, path, by="ops")
        session.commit()
    assert [r.status for r in result.rows] == ["matched", "matched", "ambiguous", "unmatched"]
    first = _state(factory)
    with factory() as session:
        slip = session.scalar(select(Slip).where(Slip.slip_no == site["slip_a"]))
        assert slip.escalated_12398 and slip.escalated_at == T
        event = session.scalar(
            select(SlipEvent).where(SlipEvent.slip_id == slip.id, SlipEvent.action == "escalated_12398")
        )
        assert event.by == "ops" and "12398-2611-001" in event.note
        labels = session.scalars(select(Label).where(Label.source == "outcome_12398")).all()
        assert sorted(lb.call_id for lb in labels) == ["A1", "A2", "B1"]
        assert {(lb.kind, lb.value, lb.author, lb.observed_at) for lb in labels} == {
            ("escalation", "1", "ops", T)
        }
        stored = session.scalars(select(Outcome12398).order_by(Outcome12398.ticket_no)).all()
        raw = json.dumps([[o.account_hash, o.phone_hash, o.phone_masked, o.text_masked] for o in stored])
        assert PHONE_A not in raw and ACC_A not in raw and PHONE_B not in raw
        assert stored[0].phone_hash == customer_hash(f"phone:{PHONE_A}")
    with factory() as session:
        again = import_outcomes(session, path, by="ops")
        session.commit()
    assert {r.status for r in again.rows} == {"skipped"}
    assert _state(factory) == first, "importing the same file twice changes nothing"


def test_cli_import_prints_counts_in_chinese_and_masks_numbers(factory, site, db_url, tmp_path) -> None:
    path = _write_file(tmp_path / "12398.csv", _file_rows())
    result = CliRunner().invoke(app, ["outcomes", "import", str(path), "--db", db_url])
    assert result.exit_code == 0, result.output
    assert "已匹配 2 条，待人工确认 1 条，未匹配 1 条，已导入过跳过 0 条，无法读取 1 条" in result.output
    assert site["slip_a"] in result.output and "待人工确认" in result.output
    for number in (PHONE_A, ACC_A, PHONE_B, "0999999999"):
        assert number not in result.output
    assert mask_phone(PHONE_A) in result.output
    again = CliRunner().invoke(app, ["outcomes", "import", str(path), "--db", db_url])
    assert "已导入过跳过 4 条" in again.output
    missing = tmp_path / "bad.csv"
    missing.write_text("转办编号,受理时间\n1,2026-11-20\n", encoding="utf-8")
    bad = CliRunner().invoke(app, ["outcomes", "import", str(missing), "--db", db_url])
    assert bad.exit_code == 2 and "缺少列" in bad.output


def test_labels_export_lists_every_source_with_author_and_time(factory, site, db_url, tmp_path) -> None:
    with factory() as session:
        b1 = session.scalar(select(Call).where(Call.call_id == "B1"))
        correct_category(session, b1, "outage", "dali")
        apply_action(
            session, site["slip_a"], "false_alarm", "prov", "现场核实为计划停电，已提前公告，联系13812345678"
        )
        coded = [CallRecord("A3", T, PHONE_A, DALI, "x", customer_id=ACC_A, category="meter_billing")]
        assert store_coded_categories(session, coded) == 1
        assert store_coded_categories(session, coded) == 0, "storing the same export again changes nothing"
        session.commit()
    _write_file(tmp_path / "12398.csv", _file_rows()[:1])
    with factory() as session:
        import_outcomes(session, tmp_path / "12398.csv", by="ops")
        session.commit()
    out = CliRunner().invoke(app, ["labels", "export", "--db", db_url])
    assert out.exit_code == 0, out.output
    rows = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
    by_source = {}
    for row in rows:
        by_source.setdefault(row["source"], []).append(row)
    assert set(by_source) == {"correction", "outcome_12398", "export_coded"}
    kinds = {(r["call_id"], r["kind"], r["value"], r["author"]) for r in by_source["correction"]}
    assert kinds == {
        ("B1", "category", "outage", "dali"),
        ("A1", "false_alarm", "1", "prov"),
        ("A2", "false_alarm", "1", "prov"),
    }
    assert {(r["call_id"], r["value"], r["author"]) for r in by_source["export_coded"]} == {
        ("A3", "meter_billing", "export")
    }
    assert {r["call_id"] for r in by_source["outcome_12398"]} == {"A1", "A2"}
    assert all(r["at"] for r in rows)
    assert PHONE_A not in out.stdout, "the reason a person typed is masked"
    csv_out = CliRunner().invoke(app, ["labels", "export", "--db", db_url, "--format", "csv"])
    assert (
        csv_out.stdout.splitlines()[0]
        .lstrip("\ufeff")
        .startswith("call_id,slip_no,problem_ref,kind,value,source")
    )
    with factory() as session:
        assert len(list(iter_labels(session))) == len(rows)


def test_labels_are_append_only_and_the_migration_goes_down_and_up(factory, engine, db_url) -> None:
    from alembic import command
    from sqlalchemy import inspect, text
    from sqlalchemy.exc import DBAPIError

    from pipeline.storage import AuditImmutableError, upgrade
    from pipeline.storage.db import _alembic_config, current_revision, head_revision

    with factory() as session:
        session.add(Label(call_id="X1", kind="category", value="outage", source="correction", author="a"))
        session.commit()
        label = session.scalar(select(Label))
        label.value = "other"
        with pytest.raises(AuditImmutableError):
            session.flush()
        session.rollback()
    with pytest.raises(DBAPIError), engine.begin() as connection:
        connection.execute(text("UPDATE labels SET value = 'other'"))
    cfg = _alembic_config()
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.downgrade(cfg, "0007")
    assert not {"labels", "outcomes_12398"} & set(inspect(engine).get_table_names())
    assert "escalated_12398" not in {c["name"] for c in inspect(engine).get_columns("slips")}
    upgrade(db_url).dispose()
    assert current_revision(engine) == head_revision()
