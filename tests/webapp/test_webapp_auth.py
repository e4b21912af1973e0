"""Sign-in, sessions, CSRF, lockout and throttling."""

from __future__ import annotations

from fastapi.testclient import TestClient

from pipeline.slips import get_slip
from webapp.users import disable_user


def test_pages_need_login(world) -> None:
    with TestClient(world.app) as client:
        response = client.get(f"/slips/{world.slips['dali_red']}", follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/login?next=/slips/")


def test_login_sets_httponly_samesite_cookie_and_shows_queue(world, helpers) -> None:
    with TestClient(world.app) as client:
        response = helpers.login(client, "prov")
        assert response.status_code == 303 and response.headers["location"] == "/slips"
        cookie = response.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=lax" in cookie
        page = client.get("/slips")
        assert page.status_code == 200 and world.slips["km_yellow"] in page.text
        assert "script-src 'self'" in page.headers["content-security-policy"]


def test_wrong_password_is_refused(world, helpers) -> None:
    with TestClient(world.app) as client:
        response = helpers.login(client, "prov", "wrong-password")
        assert response.status_code == 401 and "用户名或密码错误" in response.text
        assert client.get("/slips", follow_redirects=False).status_code == 303


def test_login_without_csrf_token_is_rejected(world, helpers) -> None:
    with TestClient(world.app) as client:
        client.get("/login")
        response = client.post("/login", data={"username": "prov", "password": helpers.PASSWORD})
        assert response.status_code == 403
        assert client.get("/slips", follow_redirects=False).status_code == 303


def test_action_form_with_missing_or_foreign_csrf_token_changes_nothing(world, helpers, client_for) -> None:
    slip_no = world.slips["dali_red"]
    dali = client_for("dali")
    other = TestClient(world.app)
    foreign_token = helpers.csrf_of(other.get("/login").text)
    for token in (None, "forged", foreign_token):
        data = {"action": "acknowledge", "note": "x"} | ({"csrf_token": token} if token else {})
        response = dali.post(f"/slips/{slip_no}/actions", data=data, follow_redirects=False)
        assert response.status_code == 403
    assert world.slip("dali_red").status == "issued"
    good = helpers.csrf_of(dali.get(f"/slips/{slip_no}").text)
    response = dali.post(
        f"/slips/{slip_no}/actions",
        data={"action": "acknowledge", "csrf_token": good},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert world.slip("dali_red").status == "acknowledged"
    other.close()


def test_lockout_after_repeated_failures(world, helpers) -> None:
    with TestClient(world.app) as client:
        for _ in range(3):
            assert helpers.login(client, "dali", "bad-guess-123").status_code == 401
        locked = helpers.login(client, "dali")
        assert locked.status_code == 401 and "多次" in locked.text, "even the right password waits"
        assert helpers.login(client, "kunming").status_code == 303, "other users are not locked"
    with TestClient(world.app, client=("10.9.9.9", 1234)) as elsewhere:
        assert helpers.login(elsewhere, "dali").status_code == 303, "the lock holds for that address only"


def test_per_ip_throttle_blocks_guessing_across_users(tmp_path, helpers) -> None:
    world = helpers.build_world(tmp_path, ip_max_attempts=4, login_max_failures=100)
    with TestClient(world.app) as client:
        for name in ("nobody1", "nobody2", "prov", "dali"):
            assert helpers.login(client, name, "guess-guess").status_code == 401
        response = helpers.login(client, "audit")
        assert response.status_code == 429
    world.app.state.engine.dispose()


def test_disabled_user_loses_session_at_once(world, client_for) -> None:
    client = client_for("dali")
    assert client.get("/slips").status_code == 200
    with world.factory() as session:
        disable_user(session, "dali")
        session.commit()
    response = client.get("/slips", follow_redirects=False)
    assert response.status_code == 303 and "/login" in response.headers["location"]


def test_logout_needs_csrf_and_ends_session(world, helpers, client_for) -> None:
    client = client_for("prov")
    assert client.post("/logout", data={}, follow_redirects=False).status_code == 403
    token = helpers.csrf_of(client.get("/slips").text)
    assert client.post("/logout", data={"csrf_token": token}, follow_redirects=False).status_code == 303
    assert client.get("/slips", follow_redirects=False).status_code == 303


def test_login_redirect_stays_on_site(world, helpers) -> None:
    with TestClient(world.app) as client:
        page = client.get("/login?next=//evil.example/x")
        response = client.post(
            "/login",
            data={
                "username": "prov",
                "password": helpers.PASSWORD,
                "csrf_token": helpers.csrf_of(page.text),
                "next": "//evil.example/x",
            },
            follow_redirects=False,
        )
        assert response.headers["location"] == "/slips"


def test_audit_trail_names_the_signed_in_user(world, helpers, client_for) -> None:
    client = client_for("kunming")
    slip_no = world.slips["km_yellow"]
    token = helpers.csrf_of(client.get(f"/slips/{slip_no}").text)
    client.post(
        f"/slips/{slip_no}/actions", data={"action": "acknowledge", "note": "收到", "csrf_token": token}
    )
    with world.factory() as session:
        events = get_slip(session, slip_no).events
        assert events[-1].by == "kunming" and events[-1].action == "acknowledge" and events[-1].note == "收到"
