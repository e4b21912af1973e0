"""End-to-end tests in a real headless Chromium: log in, filter, open a slip, work it to closure.

The app runs in a uvicorn server thread on 127.0.0.1 (free port) against a
temp SQLite DB. Screenshots land in ``test-results/`` for a person to look at.
Debian's chromium is required (CI installs it); without it these tests skip.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

CHROMIUM = Path("/usr/bin/chromium")
RESULTS = Path(__file__).resolve().parents[2] / "test-results"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="需要 Debian chromium（/usr/bin/chromium）：apt-get install -y chromium"
    ),
]


def _close_some(world, helpers) -> None:
    """Work a few generated slips to closure (some late) so the dashboard has closure figures."""
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import select

    from pipeline.slips import apply_action
    from pipeline.storage.models import Slip

    with world.factory() as session:
        slips = session.scalars(
            select(Slip).where(Slip.slip_no.not_in(world.slips.values())).order_by(Slip.id)
        ).all()
        for i, slip in enumerate(slips[:24]):
            late = i % 4 == 0
            when = slip.due_at + timedelta(hours=5) if late else slip.created_at + timedelta(hours=3)
            when = min(when, datetime.now(UTC))
            for action, by, note, result in (
                ("acknowledge", "setup", None, None),
                ("handle", "setup", "已到现场处理", None),
                ("callback", "center", None, "满意"),
                ("close", "setup", "销号", None),
            ):
                apply_action(session, slip.slip_no, action, by, note, result, now=when)
        session.commit()


def _count(world, **where: str) -> int:
    from sqlalchemy import func, select

    from pipeline.storage.models import Slip

    with world.factory() as session:
        query = select(func.count()).select_from(Slip).where(Slip.status != "closed")
        for column, value in where.items():
            query = query.where(getattr(Slip, column) == value)
        return session.scalar(query)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, helpers) -> Iterator[tuple[str, object]]:
    """The app served by uvicorn in a thread; yields its base URL and the world behind it."""
    world = helpers.build_world(tmp_path_factory.mktemp("browser"))
    helpers.store_calls(world.factory, helpers.generated_specs(80))
    _close_some(world, helpers)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(world.app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("uvicorn did not start")
        time.sleep(0.05)
    customers = {
        "大理供电局": 1_250_000,
        "昆明供电局": 2_900_000,
        "遵义供电局": 1_600_000,
        "桂林供电局": 1_100_000,
    }
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("webapp.dashboard.section", lambda name: customers if name == "units" else {})
        yield f"http://127.0.0.1:{port}", world
    server.should_exit = True
    thread.join(timeout=10)
    world.app.state.engine.dispose()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 900}, locale="zh-CN")
    pg = context.new_page()
    pg.set_default_timeout(15_000)
    yield pg
    context.close()


def shot(pg, name: str) -> None:
    RESULTS.mkdir(exist_ok=True)
    pg.screenshot(path=str(RESULTS / f"webapp-{name}.png"), full_page=True)


def sign_in(pg, base: str, username: str, password: str = "Grid-95598-ok") -> None:
    pg.goto(f"{base}/slips")
    assert "/login" in pg.url
    pg.fill("input[name=username]", username)
    pg.fill("input[name=password]", password)
    pg.click("button[type=submit]")
    pg.wait_for_url(f"{base}/slips")


def act(page, action: str, note: str = "", result: str | None = None, assignee: str | None = None) -> None:
    """Fill and submit one action form on the slip page, wait for the confirmation."""
    form = page.locator(f"form.action-form[data-action={action}]")
    if result:
        form.locator(f"input[name=callback_result][value={result}]").check()
    if assignee:
        form.locator("select[name=assignee]").select_option(assignee)
    if note:
        form.locator("textarea[name=note]").fill(note)
    form.locator("button[type=submit]").click()
    page.wait_for_selector(".flash")


def test_unit_user_assigns_searches_and_closes_after_an_unsatisfied_callback(live, browser, page) -> None:
    base, world = live
    slip_no = world.slips["dali_red"]
    page.goto(f"{base}/slips")
    page.wait_for_url("**/login?next=/slips")
    shot(page, "01-login")
    sign_in(page, base, "dali")
    open_dali = _count(world, unit="大理供电局")
    assert page.locator("#total").inner_text() == str(open_dali)
    units = page.locator("table.queue tbody tr[data-slip] td:nth-child(4)").all_inner_texts()
    assert units and set(units) == {"大理供电局"}, "a Dali user sees only Dali slips"
    levels = page.locator("table.queue tbody tr[data-slip] .badge").all_inner_texts()
    order = ["红色", "橙色", "黄色"]
    assert [order.index(x) for x in levels] == sorted(order.index(x) for x in levels), "red sorts first"
    assert page.locator("table.queue .countdown").first.inner_text().startswith(("剩余", "已超期"))
    shot(page, "02-queue")

    # The customer rings and gives the last four digits of the phone: search finds the slip.
    page.fill("#search", "5678")
    page.click("#filters button[type=submit]")
    page.wait_for_url("**q=5678**")
    found = [r.get_attribute("data-slip") for r in page.locator("table.queue tbody tr[data-slip]").all()]
    assert found and found[0] == slip_no
    shot(page, "03-search-phone-tail")

    page.click(f"text={slip_no}")
    page.wait_for_url(f"**/slips/{slip_no}")
    marks = page.locator(".transcript mark").all_inner_texts()
    assert "12398" in marks and "老人" in marks
    assert "138****5678" in page.content() and "13812345678" not in page.content()
    shot(page, "04-detail")

    act(page, "acknowledge", "已签收，安排河尾村抢修班组")
    assert page.locator("#slip-status").inner_text() == "已签收"
    assert page.locator("#assignee").inner_text() == "dali"
    act(page, "assign", "交二班跟进", assignee="dali2")
    assert page.locator("#assignee").inner_text() == "dali2"
    act(page, "handle", "更换河尾村1号台区跌落式熔断器，17:20恢复送电")
    assert page.locator("#slip-status").inner_text() == "处理中"
    assert page.locator("form.action-form[data-action=callback]").count() == 0, (
        "the unit does not record callbacks"
    )

    center = browser.new_context(viewport={"width": 1400, "height": 900}, locale="zh-CN").new_page()
    sign_in(center, base, "prov")
    center.goto(f"{base}/slips/{slip_no}")
    act(center, "callback", "客户称晚上又跳闸", result="不满意")
    assert center.locator("#slip-status").inner_text() == "处理中"
    assert center.locator("form.action-form[data-action=callback]").count() == 0, "no second callback yet"
    shot(center, "05-unsatisfied")

    page.goto(f"{base}/slips/{slip_no}")
    act(page, "handle", "更换台区进线开关，连续观察24小时无跳闸")
    notes = page.locator("#handling li").all_inner_texts()
    assert len(notes) == 2 and "熔断器" in notes[0] and "进线开关" in notes[1], "notes are appended"

    center.goto(f"{base}/slips/{slip_no}")
    act(center, "callback", "客户表示来电正常", result="满意")
    assert center.locator(".flash").inner_text() == "回访结果已记录"
    assert center.locator("#slip-status").inner_text() == "已回访"
    center.context.close()

    page.goto(f"{base}/slips/{slip_no}")
    shot(page, "06-before-close")
    act(page, "close", "问题已解决，客户满意，销号")
    assert page.locator("#slip-status").inner_text() == "已销号"
    forms = page.locator("form.action-form")
    assert [forms.nth(i).get_attribute("data-action") for i in range(forms.count())] == ["false_alarm"], (
        "a closed slip can only still be marked a false alarm"
    )
    audit = page.locator("#audit").inner_text()
    assert "销号" in audit and "dali" in audit and "prov" in audit and "转派" in audit
    shot(page, "07-closed")

    with world.factory() as session:
        from pipeline.slips import get_slip

        slip = get_slip(session, slip_no)
        assert slip.status == "closed" and slip.callback_result == "满意" and slip.assignee == "dali2"


def test_unit_user_bulk_acknowledges_from_the_queue(live, page) -> None:
    base, world = live
    sign_in(page, base, "dali")
    page.goto(f"{base}/slips?status=issued&level=yellow")
    rows = page.locator("table.queue tbody tr[data-slip]")
    count = rows.count()
    assert count >= 2
    chosen = [r.get_attribute("data-slip") for r in rows.all()]
    page.check("#select-all")
    shot(page, "08-bulk-selected")
    page.click("#bulk-ack")
    page.wait_for_selector(".flash")
    assert page.locator(".flash").inner_text() == f"已签收 {count} 张预警单"
    assert page.locator("table.queue tbody tr[data-slip]").count() == 0
    with world.factory() as session:
        from sqlalchemy import select

        from pipeline.storage.models import Slip

        slips = session.scalars(select(Slip).where(Slip.slip_no.in_(chosen))).all()
        assert {s.status for s in slips} == {"acknowledged"} and {s.assignee for s in slips} == {"dali"}
    page.click("#nav-mine")
    page.wait_for_url("**mine=1**")
    mine = {r.get_attribute("data-slip") for r in page.locator("table.queue tbody tr[data-slip]").all()}
    assert set(chosen) <= mine
    shot(page, "09-my-todo")


def test_xss_in_transcript_does_not_run(live, page) -> None:
    base, world = live
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    sign_in(page, base, "kunming")
    page.goto(f"{base}/slips/{world.slips['km_yellow']}")
    assert '<script>alert("xss")</script>' in page.locator(".transcript").inner_text()
    assert page.locator(".transcript script, .transcript img").count() == 0
    page.wait_for_timeout(300)
    assert dialogs == []


def test_province_dashboard_shows_charts(live, page) -> None:
    base, _ = live
    sign_in(page, base, "prov")
    page.goto(f"{base}/dashboard")
    charts = page.locator("img.chart")
    assert charts.count() == 5
    page.wait_for_load_state("networkidle")
    widths = charts.evaluate_all("imgs => imgs.map(i => i.naturalWidth)")
    assert all(w > 0 for w in widths), "every chart image loaded"
    shot(page, "10-dashboard")


def test_unit_user_corrects_a_category_and_marks_a_false_alarm(live, page) -> None:
    base, world = live
    slip_no = world.slips["km_orange"]
    call_id = "GD2026112700088"
    sign_in(page, base, "kunming")
    page.goto(f"{base}/slips/{slip_no}")
    form = page.locator(f"form.label-form[data-call={call_id}]")
    form.locator("select[name=category]").select_option("other")
    form.locator("button[type=submit]").click()
    page.wait_for_selector(".flash")
    assert "问题类别已更正为其他" in page.locator(".flash").inner_text()
    assert page.locator(f".tag.corrected[data-call={call_id}]").inner_text() == "人工更正：其他"
    assert page.locator(f"form.label-form[data-call={call_id}] select").input_value() == "other"
    act(page, "false_alarm", "客户已自行恢复用电，不是投诉风险")
    assert page.locator("#false-alarm").inner_text() == "误报"
    assert page.locator("#false-alarm-reason").inner_text() == "客户已自行恢复用电，不是投诉风险"
    assert page.locator("form.action-form[data-action=false_alarm]").count() == 0
    audit = page.locator("#audit").inner_text()
    assert "更正问题类别" in audit and "标记误报" in audit
    shot(page, "11-correction-false-alarm")
    from sqlalchemy import select

    from pipeline.storage.outcomes import Label

    with world.factory() as session:
        labels = session.scalars(select(Label).where(Label.call_id == call_id).order_by(Label.id)).all()
        assert [(lb.kind, lb.value, lb.author) for lb in labels] == [
            ("category", "other", "kunming"),
            ("false_alarm", "1", "kunming"),
        ]
