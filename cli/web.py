"""``complaints serve`` and ``complaints users ...``: run the service-center web app and manage its users."""

from __future__ import annotations

import socket
import sys

import typer

from cli.errors import fail

users_app = typer.Typer(help="管理服务中心网页用户（省公司 / 供电单位 / 审计）。", no_args_is_help=True)

DB_OPTION = typer.Option(None, "--db", help="数据库 URL（默认取配置 / COMPLAINTS_DB_URL）")


def _open_error(exc: Exception) -> str:
    """One line for a database that cannot be opened (upgrade's own message, or the OS error)."""
    if isinstance(exc, OSError):
        return f"无法打开数据库: {exc.strerror or exc} ({exc.filename or ''})"
    return str(exc)


def _factory(db: str | None):
    from pipeline.storage.db import DatabaseError, session_factory, upgrade

    try:
        return session_factory(upgrade(db))
    except (DatabaseError, OSError) as exc:
        fail(_open_error(exc))


def _port_free(host: str, port: int) -> str | None:
    """None when the address can be bound, else the OS's reason (checked before the app starts)."""
    try:
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, port))
    except OSError as exc:
        return exc.strerror or str(exc)
    return None


def _read_password() -> str:
    """From a hidden prompt (typed twice) on a terminal, else the first line of stdin."""
    if sys.stdin is not None and not sys.stdin.isatty():
        line = sys.stdin.readline()
        return line.rstrip("\r\n")
    return typer.prompt("密码", hide_input=True, confirmation_prompt=True)


@users_app.command("add")
def users_add(
    username: str = typer.Argument(..., help="登录用户名"),
    role: str = typer.Option(
        ..., "--role", help="province（省公司，可看全部并督办）/ unit（供电单位）/ auditor（只读）"
    ),
    unit: str | None = typer.Option(None, "--unit", help="供电单位名称（unit 角色必填，如 大理供电局）"),
    new_unit: bool = typer.Option(False, "--new-unit", help="该单位尚无来电和用户、也未写入配置时确认新建"),
    db: str | None = DB_OPTION,
) -> None:
    """新增用户；密码从提示输入，或从标准输入读取一行。"""
    from webapp.users import UserAdminError, add_user, find_user

    factory = _factory(db)
    with factory() as session:
        if find_user(session, username.strip()) is not None:
            fail(f"用户 {username.strip()} 已存在")
    password = _read_password()
    with factory() as session:
        try:
            user = add_user(session, username, password, role, unit, new_unit=new_unit)
            session.commit()
        except UserAdminError as exc:
            fail(str(exc))
        typer.echo(f"已创建用户 {user.username}（{role}{'，' + user.unit if user.unit else ''}）")


@users_app.command("disable")
def users_disable(username: str = typer.Argument(...), db: str | None = DB_OPTION) -> None:
    """停用用户：不能再登录，已登录的会话和 API 令牌立即失效。"""
    from webapp.users import UserAdminError, disable_user

    factory = _factory(db)
    with factory() as session:
        try:
            disable_user(session, username)
            session.commit()
        except UserAdminError as exc:
            fail(str(exc))
    typer.echo(f"已停用用户 {username}")


@users_app.command("token")
def users_token(username: str = typer.Argument(...), db: str | None = DB_OPTION) -> None:
    """生成新的 API 令牌并打印（只显示这一次，旧令牌作废）。"""
    from webapp.users import UserAdminError, issue_token

    factory = _factory(db)
    with factory() as session:
        try:
            token = issue_token(session, username)
            session.commit()
        except UserAdminError as exc:
            fail(str(exc))
    typer.echo(token)


def register(app: typer.Typer) -> None:
    """Add ``serve`` and the ``users`` group to the main app."""

    @app.command("serve")
    def serve(
        db: str | None = DB_OPTION,
        host: str = typer.Option("127.0.0.1", "--host", help="监听地址"),
        port: int = typer.Option(8000, "--port", help="监听端口"),
    ) -> None:
        """启动服务中心网页（预警单队列、详情、看板、导出与 /api）。"""
        import uvicorn

        from pipeline.storage.db import DatabaseError
        from webapp.app import create_app

        problem = _port_free(host, port)
        if problem:
            fail(f"无法在 {host}:{port} 启动: {problem}")
        try:
            application = create_app(db)
        except (DatabaseError, OSError) as exc:
            fail(_open_error(exc))
        typer.echo(f"服务中心网页: http://{host}:{port}/   API 文档: http://{host}:{port}/docs")
        # X-Forwarded-For is trusted only from [webapp] trusted_proxies, inside the app (webapp.security).
        uvicorn.run(application, host=host, port=port, log_level="info", proxy_headers=False)

    app.add_typer(users_app, name="users")
