"""Scheduled: re-enqueue leads that were stored but never qualified."""

from __future__ import annotations

from functions.common import logger, metrics, tracer
from leadflow.services.intake import requeue_stalled


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event, context):
    return requeue_stalled()
