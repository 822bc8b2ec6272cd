"""The daily training of the predictive model (numpy; only the train function ships it).

``train_and_maybe_activate(now)`` reads the outcomes (``services.predictive.training_rows``),
fits and validates on the newest ones (``domain.predictive.fit_and_validate``), and stores and
activates a new model version only if it is not worse than the active one on those outcomes.
The model JSON is stored gzip+base64 inside the document; if the item would still exceed
``MAX_DOCUMENT_BYTES`` the logistic-only model (about 10 KB) is trained and validated instead.

Kept apart from ``services.predictive`` so that scoring (the score function) never reaches
numpy: the build follows every import, also those inside functions.
"""

from __future__ import annotations

import base64
import gzip
import json
import logging
import math
import os
import time
from datetime import datetime
from typing import TYPE_CHECKING, Any

from leadflow.services.predictive import (
    DOCUMENT_KIND,
    ENCODING,
    MODEL_NAME,
    active_model,
    clear_cache,
    outcomes_after,
    training_rows,
)
from leadflow.store import config as store

if TYPE_CHECKING:
    from leadflow.domain.predictive import Model

log = logging.getLogger(__name__)

ACTOR = "system:train"
# DynamoDB items hold at most 400 KB; keep headroom for the other attributes.
MAX_DOCUMENT_BYTES = 350_000
MIN_OUTCOMES = 200  # fewer closed leads: nothing to learn from yet


def _threads() -> None:
    # small matrices: BLAS threads only spin against each other (see docs/predictive-scoring.md)
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")


def encode_model(model: Model) -> tuple[str, int]:
    """(gzip+base64 of the model JSON, size of the JSON in bytes)."""
    raw = json.dumps(model.to_dict(), separators=(",", ":")).encode()
    return base64.b64encode(gzip.compress(raw, compresslevel=9, mtime=0)).decode("ascii"), len(raw)


def _document(model: Model, *, now: datetime, summary: dict[str, Any]) -> dict[str, Any]:
    encoded, json_bytes = encode_model(model)
    meta = model.metadata
    return {
        "kind": DOCUMENT_KIND,
        "encoding": ENCODING,
        "model": encoded,
        "trees": bool(meta.get("trees")),
        "trained_at": now.isoformat(),
        "trained_through": meta.get("trained_through"),
        "train_seconds": summary["train_seconds"],
        "outcomes": summary["outcomes"],
        "won": summary["won"],
        "lost": summary["lost"],
        "validation": summary["validation"],
        "active_validation": summary["active_validation"],
        "previous_version": summary["previous_version"],
        "reason": summary["reason"],
        "settings": {k: meta.get(k) for k in ("l2", "half_life", "trees", "blend_logistic")},
        "dropped_columns": meta.get("dropped_columns") or {},
        "size": {"json_bytes": json_bytes, "stored_bytes": len(encoded)},
    }


def _document_bytes(document: dict[str, Any]) -> int:
    return len(json.dumps(document, separators=(",", ":")).encode())


# --- training -----------------------------------------------------------------------------------

def _clean_metrics(metrics: dict[str, Any] | None) -> dict[str, Any] | None:
    if metrics is None:
        return None
    out: dict[str, Any] = {}
    for key, value in metrics.items():
        if isinstance(value, float):
            value = None if not math.isfinite(value) else round(value, 5)
        out[key] = value
    return out


def train_and_maybe_activate(now: datetime, *, tolerance: float = 0.0) -> dict[str, Any]:
    """Fit on every outcome, validate on the newest, store and activate if not worse.

    Returns a summary (what the train function logs): trained, activated, version, reason,
    outcomes/won/lost, validation (the candidate's AUC, log loss, rows on the newest outcomes),
    active_validation (the active model on the same rows), train_seconds, size."""
    _threads()
    from leadflow.domain.predictive import PredictiveDataError, TrainOptions, fit_and_validate

    previous_version, active = active_model(fresh=True)
    summary: dict[str, Any] = {
        "trained": False, "activated": False, "version": previous_version, "previous_version": previous_version,
        "outcomes": None, "won": None, "lost": None, "read_seconds": 0.0, "train_seconds": 0.0,
        "validation": None, "active_validation": None, "trees": None, "size": None, "reason": "",
    }
    mark = active.metadata.get("trained_through") if active is not None else None
    needed = TrainOptions().min_validation
    if isinstance(mark, str) and (newer := outcomes_after(mark)) < needed:
        # the same rule fit_and_validate applies, without reading every outcome first
        summary["reason"] = (f"only {newer} outcomes after the active model's training mark {mark!r} "
                             f"(need {needed}); keeping the active model")
        return summary
    started = time.perf_counter()
    rows, labels, order, _ids = training_rows()
    won = sum(labels)
    summary.update(outcomes=len(labels), won=won, lost=len(labels) - won,
                   read_seconds=round(time.perf_counter() - started, 3))
    if len(labels) < MIN_OUTCOMES or won == 0 or won == len(labels):
        summary["reason"] = (f"{len(labels)} outcomes ({won} won, {len(labels) - won} lost): need at least "
                             f"{MIN_OUTCOMES} with both won and lost leads")
        return summary

    def fit(use_trees: bool):
        t0 = time.perf_counter()
        outcome = fit_and_validate(rows, labels, order, active=active, tolerance=tolerance,
                                   options=TrainOptions(use_trees=use_trees))
        return outcome, time.perf_counter() - t0

    try:
        outcome, seconds = fit(use_trees=True)
    except PredictiveDataError as exc:
        summary["reason"] = exc.message
        return summary
    summary.update(train_seconds=round(seconds, 3), reason=outcome.reason,
                   validation=_clean_metrics(outcome.candidate_metrics),
                   active_validation=_clean_metrics(outcome.active_metrics))
    if outcome.model is None:  # no new outcomes since the active model
        return summary
    summary["trained"] = True
    if not outcome.accepted:
        return summary
    model = outcome.model
    document = _document(model, now=now, summary=summary)
    if _document_bytes(document) > MAX_DOCUMENT_BYTES:
        log.warning("predictive model too large for one item; training the logistic-only model",
                    extra={"bytes": _document_bytes(document)})
        outcome, seconds = fit(use_trees=False)
        summary.update(train_seconds=round(summary["train_seconds"] + seconds, 3), reason=outcome.reason,
                       validation=_clean_metrics(outcome.candidate_metrics),
                       active_validation=_clean_metrics(outcome.active_metrics))
        if outcome.model is None or not outcome.accepted:
            return summary
        model = outcome.model
        document = _document(model, now=now, summary=summary)
        if _document_bytes(document) > MAX_DOCUMENT_BYTES:
            summary["reason"] = (f"even the logistic-only model takes {_document_bytes(document)} bytes "
                                 f"(limit {MAX_DOCUMENT_BYTES}); not stored")
            return summary
    val = summary["validation"] or {}
    comment = (f"validation AUC {val.get('auc')} on the {val.get('rows')} newest of {len(labels)} outcomes; "
               f"{outcome.reason}")
    version = store.publish(MODEL_NAME, document, author=ACTOR, at=now, comment=comment[:500])
    clear_cache()
    summary.update(activated=True, version=version, trees=document["trees"], size=document["size"])
    return summary


