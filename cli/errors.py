"""One way for every command to fail: a one-line message on stderr and exit code 2, never a traceback."""

from __future__ import annotations

import typer


class UserError(Exception):
    """An error the user can fix (bad path, bad input, missing model); its message is shown as is."""


def fail(message: str, code: int = 2) -> None:
    """Print ``错误: message`` to stderr and exit."""
    typer.secho(f"错误: {message}", err=True, fg=typer.colors.RED)
    raise typer.Exit(code)
