"""Scheduled daily: retrains the predictive scoring model from won/lost leads (issue 5).

Stores and activates a new model version only if it is not worse than the active one on the
newest outcomes; after an activation, the newest open leads get the new model's prediction.
"""

from __future__ import annotations

import os

from functions.common import logger, tracer
from leadflow.adapters import clock
from leadflow.services.predictive import RESCORE_LIMIT, rescore_predictions
from leadflow.services.predictive_training import train_and_maybe_activate


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def handler(event, context):
    summary = train_and_maybe_activate(clock.now())
    logger.info("train", extra=summary)  # outcomes, activated, train_seconds, validation AUC
    if summary["activated"]:
        limit = int(os.environ.get("PREDICTIVE_RESCORE_LIMIT", RESCORE_LIMIT))
        summary["rescore"] = rescore_predictions(limit) if limit > 0 else None
        logger.info("rescored open leads", extra={"rescore": summary["rescore"]})
    return summary
