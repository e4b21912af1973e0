"""ML of the product: complaint classifiers, pretraining, ONNX scoring, evaluation and the MLflow registry."""
