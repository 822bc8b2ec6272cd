"""boto3 clients, created lazily once per process (cold start pays only for what it uses)."""

from __future__ import annotations

from functools import cache
from typing import Any

from leadflow.settings import get_settings


@cache
def client(service: str) -> Any:
    import boto3

    return boto3.client(service, region_name=get_settings().region)


def reset_clients() -> None:
    """For tests: forget clients made under another emulator."""
    client.cache_clear()
