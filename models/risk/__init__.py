"""The escalation-risk ML, one job per module, dependencies pointing one way (no circles):

- :mod:`models.risk.features` - the model's feature table: which columns, how a frame becomes a matrix.
  The per-call feature code itself is :mod:`pipeline.features`, because nightly scoring computes it
  and ``pipeline`` never imports ``models``.
- :mod:`models.risk.replay` - training data: labelled nights replayed in date order through
  the production feature code, with the 30-day target.
- :mod:`models.risk.model` - :class:`RiskModel`, its MLflow pyfunc and :func:`load_risk_model`.
- :mod:`models.risk.metrics` - recall before 12398, lead time, slips per 1,000 calls, thresholds for a budget.
- :mod:`models.risk.plots` - the recall-versus-budget chart.
- :mod:`models.risk.train` - fit, choose thresholds, log to MLflow, register and gate.
- :mod:`models.risk.evaluate` - the registered model beside the keyword baseline on held-out nights.

``features <- replay <- train/evaluate``, ``metrics/plots/model <- train/evaluate``; nothing here
imports ``pipeline.scoring``. Import the submodules directly.
"""
