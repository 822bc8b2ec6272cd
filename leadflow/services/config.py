"""Config as versioned data: every rule set (plausibility lists, scoring, routing,
journeys) is a YAML file under `config/` as shipped, and versions published by
admins in DynamoDB. The active version wins; the file is the first version.

A rule set registers a validator (usually a pydantic model's `model_validate`)
so a bad document is refused with the field and the rule before it is stored.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from leadflow.adapters import clock
from leadflow.domain.errors import Conflict, InvalidConfig, NotFound
from leadflow.store import config as store
from leadflow.store.models import ConfigModel

CACHE_SECONDS = 60.0
_validators: dict[str, Callable[[dict[str, Any]], Any]] = {}
_cache: dict[str, tuple[float, int | None, dict[str, Any]]] = {}


def config_dir() -> Path:
    override = os.environ.get("LEADFLOW_CONFIG_DIR")
    if override:
        return Path(override)
    return Path(__file__).resolve().parents[2] / "config"


def register(name: str, validator: Callable[[dict[str, Any]], Any]) -> None:
    _validators[name] = validator


def known_names() -> list[str]:
    return sorted(p.stem for p in config_dir().glob("*.yaml"))


def unknown_rule_set(name: str) -> NotFound:
    return NotFound(f"unknown rule set {name!r}; known: {', '.join(known_names())}", field="name")


def load_file(name: str) -> dict[str, Any]:
    path = config_dir() / f"{name}.yaml"
    if not path.is_file():
        raise unknown_rule_set(name)
    return yaml.safe_load(path.read_text()) or {}


def validate(name: str, document: dict[str, Any]) -> None:
    if not isinstance(document, dict):
        raise InvalidConfig(f"{name}: the document must be a mapping", field="document")
    import leadflow.services.rulesets  # noqa: F401  (registers the product's parsers)

    validator = _validators.get(name)
    if validator is None:  # nothing could check it, so nothing could use it either
        raise InvalidConfig(f"{name} has no schema to validate a document against", field="name")
    try:
        validator(document)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "document"
        raise InvalidConfig(f"{name}: {where}: {first['msg']}", field=f"document.{where}") from None
    except InvalidConfig:
        raise
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidConfig(f"{name}: {exc}", field="document") from None


_shipped: dict[str, dict[str, Any]] = {}


def _shipped_document(name: str) -> dict[str, Any]:
    """The shipped file, read once per process (it cannot change while the process runs)."""
    if name not in _shipped:
        _shipped[name] = load_file(name)
    return _shipped[name]


def active(name: str) -> tuple[int | None, dict[str, Any]]:
    """(version, document) of the active rule set; version None means the shipped file.

    After CACHE_SECONDS only the pointer is read again; the same version keeps the same
    document object, so parsed rules stay cached too (services.rulesets)."""
    cached = _cache.get(name)
    if cached and time.monotonic() - cached[0] < CACHE_SECONDS:
        return cached[1], cached[2]
    version = store.active_version(name)
    document = None
    if cached and version is not None and cached[1] == version:
        document = cached[2]
    elif version is not None:
        item = store.get_version(name, version)
        document = item.document if item else None
    if document is None:
        version, document = None, _shipped_document(name)
    _cache[name] = (time.monotonic(), version, document)
    return version, document


# Written only by the train function (with its validation metrics), never by hand.
MACHINE_WRITTEN = frozenset({"predictive_model"})


def shipped_version(name: str) -> int:
    """The version number of the shipped file: its `version` field (1 in every file as shipped)."""
    value = _shipped_document(name).get("version", 1)
    return value if isinstance(value, int) and value >= 1 else 1


def _shipped_or_machine_written(name: str) -> bool:
    """True for a shipped rule set, False for one only the train function writes; else unknown."""
    if name in known_names():
        return True
    if name in MACHINE_WRITTEN:
        return False
    raise unknown_rule_set(name)


def active_version(name: str) -> int | None:
    """The version in force: the published one the pointer names, else the shipped file's."""
    shipped = _shipped_or_machine_written(name)
    version = store.active_version(name)
    return shipped_version(name) if version is None and shipped else version


def versions(name: str, limit: int = 20) -> list[ConfigModel]:
    """Published versions, newest first, then the shipped file as the first version
    (an unsaved item: author "shipped", no date)."""
    has_file = _shipped_or_machine_written(name)
    items = store.versions(name, limit=limit)
    if not has_file:
        return items
    shipped = shipped_version(name)
    if len(items) < limit and all(int(m.version) != shipped for m in items):
        items.append(ConfigModel(name, shipped, document=_shipped_document(name), author="shipped",
                                 comment=f"config/{name}.yaml as shipped"))
    return items


def publish(name: str, document: dict[str, Any], *, author: str, comment: str | None = None) -> int:
    """Validate and store the next version; it becomes active. Its number is written into the
    document's `version`, so what a score or a routing decision reports (rulesVersion) is the
    number configVersions shows. The same rules as the active version again are refused."""
    if name in MACHINE_WRITTEN:
        raise InvalidConfig(f"{name} is written by the train function, not published by hand", field="name")
    if name not in known_names():
        raise unknown_rule_set(name)
    if not isinstance(document, dict):
        raise InvalidConfig(f"{name}: the document must be a mapping", field="document")
    active_number, active_document = active(name)
    active_number = active_number or shipped_version(name)
    if _canonical(document) == _canonical(active_document):
        raise Conflict(f"{name}: the document is the same as the active version {active_number}; "
                       "nothing published", field="document")
    version = max(store.latest_version(name), shipped_version(name)) + 1
    document = {**document, "version": version}
    validate(name, document)
    version = store.publish(name, document, author=author, at=clock.now(), comment=comment, version=version)
    _cache.pop(name, None)
    return version


def _canonical(document: dict[str, Any]) -> str:
    """The rules without their version number, as JSON would carry them (the shipped YAML has dates)."""
    return json.dumps({k: v for k, v in document.items() if k != "version"}, sort_keys=True, default=str)


def clear_cache() -> None:
    _cache.clear()
    _shipped.clear()
