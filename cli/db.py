"""``complaints db upgrade|status``: schema migrations as one explicit step (first run, deploy, upgrades).

Ordinary commands and the nightly flow only check that the database is at the
newest revision; they never migrate it, so an upgrade happens once, when an
operator (or ``scripts/run-demo.sh``, or ``complaints deploy``) asks for it.
"""

from __future__ import annotations

import typer

from cli.errors import fail

db_app = typer.Typer(help="产品数据库：结构升级与版本查看。", no_args_is_help=True)


@db_app.command("upgrade")
def db_upgrade(
    db: str | None = typer.Option(None, "--db", help="数据库 URL；默认配置中的 SQLite 文件"),
) -> None:
    """把数据库结构升级到最新版本（首次运行、部署和版本更新后各运行一次；可重复运行）。"""
    from pipeline.storage import DatabaseError, upgrade
    from pipeline.storage.db import current_revision, safe_url

    try:
        engine = upgrade(db)
    except DatabaseError as exc:
        fail(str(exc))
    try:
        typer.echo(f"数据库 {safe_url(engine.url)} 已是最新版本 {current_revision(engine)}")
    finally:
        engine.dispose()


@db_app.command("status")
def db_status(db: str | None = typer.Option(None, "--db", help="数据库 URL")) -> None:
    """显示数据库当前版本与代码要求的版本。"""
    from pipeline.storage import make_engine
    from pipeline.storage.db import current_revision, head_revision, safe_url

    engine = make_engine(db)
    try:
        current = current_revision(engine)
    except Exception as exc:
        fail(f"无法打开数据库 {safe_url(engine.url)}: {str(exc).splitlines()[0] if str(exc) else exc!r}")
    finally:
        engine.dispose()
    head = head_revision()
    state = "最新" if current == head else "需要运行 complaints db upgrade"
    typer.echo(f"数据库 {safe_url(engine.url)}: 当前 {current or '空'}，最新 {head}（{state}）")


def register(app: typer.Typer) -> None:
    """Add this area's commands to the main app."""
    app.add_typer(db_app, name="db")
