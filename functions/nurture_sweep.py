"""Scheduled every minute: runs the nurturing steps that are due (issue 4)."""

from __future__ import annotations

from functions.common import logger, metrics, tracer


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event, context):
    # The due-step sweep arrives with nurturing (issue 4); the schedule is wired already.
    logger.info("nurture sweep", extra={"due": 0})
    return {"due": 0, "ran": 0}
