"""Scheduled every minute: runs the nurturing steps that are due, each at most once."""

from __future__ import annotations

from functions.common import scheduled_handler
from leadflow.services.nurture import run_due

handler = scheduled_handler(run_due, "nurture sweep")
