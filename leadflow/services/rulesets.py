"""The active version of each rule set, parsed once per version.

Every rule set is versioned data (see services.config); this is the one place
that knows which parser validates which name.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from leadflow.services import config

# rule set name -> "module:Class" whose `from_dict` validates and parses the document
PARSERS = {
    "company": "leadflow.domain.mail:Company",
    "consent_texts": "leadflow.domain.consent:ConsentTexts",
    "enrichment": "leadflow.domain.enrichment:EnrichmentRules",
    "interests": "leadflow.domain.enrichment:InterestRules",
    "journeys": "leadflow.domain.journey_config:JourneyBook",
    "plausibility": "leadflow.domain.plausibility:PlausibilityRules",
    "privacy": "leadflow.domain.retention:RetentionRules",
    "routing": "leadflow.domain.routing:RoutingRules",
    "sales": "leadflow.domain.sales:SalesRules",
    "scoring": "leadflow.domain.scoring:ScoringRules",
    "sites": "leadflow.domain.tracking:Sites",
}
PARSED_NAMES = tuple(PARSERS)
_parsed: dict[str, tuple[dict[str, Any], Any]] = {}  # name -> (document, parsed rules)


def _parser(name: str) -> Callable[[dict[str, Any]], Any]:
    module, cls = PARSERS[name].split(":")
    return getattr(importlib.import_module(module), cls).from_dict  # imported only when used


def register_validators() -> None:
    for name in PARSED_NAMES:
        config.register(name, lambda doc, _n=name: _parser(_n)(doc))


def active_rules(name: str) -> Any:
    """Parsed once per document: config.active returns the same object until a new version is read."""
    _, document = config.active(name)
    cached = _parsed.get(name)
    if cached is None or cached[0] is not document:
        cached = _parsed[name] = (document, _parser(name)(document))
    return cached[1]


register_validators()
