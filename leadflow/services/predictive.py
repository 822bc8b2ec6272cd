"""Predictive scoring in the product: train on the company's closed leads, store
versioned models, give every lead a probability with its top factors (issue 5, part 4).

* ``services.predictive_training.train_and_maybe_activate(now)`` - the daily
  train function (numpy): reads the outcomes (``training_rows``), fits and
  validates on the newest ones, and stores and activates a new model version
  only if it is not worse than the active one on those outcomes.
* ``predict_lead(lead)`` / ``prediction_fields(lead)`` - the active model's
  probability and top 5 factors for one lead (the score function stores it on
  every rescore).
* ``rescore_predictions(limit)`` - new predictions for the newest open leads
  after a new model was activated.

**Outcome of a lead** (``outcome_of``): won = stage ``CUSTOMER``; lost = stage
``LOST``, or ``DISQUALIFIED`` / ``RECYCLED`` after it had reached ``SAL`` (sales
accepted it and then let it go). Every other lead is open, and so not
training data: a lead disqualified before sales saw it (implausible, a
duplicate) says nothing about won vs lost. Imported historical leads are
``CUSTOMER`` or ``LOST`` (``services.lead_import``).

**Order** of the outcomes: ``stage_sort`` ("<when it entered its stage>#<id>"),
i.e. when the outcome became known; "the newest outcomes" are the last ones.

**Storage**: ConfigTable, name ``predictive_model``, versions through
``store.config`` (version 0 points to the active one). The model JSON (about
100-170 KB with the trees) is stored gzip+base64 inside the document (about a
quarter of that) with its metrics in clear; if the item would still exceed
``MAX_DOCUMENT_BYTES`` the logistic-only model (about 10 KB) is trained and
validated instead (``services.predictive_training``).

Predictions apply the stored model in pure Python (``domain.prediction``): nothing
here imports numpy, so the score function ships without it. With no model,
``prediction_fields`` costs one cached GetItem a minute.
"""

from __future__ import annotations

import base64
import gzip
import json
import logging
import threading
import time
from typing import TYPE_CHECKING, Any

from leadflow.domain.lifecycle import Stage
from leadflow.domain.prediction import Predictor
from leadflow.store import config as store

if TYPE_CHECKING:
    from leadflow.store.models import LeadModel

log = logging.getLogger(__name__)

MODEL_NAME = "predictive_model"
DOCUMENT_KIND = "leadflow.predictive_model/1"
ENCODING = "gzip+base64"
CACHE_SECONDS = 60.0
TOP_FACTORS = 5
RESCORE_LIMIT = 2000

WON_STAGES = frozenset({Stage.CUSTOMER.value})
LOST_STAGES = frozenset({Stage.LOST.value})
LOST_AFTER_SAL = frozenset({Stage.DISQUALIFIED.value, Stage.RECYCLED.value})
CLOSED_STAGES = (Stage.CUSTOMER.value, Stage.LOST.value, Stage.DISQUALIFIED.value, Stage.RECYCLED.value)
OPEN_STAGES = (Stage.LEAD.value, Stage.MQL.value, Stage.SAL.value, Stage.SQL.value,
               Stage.OPPORTUNITY.value, Stage.RECYCLED.value)

# What training reads of each closed lead (a projection: less to transfer and to parse).
TRAINING_ATTRIBUTES = ("lead_id", "stage", "stage_sort", "stages_reached", "source", "campaign", "country",
                       "form_id", "enrichment", "interest_areas", "existing_customer", "key_account",
                       "submissions", "phone", "company", "job_title", "message", "engagement_state",
                       "attributes")
# Feature names of the lead's own fields (raw imported columns keep their names unless they clash).
ENGAGEMENT_PREFIX = "engagement "
ATTRIBUTE_PREFIX = "column "

_lock = threading.Lock()
_pointer: tuple[float, int | None] | None = None  # (monotonic time read, active version)
_models: dict[int, Predictor] = {}  # parsed models by version (the newest two are kept)


# --- outcomes and feature rows ------------------------------------------------------------------

def outcome_of(lead: LeadModel) -> int | None:
    """1 = won, 0 = lost, None = open (not training data)."""
    if lead.stage in WON_STAGES:
        return 1
    if lead.stage in LOST_STAGES:
        return 0
    if lead.stage in LOST_AFTER_SAL and Stage.SAL.value in (lead.stages_reached or []):
        return 0
    return None


def _yes_no(value: bool | None) -> str:
    return "yes" if value else "no"


def _number(value: Any) -> str:
    number = float(value)
    return str(int(number)) if number.is_integer() else f"{number:.2f}"


def feature_row(lead: LeadModel, event_types: tuple[str, ...] = (),
                engagement_state: dict | None = None) -> dict[str, str | None]:
    """One lead as the model sees it: categorical and numeric values as text, None = missing.
    `engagement_state` replaces the lead's stored one (the state a rescore is about to store).

    Never the stage, owner, qualification, opportunity, close reason or score: they describe the
    outcome rather than the lead. Imported historical leads (``attributes`` set) have no contact
    data, engagement or submissions in Leadflow: those are missing for them, not "no" / 0."""
    imported = lead.attributes is not None
    enrichment = lead.enrichment or {}
    row: dict[str, str | None] = {
        "source": lead.source or None,
        "campaign": lead.campaign or None,
        "country": lead.country or None,
        "form_id": lead.form_id or None,
        "email_domain_type": enrichment.get("email_domain_type"),
        "seniority": enrichment.get("seniority"),
        "decision_level": enrichment.get("decision_level"),
        "macro_region": enrichment.get("macro_region"),
        "interest_areas": ",".join(sorted(lead.interest_areas)) if lead.interest_areas else None,
        # imported leads only know True (a mapped "yes"); False may just mean "not in the file"
        "existing_customer": "yes" if lead.existing_customer else (None if imported else "no"),
        "key_account": "yes" if lead.key_account else (None if imported else "no"),
    }
    if not imported:
        row.update({
            "submissions": _number(lead.submissions or 1),
            "has_phone": _yes_no(bool(lead.phone)),
            "has_company": _yes_no(bool(lead.company)),
            "has_job_title": _yes_no(bool(lead.job_title)),
            "has_message": _yes_no(bool(lead.message)),
        })
        state = (lead.engagement_state if engagement_state is None else engagement_state) or {}
        total = 0.0
        for event_type in sorted({*event_types, *state}):
            value = float((state.get(event_type) or [0.0])[0])
            total += value
            row[f"{ENGAGEMENT_PREFIX}{event_type}"] = _number(round(value, 2))
        row[f"{ENGAGEMENT_PREFIX}total"] = _number(round(total, 2))
    for name, value in (lead.attributes or {}).items():
        key = name if name not in row and not name.startswith(ENGAGEMENT_PREFIX) else ATTRIBUTE_PREFIX + name
        row[key] = None if value is None else str(value)
    return row


def _event_types() -> tuple[str, ...]:
    from leadflow.services.rulesets import active_rules

    try:
        return tuple(sorted(active_rules("scoring").engagement.events))
    except Exception:
        log.warning("scoring rules unavailable for predictive features", exc_info=True)
        return ()


def training_rows() -> tuple[list[dict[str, str | None]], list[int], list[str], list[str]]:
    """(feature rows, outcomes, order keys, lead ids) of every closed lead.

    One Query of each by_stage shard per closed stage (DISQUALIFIED and RECYCLED filtered on
    "reached SAL"), paged; a daily batch job, never on a request path."""
    from leadflow.store.lead_lists import closed_leads

    event_types = _event_types()
    rows: list[dict[str, str | None]] = []
    labels: list[int] = []
    order: list[str] = []
    ids: list[str] = []
    for stage in CLOSED_STAGES:
        reached = Stage.SAL.value if stage in LOST_AFTER_SAL else None
        for lead in closed_leads(stage, reached=reached, attributes_to_get=list(TRAINING_ATTRIBUTES)):
            label = outcome_of(lead)
            if label is None:
                continue
            rows.append(feature_row(lead, event_types))
            labels.append(label)
            order.append(lead.stage_sort)
            ids.append(lead.lead_id)
    return rows, labels, order, ids


def outcomes_after(mark: str) -> int:
    """How many outcomes became known after `mark` (a stage_sort value): a Query of the by_stage
    index per closed stage reading only the newer items, so a day without news costs little."""
    from leadflow.store.lead_lists import closed_leads

    count = 0
    for stage in CLOSED_STAGES:
        reached = Stage.SAL.value if stage in LOST_AFTER_SAL else None
        for lead in closed_leads(stage, reached=reached, newer_than=mark,
                                 attributes_to_get=["lead_id", "stage", "stages_reached"]):
            count += outcome_of(lead) is not None
    return count


# --- model storage ------------------------------------------------------------------------------

def decode_model(document: dict[str, Any]) -> Predictor:
    """The stored model, applied in pure Python (leadflow.domain.prediction: no numpy here)."""
    if document.get("encoding") == ENCODING:
        data = json.loads(gzip.decompress(base64.b64decode(document["model"])))
    else:  # plain JSON
        data = document["model"]
    return Predictor.from_dict(data)


def active_model(*, fresh: bool = False) -> tuple[int | None, Predictor | None]:
    """(version, model) of the active predictive model; the pointer is re-read once a minute."""
    global _pointer
    with _lock:
        pointer = _pointer
    if fresh or pointer is None or time.monotonic() - pointer[0] >= CACHE_SECONDS:
        pointer = (time.monotonic(), store.active_version(MODEL_NAME))
        with _lock:
            _pointer = pointer
    version = pointer[1]
    if version is None:
        return None, None
    with _lock:
        model = _models.get(version)
    if model is None:
        item = store.get_version(MODEL_NAME, version)
        if item is None or not item.document:
            return None, None
        model = decode_model(item.document)
        with _lock:
            _models[version] = model
            for old in sorted(_models)[:-2]:
                del _models[old]
    return version, model


def clear_cache() -> None:
    """Forget the cached pointer and models (tests; after publishing in this process)."""
    global _pointer
    with _lock:
        _pointer = None
        _models.clear()


# --- predictions --------------------------------------------------------------------------------

def _prediction(version: int, p: Any) -> dict[str, Any]:
    return {
        "probability": round(float(p.probability), 4),
        "model_version": version,
        "factors": [{"feature": f.feature, "value": f.value, "contribution": round(float(f.contribution), 4)}
                    for f in p.factors],
    }


def predict_lead(lead: LeadModel, *, engagement_state: dict | None = None) -> dict[str, Any] | None:
    """{probability, model_version, factors: [{feature, value, contribution}] (top 5)} from the
    active model, or None when no model is active. Contributions are log-odds against the
    average training lead. `engagement_state`: use this state instead of the stored one."""
    version, model = active_model()
    if model is None or version is None:
        return None
    [p] = model.predict([feature_row(lead, _event_types(), engagement_state)], top=TOP_FACTORS)
    return _prediction(version, p)


def prediction_fields(lead: LeadModel, engagement_state: dict | None = None) -> dict[str, Any]:
    """{"prediction": {...}} to store with a rescore, or {} (no active model, or it failed:
    a prediction must never stop the rule score). Pass the engagement state the rescore is
    about to store (else the lead's stored state is used)."""
    try:
        prediction = predict_lead(lead, engagement_state=engagement_state)
    except Exception:
        log.exception("predictive scoring failed", extra={"lead_id": lead.lead_id})
        return {}
    return {"prediction": prediction} if prediction is not None else {}


def rescore_predictions(limit: int = RESCORE_LIMIT) -> dict[str, Any]:
    """Store the active model's prediction on up to `limit` open leads, newest first per stage.

    Each write is conditional on the lead's version (a concurrent change wins; its own rescore
    stores the prediction then). Returns {model_version, rescored, skipped}."""
    from leadflow.domain.errors import ConcurrentUpdate
    from leadflow.store import leads as repo
    from leadflow.store.lead_lists import in_stage

    version, model = active_model(fresh=True)
    result = {"model_version": version, "rescored": 0, "skipped": 0}
    if model is None or version is None:
        return result
    event_types = _event_types()
    remaining = limit
    for stage in OPEN_STAGES:
        if remaining <= 0:
            break
        batch = list(in_stage(stage, newest_first=True, limit=remaining))
        remaining -= len(batch)
        for start in range(0, len(batch), 200):
            chunk = batch[start:start + 200]
            predictions = model.predict([feature_row(lead, event_types) for lead in chunk], top=TOP_FACTORS)
            for lead, p in zip(chunk, predictions):
                try:
                    repo.apply_engagement(lead, set_fields={"prediction": _prediction(version, p)}, event=None)
                    result["rescored"] += 1
                except ConcurrentUpdate:
                    result["skipped"] += 1
    return result
