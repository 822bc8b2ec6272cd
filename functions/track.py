"""Public tracking endpoints: open pixel, click redirect, engagement events (issue 4)."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.logging import correlation_paths

from functions.common import error_response, logger, metrics, tracer

app = APIGatewayHttpResolver()


@app.get("/t/o/<token>")
@app.get("/t/c/<token>")
@app.post("/events")
def not_yet(token: str | None = None):
    return error_response(501, [{"field": "path", "rule": "not_implemented",
                                 "message": "tracking arrives with nurturing"}], "not implemented yet")


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event, context):
    return app.resolve(event, context)
