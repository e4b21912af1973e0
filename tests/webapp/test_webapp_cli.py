"""``complaints users ...`` and ``complaints serve`` error handling."""

from __future__ import annotations

import typer
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from cli import web

runner = CliRunner()


def _app() -> typer.Typer:
    app = typer.Typer()
    web.register(app)
    return app


def test_user_lifecycle_through_cli(world) -> None:
    app = _app()
    db = ["--db", world.db_url]
    added = runner.invoke(
        app, ["users", "add", "erhai", "--role", "unit", "--unit", "大理供电局", *db], input="Erhai-2026-pw\n"
    )
    assert added.exit_code == 0, added.output
    assert "已创建用户 erhai" in added.output

    token_run = runner.invoke(app, ["users", "token", "erhai", *db])
    assert token_run.exit_code == 0
    token = token_run.output.strip().splitlines()[-1]
    with TestClient(world.app) as client:
        listing = client.get("/api/slips", headers={"Authorization": f"Bearer {token}"})
        assert listing.status_code == 200
        assert {i["unit"] for i in listing.json()["items"]} == {"大理供电局"}

        assert runner.invoke(app, ["users", "disable", "erhai", *db]).exit_code == 0
        assert client.get("/api/slips", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_cli_errors_are_one_line(world) -> None:
    app = _app()
    db = ["--db", world.db_url]
    cases = [
        (["users", "add", "x1", "--role", "boss", *db], "Long-enough-1\n", "角色"),
        (["users", "add", "x2", "--role", "unit", *db], "Long-enough-1\n", "--unit"),
        (["users", "add", "x3", "--role", "auditor", *db], "short\n", "至少"),
        (["users", "add", "prov", "--role", "province", *db], "Long-enough-1\n", "已存在"),
        (["users", "token", "ghost", *db], None, "不存在"),
        (["users", "disable", "ghost", *db], None, "不存在"),
    ]
    for args, stdin, expected in cases:
        result = runner.invoke(app, args, input=stdin)
        assert result.exit_code == 2, (args, result.output)
        assert expected in result.output and "Traceback" not in result.output
        assert len(result.output.strip().splitlines()) == 1


def test_serve_with_unusable_database_fails_cleanly(tmp_path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    result = runner.invoke(_app(), ["serve", "--db", f"sqlite:///{blocker}/sub/x.db"])
    assert result.exit_code == 2 and "错误" in result.output and "Traceback" not in result.output


def test_serve_refuses_a_busy_port(world) -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = runner.invoke(_app(), ["serve", "--db", world.db_url, "--port", str(port)])
    assert result.exit_code == 2 and str(port) in result.output
