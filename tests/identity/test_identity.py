"""Identity linking (issue 11, item 1): account, phone, masked phone and an account read aloud, one customer."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from sqlalchemy import func, inspect, select

from pipeline.identity import aliases, link_calls, resolve_night, spoken_account
from pipeline.records import CallRecord
from pipeline.storage import customer_hash
from pipeline.storage.db import current_revision, head_revision
from pipeline.storage.identity import IdentityLink

SH = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 2, 10, 0, tzinfo=SH)
ACCOUNT = "5300123409"


def _call(
    call_id: str,
    *,
    day: int = 0,
    customer_id: str | None = None,
    phone: str = "13800001111",
    text: str = "客户：停电了",
    unit: str = "大理供电局",
    area: str | None = "上关镇河尾村",
) -> CallRecord:
    return CallRecord(
        call_id=call_id,
        call_time=T0 + timedelta(days=day, minutes=int(call_id[-2:]) if call_id[-2:].isdigit() else 0),
        phone=phone,
        unit=unit,
        transcript=text,
        customer_id=customer_id,
        area=area,
    )


@pytest.mark.parametrize(
    ("text", "digits"),
    [
        ("坐席：请问您的户号是多少\n客户：五三零零 幺二三四 洞勾", "5300123409"),
        ("坐席：麻烦提供一下户号\n客户：嗯，5 3 0 0 1 2 3 4 0 9", "5300123409"),
        ("坐席：请您报一下户号\n客户：等下我看看……五三洞洞，呃，幺两三四，洞九", "5300123409"),
        ("客户：我的户号是拐八六幺 二二三三 四四五五", "786122334455"),
        ("坐席：您好\n客户：户号是0 7 9 7 7 1 5 8 9 3 9 7", "079771589397"),
        ("【在线诉求】户号5300123409，家里停电", "5300123409"),
        ("客户：我的用户编号是5300123409", "5300123409"),
        ("坐席：请问户号\n客户：户号是五三零零幺二三四洞勾，电话就是这个", "5300123409"),
    ],
)
def test_an_account_read_aloud_is_found(text, digits):
    assert spoken_account(text) == digits


@pytest.mark.parametrize(
    "text",
    [
        "坐席：请问您的户号是多少\n客户：户号我不晓得，你按地址查嘛",
        "客户：工单号是2611020012，你查一下",
        "坐席：请问您的户号\n客户：我电话是幺三八 洞洞洞洞 幺幺幺幺",  # a phone read aloud is no account
        "客户：电费三百多块，上个月才一百二",
        "坐席：工单号是2611020012345\n客户：好",  # the agent's numbers are not the customer's account
    ],
)
def test_no_account_where_none_was_given(text):
    assert spoken_account(text) is None


def _ids(records, stored=None):
    return link_calls(records, stored or {}).customer_of


def test_a_caller_who_switches_phones_keeps_their_history_by_saying_the_account():
    night1 = [_call("GD01", customer_id=ACCOUNT, phone="13800001111")]
    resolved1 = link_calls(night1, {})
    said = "坐席：请问您的户号是多少\n客户：五三零零幺二三四洞勾，我换了个手机"
    night2 = [_call("GD02", day=1, phone="13999998888", text=said)]
    resolved2 = link_calls(night2, resolved1.links)
    night3 = [_call("GD03", day=2, phone="13999998888")]  # the new phone alone, no account
    resolved3 = link_calls(night3, {**resolved1.links, **resolved2.links})
    first = resolved1.customer_of["GD01"]
    assert first == customer_hash(ACCOUNT)  # the id stored calls already carry
    assert resolved2.customer_of["GD02"] == first
    assert resolved3.customer_of["GD03"] == first


def test_phone_and_account_link_within_one_night_and_ids_are_stable():
    night = [
        _call("GD01", phone="13800001111"),
        _call("GD02", customer_id=ACCOUNT, phone="13800001111"),
        _call("GD03", phone="13800001111"),
    ]
    ids = _ids(night)
    assert len(set(ids.values())) == 1
    assert ids["GD01"] == customer_hash(ACCOUNT)  # the account is the strongest key
    assert _ids(list(reversed(night))) == ids


def test_a_masked_phone_links_only_in_the_same_unit_and_area():
    masked = "138****1111"
    ids = _ids(
        [
            _call("GD01", phone=masked),
            _call("GD02", phone=masked),
            _call("GD03", phone=masked, area="下关镇"),
            _call("GD04", phone=masked, unit="宾川县供电局"),
            _call("GD05", phone=masked, area=None),
            _call("GD06", phone=masked, area=None),
        ]
    )
    assert ids["GD01"] == ids["GD02"]
    assert len({ids["GD01"], ids["GD03"], ids["GD04"], ids["GD05"], ids["GD06"]}) == 5


def test_two_accounts_sharing_a_phone_stay_two_customers():
    ids = _ids(
        [
            _call("GD01", customer_id=ACCOUNT, phone="13800001111"),
            _call("GD02", customer_id="5300999999", phone="13800001111"),  # paying for a parent
            _call("GD03", phone="13800001111"),
        ]
    )
    assert ids["GD01"] != ids["GD02"]
    assert ids["GD03"] == ids["GD01"]  # the phone stays with the account it was first seen with


def test_joining_two_known_customers_keeps_the_older_id_and_records_the_merge():
    phone_only = link_calls([_call("GD01", phone="13800001111")], {})
    account_only = link_calls([_call("GD02", day=3, customer_id=ACCOUNT, phone="13700002222")], {})
    stored = {**phone_only.links, **account_only.links}
    tonight = link_calls([_call("GD03", day=5, customer_id=ACCOUNT, phone="13800001111")], stored)
    older = customer_hash("13800001111")
    assert tonight.customer_of["GD03"] == older
    assert tonight.merged == {customer_hash(ACCOUNT): older}
    assert {link.customer_id for link in tonight.links.values()} == {older}


def test_links_are_stored_as_hashes_and_aliases_find_every_id(factory, engine):
    assert "identity_links" in inspect(engine).get_table_names()
    assert current_revision(engine) == head_revision()
    with factory() as session:
        resolve_night(session, [_call("GD01", phone="13800001111")])
        resolve_night(session, [_call("GD02", day=3, customer_id=ACCOUNT, phone="13700002222")])
        session.commit()
    with factory() as session:
        result = resolve_night(session, [_call("GD03", day=5, customer_id=ACCOUNT, phone="13800001111")])
        session.commit()
        winner = result.customer_of["GD03"]
        assert winner == customer_hash("13800001111")
        assert aliases(session, [winner])[winner] == {
            winner,
            customer_hash(ACCOUNT),
            customer_hash("13700002222"),
        }
        rows = session.scalars(select(IdentityLink)).all()
        assert len(rows) == 3 and {r.customer_id for r in rows} == {winner}
        assert not any(ACCOUNT in r.key_hash or "13800001111" in r.key_hash for r in rows)
    with factory() as session:  # a night seen again changes nothing
        again = resolve_night(session, [_call("GD03", day=5, customer_id=ACCOUNT, phone="13800001111")])
        session.commit()
        assert again.customer_of["GD03"] == winner
        assert session.scalar(select(func.count()).select_from(IdentityLink)) == 3


def test_on_simulated_nights_fewer_problems_are_split_across_customers(tmp_path):
    from models.risk.replay import records_from_labeled
    from pipeline.simulator import load_labeled, simulate

    simulate(tmp_path, days=4, seed=13, scale=0.3)
    df = load_labeled(tmp_path)
    records = records_from_labeled(df)
    ids = link_calls(records, {}).customer_of
    frame = pd.DataFrame(
        {
            "problem_id": df["problem_id"],
            "truth": df["customer_key"],
            "legacy": [r.customer_key for r in records],
            "linked": [ids[r.call_id] for r in records],
        }
    )
    multi = frame.groupby("problem_id").filter(lambda g: len(g) > 1)

    def split(column: str) -> float:
        return float((multi.groupby("problem_id")[column].nunique() > 1).mean())

    assert split("linked") < 0.5 * split("legacy"), (split("linked"), split("legacy"))
    overmerged = frame.groupby("linked")["truth"].nunique()
    assert (overmerged > 1).mean() < 0.01
