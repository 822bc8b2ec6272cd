"""Scheduled every five minutes: reassigns leads whose acceptance SLA ran out, alerts managers."""

from __future__ import annotations

from functions.common import scheduled_handler
from leadflow.services.routing import sla_sweep

handler = scheduled_handler(sla_sweep, "sla sweep")
