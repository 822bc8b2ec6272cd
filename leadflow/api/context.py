"""Per-request context: the caller (from the JWT claims API Gateway passes) and DataLoaders."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from strawberry.dataloader import DataLoader

from leadflow.domain.access import identify
from leadflow.services import leads as lead_service


@dataclass
class Loaders:
    history: DataLoader


def _claims_from_event(event: dict[str, Any] | None) -> dict[str, Any] | None:
    if not event:
        return None
    authorizer = (event.get("requestContext") or {}).get("authorizer") or {}
    return (authorizer.get("jwt") or {}).get("claims")


def build_context(event: dict[str, Any] | None) -> dict[str, Any]:
    async def load_history(ids: list[str]):
        return lead_service.history_of(ids)

    # refused (no role group, several): every field answers with the refusal (permissions.AuthorizeEveryField)
    principal, refusal = identify(_claims_from_event(event))
    if principal is not None:
        from leadflow.services.routing import team_refusal

        refusal = team_refusal(principal.role.value, principal.user_id)
        if refusal:
            principal = None  # every field answers with the refusal (permissions.AuthorizeEveryField)
    return {
        "principal": principal,
        "refusal": refusal,
        "loaders": Loaders(history=DataLoader(load_fn=load_history)),
    }
