"""Predictive lead scoring learned from the company's own closed leads (numpy only).

    from leadflow.domain.predictive import train, fit_and_validate, Model

* ``train(rows, labels, options)`` - rows oldest first, labels 1 = won / 0 = lost.
* ``Model.predict(rows)`` - probability and top factors per row;
  ``Model.to_dict()`` / ``Model.from_dict()`` - plain JSON for versioned storage.
* ``fit_and_validate(rows, labels, order, active)`` - what the scheduled train
  function calls: holds out the newest outcomes, compares with the active model.
* ``roc_auc``, ``log_loss``, ``calibration_table`` - metrics.
"""

from .features import Encoder, EncoderOptions, fit_encoder
from .gbm import TreeOptions
from .labels import PredictiveDataError, binary_labels, chronological_order
from .metrics import CalibrationBin, calibration_table, format_calibration, log_loss, roc_auc
from .model import (
    Factor,
    Model,
    Prediction,
    TrainingOutcome,
    TrainOptions,
    evaluate,
    fit_and_validate,
    train,
)

__all__ = [
    "CalibrationBin",
    "Encoder",
    "EncoderOptions",
    "Factor",
    "Model",
    "Prediction",
    "PredictiveDataError",
    "TrainOptions",
    "TrainingOutcome",
    "TreeOptions",
    "binary_labels",
    "calibration_table",
    "chronological_order",
    "evaluate",
    "fit_and_validate",
    "fit_encoder",
    "format_calibration",
    "log_loss",
    "roc_auc",
    "train",
]
