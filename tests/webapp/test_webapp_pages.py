"""Rendered pages: escaping and highlighting, queue filters, overdue marking, dashboard charts."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from webapp.highlight import highlight


def test_xss_payload_in_transcript_is_escaped(world, client_for, helpers) -> None:
    client = client_for("kunming")
    html = client.get(f"/slips/{world.slips['km_yellow']}").text
    assert '<script>alert("xss")</script>' not in html
    assert "<img src=x" not in html
    assert (
        "&lt;script&gt;alert(&#34;xss&#34;)&lt;/script&gt;" in html
        or "&lt;script&gt;alert(&quot;xss&quot;)" in html
    )
    assert "<mark>整栋</mark>" in html


def test_reason_words_are_marked_in_transcript(world, client_for) -> None:
    html = client_for("dali").get(f"/slips/{world.slips['dali_red']}").text
    marked = set(re.findall(r"<mark>([^<]+)</mark>", html))
    assert {"12398", "能源局", "老人", "第三次"} <= marked
    assert any("没人" in m for m in marked), "the missed-commitment phrase is marked"
    assert "13812345678" not in html and "138****5678" in html


def test_highlight_escapes_terms_and_text() -> None:
    out = str(highlight("客户说<b>要去12398</b>&投诉", ["12398", "<b>"]))
    assert out == "客户说<mark>&lt;b&gt;</mark>要去<mark>12398</mark>&lt;/b&gt;&amp;投诉"
    assert str(highlight("第三次来电", ["第三", "第三次"])) == "<mark>第三次</mark>来电"
    assert str(highlight("a&lt;b", ["lt"])) == "a&amp;<mark>lt</mark>;b"


def test_queue_filters_and_overdue_rows(world, client_for) -> None:
    client = client_for("prov")
    html = client.get("/slips").text
    rows = re.findall(r'<tr class="([^"]*)" data-slip="([^"]+)"', html)
    assert [no for _, no in rows][0] == world.slips["dali_red"]
    overdue = {no for cls, no in rows if "overdue" in cls}
    assert world.slips["dali_red"] in overdue and world.slips["km_yellow"] not in overdue
    only_voltage = client.get("/slips?category=voltage").text
    assert re.findall(r'data-slip="([^"]+)"', only_voltage) == [world.slips["km_yellow"]]
    bad = client.get("/slips?level=purple")
    assert bad.status_code == 400 and "预警等级" in bad.text


def test_queue_paging_links_keep_filters(world, client_for, helpers) -> None:
    specs = [
        helpers.CallSpec(
            f"GD20261127{800 + i:05d}",
            helpers.KUNMING,
            "盘龙区",
            f"08713009{i:05d}",
            "outage",
            "yellow",
            0.2,
            "客户：停电了。",
            [{"code": "repeat", "text": "重复来电", "weight": 0.2}],
            hours_ago=3,
        )
        for i in range(3)
    ]
    helpers.store_calls(world.factory, specs)
    world.app.state.config.__dict__["per_page"] = 2
    html = client_for("prov").get("/slips?unit=昆明供电局").text
    assert "第 1 / 3 页" in html
    assert "/slips?unit=%E6%98%86%E6%98%8E%E4%BE%9B%E7%94%B5%E5%B1%80&amp;status=open&amp;page=2" in html


def test_dashboard_renders_svg_charts(world, client_for, monkeypatch) -> None:
    from webapp import dashboard

    monkeypatch.setattr(dashboard, "section", lambda name: {"大理供电局": 500_000} if name == "units" else {})
    client = client_for("prov")
    page = client.get("/dashboard")
    assert page.status_code == 200
    for name in ("open", "overdue", "trend", "rates", "ontime"):
        assert f"/charts/{name}.svg" in page.text
        svg = client.get(f"/charts/{name}.svg")
        assert svg.headers["content-type"].startswith("image/svg+xml")
        root = ET.fromstring(svg.content)
        assert root.tag.endswith("svg")
    open_svg = client.get("/charts/open.svg").text
    assert "大理供电局" in open_svg and "昆明供电局" in open_svg
    assert client.get("/charts/nope.svg").status_code == 404


def test_dashboard_is_scoped_to_the_unit(world, client_for) -> None:
    client = client_for("dali")
    html = client.get("/dashboard").text
    assert "昆明供电局" not in html
    assert "昆明供电局" not in client.get("/charts/open.svg").text


def test_unit_customer_counts_come_from_config(world, client_for, monkeypatch) -> None:
    from webapp import dashboard

    monkeypatch.setattr(dashboard, "section", lambda name: {"大理供电局": 500_000} if name == "units" else {})
    with world.factory() as session:
        from pipeline.storage.models import User

        user = session.query(User).filter_by(username="prov").one()
        result = dashboard.rates_by_unit(session, user)
    rates = {r.unit: r for r in result.rows}
    assert rates["大理供电局"].customers == 500_000
    assert rates["大理供电局"].calls_per_million == rates["大理供电局"].calls * 2
    assert "昆明供电局" not in rates and result.unconfigured == ["昆明供电局"], "no guessed rate"
    html = client_for("prov").get("/dashboard").text
    assert "不计算比率" in html and "昆明供电局" in html[html.index('id="rates-missing"') :]


def test_slip_from_real_scoring_marks_the_words_behind_its_reasons(world, client_for) -> None:
    """A call scored by pipeline.scoring (keyword baseline) stores reasons without words; the page finds them."""
    from datetime import UTC, datetime, timedelta

    from pipeline.records import CallRecord
    from pipeline.risk.baseline import KeywordBaseline
    from pipeline.scoring import ClassifiedCall, assess_and_store

    when = datetime.now(UTC) - timedelta(hours=3)
    record = CallRecord(
        call_id="GD2026112800555",
        call_time=when,
        phone="13987654321",
        unit="大理供电局",
        area="挖色镇大成村",
        customer_id="0531200077777",
        transcript="坐席：您好，95598，工单已登记。\n"
        "客户：全村都停电了，说好今天上午来修，到现在都没人来。\n"
        "客户：屋头老人离不得电，再不来我就打12398找能源局。",
    )
    classified = ClassifiedCall(record, "outage", 0.93, {"outage": 0.93}, False, "complaint-classifier/test")
    [scored] = assess_and_store(world.factory, [classified], KeywordBaseline(), when.date())
    assert scored.slip_no and scored.risk_level != "none"
    with world.factory() as session:
        from pipeline.slips import get_slip

        reasons = get_slip(session, scored.slip_no).reasons
    assert all("terms" not in r for r in reasons)
    html = client_for("dali").get(f"/slips/{scored.slip_no}").text
    marked = set(re.findall(r"<mark>([^<]+)</mark>", html))
    assert "12398" in marked and "能源局" in marked
    assert "全村" in marked and "老人" in marked
    assert "工单" not in marked, "agent turns are not marked"
