"""The active version of each rule set, parsed once per version.

Every rule set is versioned data (see services.config); this is the one place
that knows which parser validates which name.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from leadflow.services import config

T = TypeVar("T")
_parsed: dict[tuple[str, int | None], Any] = {}


def _parser(name: str) -> Callable[[dict[str, Any]], Any]:
    if name == "plausibility":
        from leadflow.domain.plausibility import PlausibilityRules

        return PlausibilityRules.from_dict
    if name == "enrichment":
        from leadflow.domain.enrichment import EnrichmentRules

        return EnrichmentRules.from_dict
    if name == "interests":
        from leadflow.domain.enrichment import InterestRules

        return InterestRules.from_dict
    if name == "scoring":
        from leadflow.domain.scoring import ScoringRules

        return ScoringRules.from_dict
    if name == "routing":
        from leadflow.domain.routing import RoutingRules

        return RoutingRules.from_dict
    if name == "journeys":
        from leadflow.domain.journeys import JourneyBook

        return JourneyBook.from_dict
    if name == "consent_texts":
        from leadflow.domain.consent import ConsentTexts

        return ConsentTexts.from_dict
    if name == "sites":
        from leadflow.domain.tracking import Sites

        return Sites.from_dict
    if name == "company":
        from leadflow.domain.mail import Company

        return Company.from_dict
    raise KeyError(name)


PARSED_NAMES = ("company", "plausibility", "enrichment", "interests", "scoring", "routing", "journeys", "consent_texts",
                "sites")


def register_validators() -> None:
    for name in PARSED_NAMES:
        config.register(name, lambda doc, _n=name: _parser(_n)(doc))


def active_rules(name: str) -> Any:
    version, document = config.active(name)
    key = (name, version)
    if key not in _parsed:
        _parsed[key] = _parser(name)(document)
    return _parsed[key]


register_validators()
