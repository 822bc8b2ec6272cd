"""Plausibility engine: is this form submission a real, reachable person?

    from leadflow.domain.plausibility import check
    verdict = check({"firstName": "Max", "lastName": "Mustermann", "email": "max@example.com"})
    verdict.verdict   # "implausible"
    verdict.reasons   # [Reason(code="email_placeholder_domain", field="email", ...), ...]

Pure Python (no AWS). The lists and the severity policy are versioned config
(`config/plausibility.yaml`); the GeoNames city index is committed generated
data (`leadflow/data/cities.tsv.gz`), loaded on first use. Importing this
package is cheap: the heavier libraries (email-validator, the city index)
load on the first `check()`.
"""

from .engine import check, decide
from .model import IMPLAUSIBLE, INFO, NEEDS_REVIEW, PLAUSIBLE, REJECT, REVIEW, VERDICTS, Reason, Suggestion, Verdict
from .rules import PlausibilityRules, config_path, load_default_rules, load_rules_file

__all__ = [
    "IMPLAUSIBLE",
    "INFO",
    "NEEDS_REVIEW",
    "PLAUSIBLE",
    "REJECT",
    "REVIEW",
    "VERDICTS",
    "PlausibilityRules",
    "Reason",
    "Suggestion",
    "Verdict",
    "check",
    "config_path",
    "decide",
    "load_default_rules",
    "load_rules_file",
]
