"""Per-request context: the caller (from the JWT claims API Gateway passes) and DataLoaders."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from strawberry.dataloader import DataLoader

from leadflow.domain.access import TEAM_ROLES, identify
from leadflow.services import leads as lead_service


@dataclass
class Loaders:
    """One set per request: the nested lists of every lead in a result load together (a page of
    leads asking for consents and journeys is one BatchGetItem), and a lead asked for twice in one
    request (two aliases) is read once. Lists without known keys stay one Query per lead inside
    the batch (store/reads.py); the cost limit (api/cost.py) counts them."""

    history: DataLoader  # lead id -> [HistoryModel]
    timeline: DataLoader  # (lead id, limit) -> [TimelineModel]
    nurture: DataLoader  # (lead id, CONSENTS | JOURNEY) -> consent records | (state, runs, due)
    duplicates: DataLoader  # lead id -> [lead id]


def _loader(batch) -> DataLoader:
    async def load(keys: list):
        return batch(list(keys))

    return DataLoader(load_fn=load)


def loaders() -> Loaders:
    def duplicates(lead_ids: list[str]) -> list[list[str]]:
        from leadflow.services.qualify import possible_duplicates_of  # heavy: only when asked for

        return possible_duplicates_of(lead_ids)

    return Loaders(history=_loader(lead_service.history_of), timeline=_loader(lead_service.timelines_of),
                   nurture=_loader(lead_service.nurture_of), duplicates=_loader(duplicates))


def _claims_from_event(event: dict[str, Any] | None) -> dict[str, Any] | None:
    if not event:
        return None
    authorizer = (event.get("requestContext") or {}).get("authorizer") or {}
    return (authorizer.get("jwt") or {}).get("claims")


def build_context(event: dict[str, Any] | None) -> dict[str, Any]:
    # refused (no role group, several): every field answers with the refusal (permissions.AuthorizeEveryField)
    principal, refusal = identify(_claims_from_event(event))
    if principal is not None and principal.role.value in TEAM_ROLES:  # others need no routing rules
        from leadflow.services.routing import team_refusal

        refusal = team_refusal(principal.role.value, principal.user_id)
        if refusal:
            principal = None  # every field answers with the refusal (permissions.AuthorizeEveryField)
    return {
        "principal": principal,
        "refusal": refusal,
        "loaders": loaders(),
    }
