"""Scheduled: re-enqueue leads that were stored but never qualified. Stops reading 15 s before its timeout."""

from __future__ import annotations

from functions.common import scheduled_handler
from leadflow.services.intake import requeue_stalled

handler = scheduled_handler(requeue_stalled, "intake sweep", reserve_seconds=15)
