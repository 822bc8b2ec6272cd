"""Accounts (existing customers, key accounts) and the dedup match index."""

from __future__ import annotations

from collections.abc import Iterable

from pynamodb.exceptions import DoesNotExist

from leadflow.store.models import AccountModel, MatchModel


def refs_for(keys: Iterable[str]) -> dict[str, list[str]]:
    """{match key: [refs]} for the given keys (one query each; keys are few per lead)."""
    return {key: [m.ref for m in MatchModel.query(key)] for key in keys}


def add_refs(keys: Iterable[str], ref: str) -> None:
    with MatchModel.batch_write() as batch:
        for key in set(keys):
            batch.save(MatchModel(key, ref))


def remove_refs(keys: Iterable[str], ref: str) -> None:
    with MatchModel.batch_write() as batch:
        for key in set(keys):
            batch.delete(MatchModel(key, ref))


def get_account(account_id: str) -> AccountModel | None:
    try:
        return AccountModel.get(account_id)
    except DoesNotExist:
        return None


def save_account(account: AccountModel) -> None:
    account.save()
