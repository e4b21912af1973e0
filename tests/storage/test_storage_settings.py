"""One typed settings loader: unknown keys are refused, one horizon_days drives every 30-day window."""

from __future__ import annotations

from datetime import date

import pytest

from pipeline import config
from pipeline.risk.config import load_risk_config
from pipeline.validation import Limits


@pytest.fixture
def toml(tmp_path, monkeypatch):
    def write(text: str):
        path = tmp_path / "complaints.toml"
        path.write_text(text, encoding="utf-8")
        monkeypatch.setenv("COMPLAINTS_CONFIG", str(path))
        config._toml.cache_clear()
        return path

    yield write
    monkeypatch.delenv("COMPLAINTS_CONFIG", raising=False)
    config._toml.cache_clear()


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("[ingest]\nmax_transcript_char = 10\n", "max_transcript_char"),
        ("[ingets]\nmax_transcript_chars = 10\n", "ingets"),
        ("[paths]\nhome_dir = '/tmp'\n", "home_dir"),
        ("[storage]\ncustomer_secrit = 'x'\n", "customer_secrit"),
        ("horizon_day = 14\n", "horizon_day"),
        ("[ingest]\nmax_future_days = 'soon'\n", "max_future_days"),
    ],
)
def test_unknown_or_mistyped_keys_are_refused_with_one_line(toml, text, fragment):
    toml(text)
    with pytest.raises(config.ConfigError) as err:
        config.section("ingest")
    assert fragment in str(err.value) and "\n" not in str(err.value)


def test_one_horizon_days_drives_the_risk_windows(toml):
    toml("horizon_days = 14\n")
    risk = load_risk_config()
    assert (risk.repeat_window_days, risk.reopen_days) == (14, 14)
    assert config.horizon_days() == 14
    toml("horizon_days = 14\n[risk]\nreopen_days = 7\n")
    assert load_risk_config().reopen_days == 7


def test_typed_tables_reach_their_users(toml, tmp_path):
    toml(
        f"[ingest]\nearliest_call_date = 2020-01-01\nmax_future_days = 5\n[paths]\nreports_dir = '{tmp_path}/r'\n"
    )
    limits = Limits.from_config()
    assert (limits.earliest, limits.max_future_days) == (date(2020, 1, 1), 5)
    assert config.get_settings().reports_dir == tmp_path / "r"


def test_tables_of_other_parts_pass_through(toml):
    toml('[units]\n"大理供电局" = 1250000\n[simulator.escalation]\nbase = -2.0\n[webapp]\nper_page = 20\n')
    assert config.section("units") == {"大理供电局": 1250000}
    assert config.section("webapp") == {"per_page": 20}
