"""Scheduled daily: retrains the predictive scoring model from won/lost leads (issue 5)."""

from __future__ import annotations

from functions.common import logger, metrics, tracer


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event, context):
    # Training from DynamoDB outcomes arrives with scoring (issue 5); the schedule is wired already.
    logger.info("train", extra={"trained": False})
    return {"trained": False}
