"""Scheduled every minute: finds leads close to their acceptance deadline and tasks whose
reminder is due, and queues their ids for the notify consumer (functions/notify.py). Stops
reading 10 s before its timeout; the next run continues."""

from __future__ import annotations

from functions.common import scheduled_handler
from leadflow.services.notifications import sweep

handler = scheduled_handler(sweep, "notification sweep", reserve_seconds=10)
