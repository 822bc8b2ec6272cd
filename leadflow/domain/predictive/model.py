"""Predictive lead scoring: training, prediction with factors, serialisation.

The model is a blend of two learners over the same generically inferred
columns (see ``features``):

* an L2-regularised logistic regression on one-hot levels (rare levels
  pooled), quantile-bin indicators and a log term per numeric column and
  missing indicators;
* a small gradient-boosted tree ensemble on integer codes of the same
  columns (see ``gbm``).

Hyper-parameters are chosen by time-ordered validation inside the training
rows (they must be passed oldest first): the newest ``validation_fraction``
is held out, the regularisation strength, the recency weighting, the number
of trees and the blend weight are picked on it, a Platt scaling is fitted
on it, and then both learners are refitted on all rows.

Each prediction decomposes exactly: ``logit = intercept + sum(contribution
per input column)``, contributions measured against the average training
lead. ``Model.to_dict()`` is plain JSON (lists and numbers).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from leadflow.domain.prediction import FORMAT, Factor, Prediction  # what scoring returns, numpy or not

from .features import CATEGORICAL, Encoder, EncoderOptions, fit_encoder
from .gbm import TreeEnsemble, TreeOptions, fit_trees
from .labels import PredictiveDataError, chronological_order, jsonable_order_value
from .logistic import fit_logistic, sigmoid
from .metrics import log_loss, roc_auc

if TYPE_CHECKING:
    from leadflow.domain.prediction import Predictor


@dataclass
class TrainOptions:
    exclude: frozenset[str] = frozenset()  # columns never used as features (id, order, label, ...)
    lambdas: tuple[float, ...] = (1.0, 3.0, 10.0, 30.0, 100.0, 300.0)  # L2 strengths tried
    half_lives: tuple[float | None, ...] = (None, 0.5, 0.25)  # recency half-life, share of training rows
    blend_weights: tuple[float, ...] = (0.0, 0.25, 0.5, 0.75, 1.0)  # weight of the logistic part
    validation_fraction: float = 0.2  # newest share of the training rows used to choose the above
    min_validation: int = 100  # fewer validation rows (or one class only): use the defaults below
    default_lambda: float = 10.0
    default_half_life: float | None = None
    default_blend: float = 1.0  # logistic only when nothing can be validated
    use_trees: bool = True
    trees: TreeOptions = field(default_factory=TreeOptions)
    encoder: EncoderOptions = field(default_factory=EncoderOptions)
    progress: Callable[[str], None] | None = None


def _recency_weights(n: int, half_life: float | None) -> np.ndarray:
    if half_life is None or n == 0:
        return np.ones(n)
    hl = max(half_life * n, 1.0)
    w = 0.5 ** ((n - 1 - np.arange(n)) / hl)
    return w * (n / w.sum())


def _prior_logit(y: np.ndarray, w: np.ndarray) -> float:
    p = float(np.clip((w @ y) / w.sum(), 1e-4, 1 - 1e-4))
    return math.log(p / (1 - p))


def _safe_auc(y: np.ndarray, s: np.ndarray) -> float:
    try:
        return roc_auc(y, s)
    except ValueError:
        return float("nan")


@dataclass
class Model:
    encoder: Encoder
    intercept: float  # logistic part
    coef: np.ndarray
    trees: TreeEnsemble | None
    tree_base: float
    blend: float  # weight of the logistic part
    calib_a: float = 1.0
    calib_b: float = 0.0
    center: np.ndarray | None = None  # mean raw contribution per column on the training rows
    metadata: dict = field(default_factory=dict)

    # -- scoring ------------------------------------------------------------
    def _raw(self, rows: list[dict], contributions: bool):
        use_trees = self.trees is not None and bool(self.trees.trees) and self.blend < 1.0
        X, codes = self.encoder.encode(rows, trees=use_trees)
        n = len(rows)
        lr_margin = self.intercept + X @ self.coef
        tree_margin = np.full(n, self.tree_base)
        if contributions:
            lr_c = np.zeros((n, len(self.encoder.columns)))
            for j, sl in enumerate(self.encoder.slices()):
                lr_c[:, j] = X[:, sl] @ self.coef[sl]
            tree_c = np.zeros_like(lr_c)
            tree_bias = self.tree_base
        if use_trees:
            if contributions:
                m, bias, tree_c = self.trees.margin(codes, contributions=True)
                tree_bias = self.tree_base + bias
            else:
                m = self.trees.margin(codes)
            tree_margin = tree_margin + m
        logit = self.calib_a * (self.blend * lr_margin + (1 - self.blend) * tree_margin) + self.calib_b
        if not contributions:
            return logit
        a, w = self.calib_a, self.blend
        contrib = a * (w * lr_c + (1 - w) * tree_c)
        base = a * (w * self.intercept + (1 - w) * tree_bias) + self.calib_b
        return logit, base, contrib

    def predict_proba(self, rows: list[dict]) -> np.ndarray:
        """Probabilities only (the fast path for batch scoring and backtests)."""
        return sigmoid(self._raw(rows, contributions=False))

    def predict(self, rows: list[dict], top: int | None = 5) -> list[Prediction]:
        """Probability per row with its ``top`` factors by absolute contribution (all when None).

        ``intercept + sum(all contributions) == logit`` holds exactly (up to float rounding).
        """
        if not rows:
            return []
        logit, base, contrib = self._raw(rows, contributions=True)
        center = self.center if self.center is not None else np.zeros(contrib.shape[1])
        contrib = contrib - center
        intercept = base + float(center.sum())
        out = []
        cols = self.encoder.columns
        for i, row in enumerate(rows):
            c = contrib[i]
            order = np.argsort(-np.abs(c), kind="mergesort")
            if top is not None:
                order = order[:top]
            factors = [
                Factor(
                    feature=cols[j].name,
                    value=cols[j].describe(row.get(cols[j].name)),
                    contribution=float(c[j]),
                )
                for j in order
            ]
            z = float(logit[i])
            out.append(
                Prediction(
                    probability=float(sigmoid(np.array(z))), logit=z, intercept=intercept, factors=factors
                )
            )
        return out

    # -- serialisation -------------------------------------------------------
    def to_dict(self) -> dict:
        return {
            "format": FORMAT,
            "encoder": self.encoder.to_dict(),
            "logistic": {"intercept": float(self.intercept), "coef": [float(v) for v in self.coef]},
            "trees": None if self.trees is None else {**self.trees.to_dict(), "base": float(self.tree_base)},
            "blend": float(self.blend),
            "calibration": {"a": float(self.calib_a), "b": float(self.calib_b)},
            "center": None if self.center is None else [float(v) for v in self.center],
            "metadata": _jsonable(self.metadata),
        }

    @classmethod
    def from_dict(cls, d: dict) -> Model:
        if d.get("format") != FORMAT:
            raise ValueError(f"not a {FORMAT} model (format={d.get('format')!r})")
        trees = d.get("trees")
        return cls(
            encoder=Encoder.from_dict(d["encoder"]),
            intercept=float(d["logistic"]["intercept"]),
            coef=np.asarray(d["logistic"]["coef"], dtype=float),
            trees=None if trees is None else TreeEnsemble.from_dict(trees),
            tree_base=0.0 if trees is None else float(trees["base"]),
            blend=float(d["blend"]),
            calib_a=float(d["calibration"]["a"]),
            calib_b=float(d["calibration"]["b"]),
            center=None if d.get("center") is None else np.asarray(d["center"], dtype=float),
            metadata=dict(d.get("metadata") or {}),
        )


def _jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


# -- training -----------------------------------------------------------------


def _check_labels(labels: Sequence) -> np.ndarray:
    y = np.asarray([int(v) for v in labels], dtype=float)
    if y.size and not np.isin(y, (0.0, 1.0)).all():
        raise PredictiveDataError("labels must be 0/1 (map them with binary_labels first)", field="label")
    return y


def train(rows: list[dict], labels: Sequence[int], options: TrainOptions | None = None) -> Model:
    """Fit a model on ``rows`` (oldest first) with outcomes ``labels`` (1 = won, 0 = lost)."""
    opts = options or TrainOptions()
    say = opts.progress or (lambda _msg: None)
    started = time.perf_counter()
    if len(rows) != len(labels):
        raise ValueError("rows and labels differ in length")
    y = _check_labels(labels)
    n = len(rows)
    if n < 2 or y.min() == y.max():
        raise PredictiveDataError("training needs at least one won and one lost lead", field="label")

    encoder = fit_encoder(rows, exclude=opts.exclude, options=opts.encoder)
    say(
        f"features: {len(encoder.columns)} columns -> {encoder.width} encoded, dropped {len(encoder.dropped)}"
    )
    X, codes = encoder.encode(rows, trees=opts.use_trees)
    n_codes = encoder.n_tree_codes()
    categorical = [c.kind == CATEGORICAL for c in encoder.columns]

    n_val = round(n * opts.validation_fraction)
    cut = n - n_val
    y_in, y_val = y[:cut], y[cut:]
    can_validate = (
        n_val >= opts.min_validation
        and cut >= opts.min_validation
        and 0 < y_in.sum() < cut
        and 0 < y_val.sum() < n_val
    )

    lam, half_life, blend, n_trees = opts.default_lambda, opts.default_half_life, opts.default_blend, 0
    calib_a, calib_b = 1.0, 0.0
    validation: dict = {}
    if can_validate:
        # 1. logistic part: L2 strength x recency half-life on the newest rows of the training part
        best = (-np.inf, lam, half_life, None)
        for hl in opts.half_lives:
            w_in = _recency_weights(cut, hl)
            init = None
            for lm in sorted(opts.lambdas, reverse=True):  # strong to weak: warm starts converge fast
                init = fit_logistic(X[:cut], y_in, lm, sample_weight=w_in, init=init)
                margin = init[0] + X[cut:] @ init[1]
                auc = _safe_auc(y_val, margin)
                if auc > best[0] + 1e-6:
                    best = (auc, lm, hl, margin)
        val_auc_lr, lam, half_life, lr_val = best
        say(f"validation: logistic L2={lam:g} half-life={half_life} AUC={val_auc_lr:.4f}")
        blend_margin = lr_val
        blend = 1.0
        if opts.use_trees and opts.trees.max_trees > 0:
            # 2. trees, early-stopped on the same rows, then the blend weight
            w_in = _recency_weights(cut, half_life)
            base = _prior_logit(y_in, w_in)
            ens, n_trees = fit_trees(
                codes[:cut], y_in, n_codes, categorical, opts.trees, w_in, base, valid=(codes[cut:], y_val)
            )
            tree_val = base + ens.margin(codes[cut:])
            say(f"validation: trees n={n_trees} AUC={_safe_auc(y_val, tree_val):.4f}")
            best_b = (-np.inf, 1.0)
            # logistic-heavy first: on a tie the simpler blend wins; no useful tree -> logistic only
            for bw in sorted(opts.blend_weights, reverse=True) if n_trees > 0 else [1.0]:
                auc = _safe_auc(y_val, bw * lr_val + (1 - bw) * tree_val)
                if auc > best_b[0] + 1e-6:
                    best_b = (auc, bw)
            blend = best_b[1]
            blend_margin = blend * lr_val + (1 - blend) * tree_val
            say(f"validation: blend weight of logistic={blend:g} AUC={best_b[0]:.4f}")
        # 3. Platt scaling of the blended margin on the validation rows
        ab = fit_logistic(blend_margin[:, None], y_val, 1e-3)
        calib_b, calib_a = ab[0], float(ab[1][0])
        if not (0.05 < calib_a < 20.0):  # degenerate fit: keep the model's own scale
            calib_a, calib_b = 1.0, 0.0
        p_val = sigmoid(calib_a * blend_margin + calib_b)
        validation = {
            "rows": int(n_val),
            "auc": _safe_auc(y_val, p_val),
            "log_loss": log_loss(y_val, p_val),
            "auc_logistic": val_auc_lr,
        }
    else:
        say("validation: too few rows or one outcome only in the newest part; using default settings")

    # 4. refit on all rows with the chosen settings
    w_all = _recency_weights(n, half_life)
    intercept, coef = fit_logistic(X, y, lam, sample_weight=w_all)
    trees, tree_base = None, 0.0
    if opts.use_trees and blend < 1.0 and n_trees > 0:
        tree_base = _prior_logit(y, w_all)
        trees, _ = fit_trees(codes, y, n_codes, categorical, opts.trees, w_all, tree_base, n_trees=n_trees)
    model = Model(
        encoder=encoder,
        intercept=intercept,
        coef=coef,
        trees=trees,
        tree_base=tree_base,
        blend=blend,
        calib_a=calib_a,
        calib_b=calib_b,
    )
    _, _, contrib = model._raw(rows, contributions=True)
    model.center = contrib.mean(axis=0)
    elapsed = time.perf_counter() - started
    model.metadata = {
        "trained_rows": n,
        "positive_rate": float(y.mean()),
        "l2": lam,
        "half_life": half_life,
        "trees": n_trees if trees is not None else 0,
        "blend_logistic": blend,
        "validation": validation,
        "dropped_columns": dict(encoder.dropped),
        "train_seconds": round(elapsed, 3),
    }
    say(f"trained on {n} rows in {elapsed:.2f}s")
    return model


# -- the scheduled train function's entry point --------------------------------------


@dataclass
class TrainingOutcome:
    model: Model | None  # the model to store (refitted on all rows when refit=True); None = nothing trained
    candidate_metrics: dict | None  # of the model trained without the newest outcomes, on them
    active_metrics: dict | None  # of the active model on the same rows
    accepted: bool  # store and activate the new version?
    reason: str


def evaluate(model: Model | Predictor, rows: list[dict], labels: Sequence[int]) -> dict:
    y = _check_labels(labels)
    p = model.predict_proba(rows)
    return {"rows": len(rows), "auc": _safe_auc(y, p), "log_loss": log_loss(y, p) if len(y) else float("nan")}


def fit_and_validate(
    rows: list[dict],
    labels: Sequence[int | None],
    order: Sequence[object],
    active: Model | Predictor | None = None,
    options: TrainOptions | None = None,
    validation_fraction: float = 0.2,
    tolerance: float = 0.0,
    refit: bool = True,
) -> TrainingOutcome:
    """Train on older outcomes, validate on the newest, compare with the active model.

    ``order`` gives each row's time (close date, lead number, ...); rows with a
    missing label (lead not closed yet) are ignored. The newest
    ``validation_fraction`` of the outcomes is held out; a candidate is trained
    on the rest and evaluated there. It is accepted when its validation AUC is
    at least the active model's minus ``tolerance`` (always when there is no
    active model).

    The active model must not be judged on outcomes it was trained on: when it
    records ``metadata["trained_through"]`` (set here), only outcomes after
    that mark are used for validation, and when fewer than
    ``options.min_validation`` such outcomes exist nothing is trained
    (``model=None``, not accepted: no new evidence since the active version).

    Accepted or not, the returned model is refitted on all outcomes when
    ``refit`` (the validation numbers describe its twin trained without the
    newest outcomes). ``model.metadata`` records the hold-out comparison.
    """
    opts = options or TrainOptions()
    if not (len(rows) == len(labels) == len(order)):
        raise ValueError("rows, labels and order differ in length")
    keep = [i for i in chronological_order(list(order)) if labels[i] is not None]
    rows_s = [rows[i] for i in keep]
    y_s = [int(labels[i]) for i in keep]
    order_s = [order[i] for i in keep]
    n = len(rows_s)
    n_val = max(round(n * validation_fraction), 1)
    cut = n - n_val
    through = active.metadata.get("trained_through") if active is not None else None
    if through is not None:
        n_newer = _count_after(order_s, through)
        if n_newer < opts.min_validation:
            return TrainingOutcome(
                model=None,
                candidate_metrics=None,
                active_metrics=None,
                accepted=False,
                reason=f"only {n_newer} outcomes after the active model's training mark {through!r} "
                f"(need {opts.min_validation}); keeping the active model",
            )
        cut = max(cut, n - n_newer)
    if cut < 2:
        raise PredictiveDataError("too few outcomes to train and validate", field="label")
    train_rows, train_y = rows_s[:cut], y_s[:cut]
    val_rows, val_y = rows_s[cut:], y_s[cut:]
    candidate = train(train_rows, train_y, opts)
    cand_m = evaluate(candidate, val_rows, val_y)
    act_m = evaluate(active, val_rows, val_y) if active is not None else None
    if act_m is None:
        accepted, reason = True, "no active model"
    elif math.isnan(cand_m["auc"]):
        accepted, reason = False, "validation rows hold one outcome only"
    elif math.isnan(act_m["auc"]) or cand_m["auc"] >= act_m["auc"] - tolerance:
        accepted, reason = True, f"validation AUC {cand_m['auc']:.4f} >= active {act_m['auc']:.4f}"
    else:
        accepted, reason = False, f"validation AUC {cand_m['auc']:.4f} < active {act_m['auc']:.4f}"
    model = train(rows_s, y_s, opts) if refit else candidate
    trained_order = order_s if refit else order_s[:cut]
    model.metadata["trained_through"] = jsonable_order_value(trained_order[-1]) if trained_order else None
    model.metadata["holdout"] = {"candidate": cand_m, "active": act_m, "accepted": accepted, "reason": reason}
    return TrainingOutcome(
        model=model, candidate_metrics=cand_m, active_metrics=act_m, accepted=accepted, reason=reason
    )


def _count_after(order_sorted: list[object], mark: object) -> int:
    """How many of the (chronologically sorted) order values lie strictly after ``mark``."""
    idx = chronological_order([*order_sorted, mark])
    pos = idx.index(len(order_sorted))
    # ties with the mark sort before it (stable sort, mark appended last): they count as seen
    return len(idx) - pos - 1
