"""/graphql: Strawberry on Mangum. Built at import so warm invocations only execute."""

from __future__ import annotations

from aws_lambda_powertools.logging import correlation_paths
from mangum import Mangum

from functions.common import logger, tracer
from leadflow.api.app import create_app
from leadflow.settings import get_settings

asgi = Mangum(create_app(production=get_settings().is_production), lifespan="off")


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
def handler(event, context):
    return asgi(event, context)
