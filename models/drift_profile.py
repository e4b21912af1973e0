"""The training-data profile each classifier carries in its pyfunc artifacts (``drift_profile``).

Training writes it (:func:`write_profile`); the nightly drift check reads the
profile of the very version that scored the night (:func:`load_profile`), so a
promotion changes the baseline along with the model. Champions logged before
profiles existed have none: :func:`load_profile` returns None and the night's
report says the check was skipped.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import mlflow
import pandas as pd
from mlflow.models import Model

from models.text_prep import TextPrep
from pipeline.drift import TrainingProfile, profile_of

ARTIFACT = "drift_profile"
FILENAME = "drift_profile.json"


def write_profile(clf, val: pd.DataFrame, train: pd.DataFrame, text_prep: TextPrep, workdir: Path) -> Path:
    """Profile of ``clf``'s predictions on the validation split, vocabulary from the training split."""
    texts = val["transcript"].tolist()
    profile = profile_of(texts, clf.predict(texts), train["transcript"].tolist(), text_prep.max_chars)
    path = Path(workdir) / FILENAME
    path.write_text(profile.to_json(), encoding="utf-8")
    return path


def load_profile(model_uri: str) -> TrainingProfile | None:
    """The profile logged with the model at ``model_uri``, or None when that model has none."""
    with tempfile.TemporaryDirectory() as tmp:
        mlmodel = mlflow.artifacts.download_artifacts(artifact_uri=f"{model_uri}/MLmodel", dst_path=tmp)
        artifacts = Model.load(mlmodel).flavors.get("python_function", {}).get("artifacts") or {}
        entry = artifacts.get(ARTIFACT)
        if not entry:
            return None
        path = mlflow.artifacts.download_artifacts(artifact_uri=f"{model_uri}/{entry['path']}", dst_path=tmp)
        return TrainingProfile.from_json(Path(path).read_text(encoding="utf-8"))
