"""Versioned rule sets in DynamoDB: version N items plus a pointer (version 0) to the active one."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pynamodb.exceptions import DoesNotExist, TransactWriteError
from pynamodb.transactions import TransactWrite

from leadflow.domain.errors import ConcurrentUpdate
from leadflow.store.models import ConfigModel, connection

POINTER = 0


def active_version(name: str) -> int | None:
    try:
        pointer = ConfigModel.get(name, POINTER, consistent_read=True)
    except DoesNotExist:
        return None
    return int(pointer.active_version) if pointer.active_version is not None else None


def get_version(name: str, version: int) -> ConfigModel | None:
    try:
        return ConfigModel.get(name, version, consistent_read=True)
    except DoesNotExist:
        return None


def versions(name: str, limit: int = 20) -> list[ConfigModel]:
    return [m for m in ConfigModel.query(name, ConfigModel.version > POINTER, scan_index_forward=False,
                                         limit=limit)]


def latest_version(name: str) -> int:
    newest = next(iter(ConfigModel.query(name, ConfigModel.version > POINTER, scan_index_forward=False,
                                         limit=1)), None)
    return int(newest.version) if newest else 0


def publish(name: str, document: dict[str, Any], *, author: str, at: datetime, comment: str | None,
            version: int | None = None) -> int:
    """Store `version` (default: the next) and make it active, atomically; a concurrent publish
    loses cleanly."""
    expected = active_version(name)
    version = version or latest_version(name) + 1
    item = ConfigModel(name, version, document=document, author=author, created_at=at, comment=comment)
    pointer = ConfigModel(name, POINTER, active_version=version, author=author, created_at=at)
    pointer_condition = (ConfigModel.active_version.does_not_exist() if expected is None
                         else ConfigModel.active_version == expected)
    try:
        with TransactWrite(connection=connection()) as tx:
            tx.save(item, condition=ConfigModel.version.does_not_exist())
            tx.save(pointer, condition=pointer_condition)
    except TransactWriteError as exc:
        raise ConcurrentUpdate(f"{name} was published by someone else meanwhile; reload and retry",
                               field="name") from exc
    return version


def activate(name: str, version: int, *, author: str, at: datetime) -> None:
    """Roll back (or forward) to an existing version."""
    ConfigModel(name, POINTER, active_version=version, author=author, created_at=at).save()
