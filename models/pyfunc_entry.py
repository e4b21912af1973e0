"""Models-from-code entry point MLflow logs with each classifier (no pickled Python objects)."""

import mlflow.models

from models.pyfunc_model import ComplaintClassifierModel

mlflow.models.set_model(ComplaintClassifierModel())
