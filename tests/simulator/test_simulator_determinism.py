"""Same seed, same bytes; another seed, other calls."""

from __future__ import annotations

from pathlib import Path

from pipeline.simulator import simulate


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*.csv"))}


def test_same_seed_gives_identical_files(tmp_path: Path) -> None:
    simulate(tmp_path / "a", days=2, seed=9, scale=0.15)
    simulate(tmp_path / "b", days=2, seed=9, scale=0.15)
    a, b = _files(tmp_path / "a"), _files(tmp_path / "b")
    assert len(a) == 4
    assert a == b


def test_different_seed_gives_different_calls(tmp_path: Path) -> None:
    simulate(tmp_path / "a", days=1, seed=9, scale=0.15)
    simulate(tmp_path / "b", days=1, seed=10, scale=0.15)
    a, b = _files(tmp_path / "a"), _files(tmp_path / "b")
    assert a.keys() == b.keys()
    assert a["2026-06-01/calls.csv"] != b["2026-06-01/calls.csv"]


def test_start_date_names_the_night_folders(tmp_path: Path) -> None:
    from datetime import date

    summary = simulate(tmp_path, days=2, seed=3, scale=0.1, start=date(2027, 1, 30))
    assert summary.nights == ["2027-01-30", "2027-01-31"]
    assert sorted(p.name for p in tmp_path.iterdir()) == summary.nights
