"""Unreadable input fails with one clear line; the CLI turns it into exit code 2."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from cli.main import app
from pipeline.ingest import IngestError, read_export

from .conftest import make_row, write_csv

runner = CliRunner()


def _single_line(message: str) -> bool:
    return bool(message) and "\n" not in message and "Traceback" not in message


def test_missing_file(tmp_path):
    with pytest.raises(IngestError, match="文件不存在") as err:
        read_export(tmp_path / "nope.csv")
    assert _single_line(str(err.value))


@pytest.mark.parametrize("content", [b"", b"call_id,call_time,phone,unit,transcript\n"])
def test_empty_file(tmp_path, content):
    path = tmp_path / "calls.csv"
    path.write_bytes(content)
    with pytest.raises(IngestError) as err:
        read_export(path)
    assert "空" in str(err.value) or "没有数据行" in str(err.value)
    assert _single_line(str(err.value))


def test_undecodable_file(tmp_path):
    path = tmp_path / "calls.csv"
    path.write_bytes(b"call_id,transcript\n" + bytes([0x81, 0x30, 0xFF, 0xFF, 0x80]) * 20)
    with pytest.raises(IngestError, match="编码"):
        read_export(path)


def test_corrupt_parquet(tmp_path):
    path = tmp_path / "calls.parquet"
    path.write_bytes(b"PAR1 this is not parquet")
    with pytest.raises(IngestError, match="Parquet"):
        read_export(path)


def test_missing_required_column(tmp_path):
    rows = [{k: v for k, v in make_row().items() if k != "transcript"}]
    with pytest.raises(IngestError, match="transcript"):
        read_export(write_csv(tmp_path / "c.csv", rows))


def test_folder_without_exports(tmp_path):
    (tmp_path / "readme.txt").write_text("nothing here", encoding="utf-8")
    with pytest.raises(IngestError, match="没有可读取的导出文件"):
        read_export(tmp_path)


def test_cli_reports_counts_and_writes_quarantine(tmp_path):
    rows = [make_row("A"), make_row("A"), make_row("B", channel="fax"), make_row("C", call_time="坏时间")]
    path = write_csv(tmp_path / "calls.csv", rows)
    out = tmp_path / "q.jsonl"
    result = runner.invoke(app, ["validate", str(path), "--quarantine", str(out)])
    assert result.exit_code == 0, result.output
    assert "读取行数: 4" in result.output
    assert "接受: 2" in result.output
    assert "隔离: 1" in result.output
    assert "重复工单编号: 1" in result.output
    assert "未知渠道（照常评分，计数）: fax 1" in result.output
    codes = sorted(json.loads(line)["reason_code"] for line in out.read_text(encoding="utf-8").splitlines())
    assert codes == ["bad_call_time", "duplicate_call_id"]


def test_cli_known_ids_from_previous_night(tmp_path):
    previous = write_csv(tmp_path / "n1.csv", [make_row("A")])
    tonight = write_csv(tmp_path / "n2.csv", [make_row("A"), make_row("B")])
    result = runner.invoke(
        app, ["validate", str(tonight), "--known", str(previous), "-q", str(tmp_path / "q.csv")]
    )
    assert result.exit_code == 0, result.output
    assert "known_call_id" in result.output
    assert "接受: 1" in result.output


@pytest.mark.parametrize(
    ("name", "content", "fragment"),
    [
        ("missing.csv", None, "文件不存在"),
        ("empty.csv", b"", "文件为空"),
        ("bad.parquet", b"junk", "Parquet"),
    ],
)
def test_cli_fails_with_one_line_and_exit_2(tmp_path, name, content, fragment):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1
    assert lines[0].startswith("错误: ")
    assert fragment in lines[0]
    assert "Traceback" not in result.output
