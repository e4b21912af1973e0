"""Fixtures of the evaldata area: the hand-written independent evaluation set, read as plain strings."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

EVAL_DIR = Path(__file__).resolve().parents[2] / "data" / "eval" / "independent" / "dev"


@pytest.fixture(scope="session")
def calls_path() -> Path:
    return EVAL_DIR / "calls.csv"


@pytest.fixture(scope="session")
def calls(calls_path: Path) -> pd.DataFrame:
    """Every cell as text, so an empty field stays '' and account numbers keep leading zeros."""
    return pd.read_csv(calls_path, dtype=str, keep_default_na=False, encoding="utf-8")


@pytest.fixture(scope="session")
def freetext() -> pd.DataFrame:
    return pd.read_csv(EVAL_DIR / "freetext.csv", dtype=str, keep_default_na=False, encoding="utf-8")
