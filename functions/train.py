"""Scheduled daily: retrains the predictive scoring model from won/lost leads (issue 5).

Stores and activates a new model version only if it is not worse than the active one on the
newest outcomes; after an activation, the newest open leads get the new model's prediction.
"""

from __future__ import annotations

import os

from aws_lambda_powertools.metrics import MetricUnit

from functions.common import logger, metrics, tracer
from leadflow.adapters import clock
from leadflow.services.predictive import RESCORE_LIMIT, rescore_predictions, train_and_maybe_activate


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event, context):
    summary = train_and_maybe_activate(clock.now())
    if summary["outcomes"] is not None:  # None: no new outcomes since the active model, nothing read
        metrics.add_metric(name="PredictiveOutcomes", unit=MetricUnit.Count, value=summary["outcomes"])
    metrics.add_metric(name="PredictiveModelActivated", unit=MetricUnit.Count, value=int(summary["activated"]))
    if summary["trained"]:
        metrics.add_metric(name="PredictiveTrainSeconds", unit=MetricUnit.Seconds, value=summary["train_seconds"])
    if summary["validation"] and summary["validation"].get("auc") is not None:
        metrics.add_metric(name="PredictiveValidationAUC", unit=MetricUnit.NoUnit,
                           value=summary["validation"]["auc"])
    logger.info("train", extra=summary)
    if summary["activated"]:
        limit = int(os.environ.get("PREDICTIVE_RESCORE_LIMIT", RESCORE_LIMIT))
        summary["rescore"] = rescore_predictions(limit) if limit > 0 else None
        logger.info("rescored open leads", extra={"rescore": summary["rescore"]})
    return summary
