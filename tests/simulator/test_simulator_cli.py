"""``complaints simulate`` writes nights and fails with one clear line on bad input."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from cli.main import app

runner = CliRunner()


def test_cli_writes_nights_and_prints_the_mix(tmp_path: Path) -> None:
    out = tmp_path / "nights"
    result = runner.invoke(
        app, ["simulate", "--out", str(out), "--days", "2", "--seed", "4", "--scale", "0.1"]
    )
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["2026-06-01", "2026-06-02"]
    assert (out / "2026-06-02" / "labels.csv").is_file()
    assert "停电故障" in result.output and "12398" in result.output


def test_cli_holdout_and_start(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        [
            "simulate",
            "--out",
            str(tmp_path),
            "--days",
            "1",
            "--seed",
            "4",
            "--scale",
            "0.1",
            "--start",
            "2026-12-31",
            "--holdout",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "holdout" in (tmp_path / "2026-12-31" / "labels.csv").read_text(encoding="utf-8")


def _fails(args: list[str], words: str) -> None:
    result = runner.invoke(app, ["simulate", *args])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert words in result.output, result.output


def test_cli_rejects_an_out_path_that_is_a_file(tmp_path: Path) -> None:
    target = tmp_path / "file.txt"
    target.write_text("x")
    _fails(["--out", str(target), "--days", "1"], "不是目录")


def test_cli_rejects_bad_arguments(tmp_path: Path) -> None:
    _fails(["--out", str(tmp_path), "--days", "0"], "天数")
    _fails(["--out", str(tmp_path), "--scale", "-1"], "规模系数")
    _fails(["--out", str(tmp_path), "--start", "2026-02-30"], "YYYY-MM-DD")
    _fails(["--out", str(tmp_path), "--days", "abc"], "--days")
