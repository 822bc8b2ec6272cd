"""Scheduled daily: erase personal data of leads that never converted, after the retention limit."""

from __future__ import annotations

from functions.common import scheduled_handler
from leadflow.services.privacy import apply_retention

handler = scheduled_handler(apply_retention, "retention")
