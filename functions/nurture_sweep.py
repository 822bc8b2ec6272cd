"""Scheduled every minute: finds the leads whose nurturing step is due and queues their ids for
the per-lead workers (functions/nurture_worker.py). Stops reading 15 s before its timeout."""

from __future__ import annotations

from functions.common import scheduled_handler
from leadflow.services.nurture import enqueue_due

handler = scheduled_handler(enqueue_due, "nurture sweep", reserve_seconds=15)
