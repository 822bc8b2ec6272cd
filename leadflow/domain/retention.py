"""Retention limits: how long a lead that never converted keeps its personal data."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from leadflow.domain.lifecycle import Stage

# Stages a retention limit may apply to: never customers or leads in sales' hands.
ERASABLE = frozenset({Stage.LEAD, Stage.DISQUALIFIED, Stage.LOST, Stage.RECYCLED})


class RetentionRules(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: int = 1
    retention_days: dict[Stage, int] = Field(default_factory=dict)

    @field_validator("retention_days")
    @classmethod
    def _only_unconverted(cls, value: dict[Stage, int]) -> dict[Stage, int]:
        for stage, days in value.items():
            if stage not in ERASABLE:
                raise ValueError(f"{stage.value} leads are not erased automatically")
            if days < 30:
                raise ValueError(f"{stage.value}: at least 30 days")
        return value

    @classmethod
    def from_dict(cls, document: dict[str, Any]) -> RetentionRules:
        return cls.model_validate(document)

    def cutoffs(self, now: datetime) -> dict[Stage, datetime]:
        """Per stage: leads that entered it before this moment are due for erasure."""
        return {stage: now - timedelta(days=days) for stage, days in self.retention_days.items()}
