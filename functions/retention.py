"""Scheduled daily: erase personal data of leads that never converted, after the retention limit."""

from __future__ import annotations

from functions.common import logger, metrics, tracer
from leadflow.services.privacy import apply_retention


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event, context):
    erased = apply_retention()
    logger.info("retention", extra={"erased": erased})
    return erased
