"""The ``complaints`` command: one Typer app, each area registers its own commands."""

from __future__ import annotations

import typer

from cli import classify, db, flows, outcomes, score, simulate, slips, validate, web

app = typer.Typer(
    name="complaints",
    help="95598 来电分类、12398 投诉风险预警与预警单闭环管理。",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)

for module in (simulate, validate, classify, score, slips, outcomes, flows, web, db):
    module.register(app)


if __name__ == "__main__":
    app()
