"""Scheduled every five minutes: reassigns leads whose acceptance SLA ran out, alerts managers."""

from __future__ import annotations

from functions.common import logger, metrics, tracer
from leadflow.services.routing import sla_sweep


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event, context):
    result = sla_sweep()
    logger.info("sla sweep", extra=result)
    return result
