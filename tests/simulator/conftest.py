"""Simulator runs shared by the area's tests: small, fixed seeds, generated once per session."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from pipeline.simulator import load_labeled, simulate


@pytest.fixture(scope="session")
def train_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sim_train")
    simulate(out, days=3, seed=7, scale=0.5)
    return out


@pytest.fixture(scope="session")
def holdout_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sim_holdout")
    simulate(out, days=3, seed=202, scale=0.5, holdout=True)
    return out


@pytest.fixture(scope="session")
def train_df(train_dir: Path) -> pd.DataFrame:
    return load_labeled(train_dir)


@pytest.fixture(scope="session")
def holdout_df(holdout_dir: Path) -> pd.DataFrame:
    return load_labeled(holdout_dir)
