"""Runtime settings, read once from the environment that template.yaml sets."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True)
class Settings:
    stage: str
    region: str
    leads_table: str
    history_table: str
    markers_table: str
    metrics_table: str
    config_table: str
    accounts_table: str
    match_table: str
    timeline_table: str
    routing_table: str
    nurture_table: str
    outbox_table: str
    search_table: str
    public_base_url: str
    idempotency_table: str
    intake_queue_url: str
    engagement_queue_url: str
    routing_queue_url: str
    nurture_queue_url: str  # due leads, from the nurture sweep to its per-lead workers
    notify_queue_url: str  # notices (ids only) for the notification mails (services.notifications)
    event_bus_name: str
    sender_email: str
    mail_configuration_set: str  # bounces and complaints of every mail reach the track function
    allowed_origins: tuple[str, ...]
    company_timezone: str
    team_mail_domain: str = "example.com"  # a user's mail: <Cognito username>@this (default: the sender's domain)
    lead_link: str = ""  # the frontend's page of a lead, with {id}; empty: GraphiQL with the lead's query
    max_report_days: int = 3700  # the longest from..to a report or fairness query may cover (ten years)

    @property
    def is_production(self) -> bool:
        return self.stage != "dev"


def _env(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings(
        stage=_env("LEADFLOW_STAGE", "prod"),
        region=_env("AWS_REGION", _env("AWS_DEFAULT_REGION", "eu-central-1")),
        leads_table=_env("LEADS_TABLE", "leadflow-LeadsTable"),
        history_table=_env("HISTORY_TABLE", "leadflow-HistoryTable"),
        markers_table=_env("MARKERS_TABLE", "leadflow-MarkersTable"),
        metrics_table=_env("METRICS_TABLE", "leadflow-MetricsTable"),
        config_table=_env("CONFIG_TABLE", "leadflow-ConfigTable"),
        accounts_table=_env("ACCOUNTS_TABLE", "leadflow-AccountsTable"),
        match_table=_env("MATCH_TABLE", "leadflow-MatchTable"),
        timeline_table=_env("TIMELINE_TABLE", "leadflow-TimelineTable"),
        routing_table=_env("ROUTING_TABLE", "leadflow-RoutingTable"),
        nurture_table=_env("NURTURE_TABLE", "leadflow-NurtureTable"),
        outbox_table=_env("OUTBOX_TABLE", "leadflow-OutboxTable"),
        search_table=_env("SEARCH_TABLE", "leadflow-SearchTable"),
        public_base_url=_env("PUBLIC_BASE_URL", "http://127.0.0.1:8000").rstrip("/"),
        idempotency_table=_env("IDEMPOTENCY_TABLE", "leadflow-IdempotencyTable"),
        intake_queue_url=_env("INTAKE_QUEUE_URL"),
        engagement_queue_url=_env("ENGAGEMENT_QUEUE_URL"),
        routing_queue_url=_env("ROUTING_QUEUE_URL"),
        nurture_queue_url=_env("NURTURE_QUEUE_URL"),
        notify_queue_url=_env("NOTIFY_QUEUE_URL"),
        # users' mail: <Cognito username>@<this>; default: the sender's domain
        team_mail_domain=_env("TEAM_MAIL_DOMAIN") or _env("SENDER_EMAIL", "leads@example.com").rsplit("@", 1)[-1],
        lead_link=_env("LEAD_LINK"),
        event_bus_name=_env("EVENT_BUS_NAME", "leadflow"),
        sender_email=_env("SENDER_EMAIL", "leads@example.com"),
        mail_configuration_set=_env("MAIL_CONFIGURATION_SET"),
        allowed_origins=tuple(o.strip() for o in _env("ALLOWED_ORIGINS").split(",") if o.strip()),
        company_timezone=_env("LEADFLOW_TIMEZONE", "Europe/Berlin"),
        max_report_days=int(_env("LEADFLOW_MAX_REPORT_DAYS", "3700")),
    )
