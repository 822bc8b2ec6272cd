"""Scheduled every five minutes: finds MQLs never routed and leads whose acceptance SLA ran out,
and queues their ids for the routing consumer (functions/route.py), which reassigns each one and
alerts the manager. Stops reading 10 s before its timeout; the next run continues."""

from __future__ import annotations

from functions.common import scheduled_handler
from leadflow.services.routing import sla_sweep

handler = scheduled_handler(sla_sweep, "sla sweep", reserve_seconds=10)
