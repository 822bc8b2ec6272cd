"""Config as versioned data: every rule set (plausibility lists, scoring, routing,
journeys) is a YAML file under `config/` as shipped, and versions published by
admins in DynamoDB. The active version wins; the file is the first version.

A rule set registers a validator (usually a pydantic model's `model_validate`)
so a bad document is refused with the field and the rule before it is stored.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from leadflow.adapters import clock
from leadflow.domain.errors import InvalidConfig, NotFound
from leadflow.store import config as store

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


def load_file(name: str) -> dict[str, Any]:
    path = config_dir() / f"{name}.yaml"
    if not path.is_file():
        raise NotFound(f"no rule set named {name!r}; known: {', '.join(known_names())}", field="name")
    return yaml.safe_load(path.read_text()) or {}


def validate(name: str, document: dict[str, Any]) -> None:
    if not isinstance(document, dict):
        raise InvalidConfig(f"{name}: the document must be a mapping", field="document")
    import leadflow.services.rulesets  # noqa: F401  (registers the product's parsers)

    validator = _validators.get(name)
    if validator is None:
        return
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


def publish(name: str, document: dict[str, Any], *, author: str, comment: str | None = None) -> int:
    if name in MACHINE_WRITTEN:
        raise InvalidConfig(f"{name} is written by the train function, not published by hand", field="name")
    validate(name, document)
    version = store.publish(name, document, author=author, at=clock.now(), comment=comment)
    _cache.pop(name, None)
    return version


def clear_cache() -> None:
    _cache.clear()
    _shipped.clear()
