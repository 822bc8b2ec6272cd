"""Scheduled every minute: runs the nurturing steps that are due, each at most once."""

from __future__ import annotations

from functions.common import logger, metrics, tracer
from leadflow.services.nurture import run_due


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event, context):
    summary = run_due()
    logger.info("nurture sweep", extra=summary)
    return summary
