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
            for action, note, result in (
                ("acknowledge", None, None),
                ("handle", "已到现场处理", None),
                ("callback", None, "满意"),
                ("close", "销号", None),
            ):
                apply_action(session, slip.slip_no, action, "setup", note, result, now=when)
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


def test_unit_user_works_a_slip_to_closure(live, page) -> None:
    base, world = live
    page.goto(f"{base}/slips")
    page.wait_for_url("**/login?next=/slips")
    shot(page, "01-login")
    sign_in(page, base, "dali")
    open_dali = _count(world, unit="大理供电局")
    assert page.locator("#total").inner_text() == str(open_dali)
    units = page.locator("table.queue tbody tr[data-slip] td:nth-child(3)").all_inner_texts()
    assert units and set(units) == {"大理供电局"}, "a Dali user sees only Dali slips"
    levels = page.locator("table.queue tbody tr[data-slip] .badge").all_inner_texts()
    order = ["红色", "橙色", "黄色"]
    assert [order.index(x) for x in levels] == sorted(order.index(x) for x in levels), "red sorts first"
    shot(page, "02-queue")

    page.select_option("select[name=level]", "red")
    page.wait_for_url("**level=red**")
    red_rows = page.locator("table.queue tbody tr[data-slip]")
    assert red_rows.count() == _count(world, unit="大理供电局", level="red")
    assert world.slips["dali_red"] in [r.get_attribute("data-slip") for r in red_rows.all()]
    shot(page, "03-queue-filtered")

    page.click(f"text={world.slips['dali_red']}")
    page.wait_for_url(f"**/slips/{world.slips['dali_red']}")
    marks = page.locator(".transcript mark").all_inner_texts()
    assert "12398" in marks and "老人" in marks
    assert "138****5678" in page.content() and "13812345678" not in page.content()
    shot(page, "04-detail")

    def act(action: str, note: str = "", result: str | None = None) -> None:
        form = page.locator(f"form.action-form[data-action={action}]")
        if result:
            form.locator(f"input[name=callback_result][value={result}]").check()
        if note:
            form.locator("textarea[name=note]").fill(note)
        form.locator("button[type=submit]").click()
        page.wait_for_selector(".flash")

    act("acknowledge", "已签收，安排河尾村抢修班组")
    assert page.locator("#slip-status").inner_text() == "已签收"
    act("handle", "更换河尾村1号台区跌落式熔断器，17:20恢复送电")
    assert page.locator("#slip-status").inner_text() == "处理中"
    act("callback", "客户表示来电正常", result="满意")
    assert page.locator("#slip-status").inner_text() == "已回访"
    shot(page, "05-before-close")
    act("close", "问题已解决，客户满意，销号")
    assert page.locator("#slip-status").inner_text() == "已销号"
    assert page.locator("form.action-form").count() == 0
    audit = page.locator("#audit").inner_text()
    assert "销号" in audit and "dali" in audit
    shot(page, "06-closed")

    with world.factory() as session:
        from pipeline.slips import get_slip

        slip = get_slip(session, world.slips["dali_red"])
        assert slip.status == "closed" and slip.callback_result == "满意"


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


def test_unsatisfied_callback_keeps_slip_open_and_raises_level(live, page) -> None:
    base, world = live
    sign_in(page, base, "kunming")
    page.goto(f"{base}/slips/{world.slips['km_orange']}")
    for action, note in (("acknowledge", ""), ("handle", "已联系客户，安排下周装表")):
        form = page.locator(f"form.action-form[data-action={action}]")
        if note:
            form.locator("textarea[name=note]").fill(note)
        form.locator("button[type=submit]").click()
        page.wait_for_selector(".flash")
    form = page.locator("form.action-form[data-action=callback]")
    form.locator("input[value=不满意]").check()
    form.locator("textarea[name=note]").fill("客户认为进度太慢")
    form.locator("button[type=submit]").click()
    page.wait_for_selector(".flash")
    assert page.locator("#slip-status").inner_text() == "处理中"
    assert page.locator("#slip-level").inner_text() == "红色预警"


def test_province_dashboard_shows_charts(live, page) -> None:
    base, _ = live
    sign_in(page, base, "prov")
    page.goto(f"{base}/dashboard")
    charts = page.locator("img.chart")
    assert charts.count() == 5
    page.wait_for_load_state("networkidle")
    widths = charts.evaluate_all("imgs => imgs.map(i => i.naturalWidth)")
    assert all(w > 0 for w in widths), "every chart image loaded"
    shot(page, "07-dashboard")
