"""Apply a stored predictive model to leads, in pure Python (no numpy).

Training (``leadflow.domain.predictive``, numpy) writes ``Model.to_dict()``; this module reads the
same dict and computes the same probability and factors, one lead at a time, with ``math`` only.
The score function applies the model to one lead per message: numpy (~44 MB with OpenBLAS) would
put its artifact over Lambda's 50 MB and cost cold-start time for a few hundred multiply-adds.
It lives outside the ``predictive`` package because that package's ``__init__`` imports the
numpy training code, and importing a submodule runs the package's ``__init__`` first.

How values are read (missing tokens, level matching, number parsing, how a value is shown to a
rep) is defined here once and used by the encoder of the training code too.
"""

from __future__ import annotations

import math
import re
from bisect import bisect_right
from dataclasses import dataclass
from typing import Any

FORMAT = "leadflow.predictive/1"
CATEGORICAL = "categorical"
NUMERIC = "numeric"

MISSING_TOKENS = frozenset({"", "na", "n/a", "nan", "null", "none", "nil"})
MISSING_LEVEL = "(missing)"
OTHER_LEVEL = "(other)"
# keys of the special levels: level_key() never yields a leading NUL, so no real value collides
MISSING_KEY = "\x00missing"
OTHER_KEY = "\x00other"

THOUSANDS = re.compile(r"[-+]?\d{1,3}(,\d{3})+(\.\d+)?")


# -- reading values (shared with the training encoder) ---------------------------------------------

def is_missing(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return str(value).strip().casefold() in MISSING_TOKENS


def level_key(value: object) -> str:
    """How categorical values are matched: case and runs of white space do not count."""
    return " ".join(str(value).replace("\x00", "").split()).casefold()


def parse_number(value: object) -> float | None:
    """A finite float, or None when the value is missing or not a number."""
    if value is None:
        return None
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)):
        out = float(value)
        return out if math.isfinite(out) else None
    text = str(value).strip().replace("_", "")
    if not text or text.casefold() in MISSING_TOKENS:
        return None
    try:
        out = float(text)
    except ValueError:
        # "$1,200", "12.5%", "-3,000.50": a currency sign, a percent sign, thousands separators
        bare = text.lstrip("$€£").rstrip("%").strip()
        if THOUSANDS.fullmatch(bare):
            bare = bare.replace(",", "")
        try:
            out = float(bare)
        except ValueError:
            return None
    return out if math.isfinite(out) else None


def fmt(x: float) -> str:
    if x == math.inf:
        return "inf"
    if x == -math.inf:
        return "-inf"
    if float(x).is_integer():
        return str(int(x))
    return f"{x:.4g}"


def describe(kind: str, levels: list[str], keys: list[str], value: object) -> str:
    """The value as a sales rep should read it in a factor."""
    if is_missing(value):
        return MISSING_LEVEL
    if kind == CATEGORICAL:
        key = level_key(value)
        if key in keys:
            return levels[keys.index(key)]
        return f"{' '.join(str(value).split())} {OTHER_LEVEL}" if OTHER_KEY in keys else str(value)
    num = parse_number(value)
    return MISSING_LEVEL if num is None else fmt(num)


@dataclass(frozen=True)
class Factor:
    feature: str  # input column
    value: str  # the lead's value as shown to a rep
    contribution: float  # log-odds, against the average training lead


@dataclass(frozen=True)
class Prediction:
    probability: float
    logit: float
    intercept: float
    factors: list[Factor]


def sigmoid(z: float) -> float:
    return 0.5 * (1.0 + math.tanh(0.5 * z))  # the formula training uses (logistic.sigmoid)


# -- the stored model, applied ----------------------------------------------------------------------

class _Column:
    """One input column of the encoder: its indicators/terms (logistic part) and its tree code."""

    def __init__(self, d: dict[str, Any], coef: list[float]) -> None:
        self.name: str = d["name"]
        self.kind: str = d["kind"]
        self.levels: list[str] = list(d.get("levels", []))
        self.keys: list[str] = list(d.get("keys", []))
        if self.kind == CATEGORICAL:
            self.width = len(self.levels)
            self.index = {k: i for i, k in enumerate(self.keys)}
            none = len(self.levels)
            self.other_at = self.index.get(OTHER_KEY, none)
            self.missing_at = self.index.get(MISSING_KEY, self.other_at)
        else:
            self.median = float(d["median"])
            self.clip_low, self.clip_high = (float(v) for v in d["clip"])
            self.log_mean, self.log_sd = float(d["log_mean"]), float(d["log_sd"])
            self.edges = [float(e) for e in d["edges"]]
            self.has_missing = bool(d["has_missing"])
            self.tree_edges = [float(e) for e in d.get("tree_edges", [])]
            self.width = 1 + (len(self.edges) + 1 if self.edges else 0) + (1 if self.has_missing else 0)
        self.coef = coef  # this column's slice of the logistic coefficients

    def apply(self, value: object) -> tuple[float, int]:
        """(this column's part of the logistic margin, its tree code) for one raw value."""
        if self.kind == CATEGORICAL:
            code = self.missing_at if is_missing(value) else self.index.get(level_key(value), self.other_at)
            return (self.coef[code] if code < self.width else 0.0), code
        parsed = None if is_missing(value) else parse_number(value)
        num = min(max(self.median if parsed is None else parsed, self.clip_low), self.clip_high)
        term = (math.copysign(math.log1p(abs(num)), num) - self.log_mean) / self.log_sd
        margin = term * self.coef[0]
        j = 1
        if self.edges:
            if parsed is not None:
                margin += self.coef[j + bisect_right(self.edges, num)]
            j += len(self.edges) + 1
        if self.has_missing and parsed is None:
            margin += self.coef[j]
        code = 0 if parsed is None else 1 + bisect_right(self.tree_edges, parsed)
        return margin, code

    def describe(self, value: object) -> str:
        return describe(self.kind, self.levels, self.keys, value)


class _Tree:
    def __init__(self, d: dict[str, Any], categorical: list[bool]) -> None:
        self.feature = [int(f) for f in d["feature"]]
        self.left = [int(i) for i in d["left"]]
        self.right = [int(i) for i in d["right"]]
        self.value = [float(v) for v in d["value"]]
        self.threshold = [int(t) for t in d["threshold"]]
        self.missing_left = [bool(b) for b in d["missing_left"]]
        self.left_codes = [None if c is None else frozenset(int(x) for x in c) for c in d["left_codes"]]
        self.categorical = categorical

    def walk(self, codes: list[int], contrib: list[float]) -> float:
        """The leaf value for these codes; each split's change of value is credited to its column."""
        node = 0
        while (f := self.feature[node]) >= 0:
            code = codes[f]
            if self.categorical[f]:
                left = code in self.left_codes[node]
            else:
                left = self.missing_left[node] if code == 0 else code <= self.threshold[node]
            child = self.left[node] if left else self.right[node]
            contrib[f] += self.value[child] - self.value[node]
            node = child
        return self.value[node]


class Predictor:
    """A stored model (``Model.to_dict()``) applied lead by lead, with the same results as
    ``Model.predict`` / ``Model.predict_proba`` (up to float rounding)."""

    def __init__(self, d: dict[str, Any]) -> None:
        if d.get("format") != FORMAT:
            raise ValueError(f"not a {FORMAT} model (format={d.get('format')!r})")
        coef = [float(v) for v in d["logistic"]["coef"]]
        self.columns: list[_Column] = []
        start = 0
        for c in d["encoder"]["columns"]:
            column = _Column(c, [])
            column.coef = coef[start:start + column.width]
            start += column.width
            self.columns.append(column)
        self.intercept = float(d["logistic"]["intercept"])
        trees = d.get("trees")
        self.tree_base = 0.0 if trees is None else float(trees["base"])
        categorical = [] if trees is None else [bool(c) for c in trees["categorical"]]
        self.trees = None if trees is None else [_Tree(t, categorical) for t in trees["trees"]]
        self.blend = float(d["blend"])
        self.calib_a, self.calib_b = float(d["calibration"]["a"]), float(d["calibration"]["b"])
        self.center = None if d.get("center") is None else [float(v) for v in d["center"]]
        self.metadata: dict = dict(d.get("metadata") or {})

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Predictor:
        return cls(d)

    def _raw(self, row: dict) -> tuple[float, float, list[float]]:
        """(logit, base, contribution per column) of one row, as Model._raw computes them."""
        n = len(self.columns)
        lr_c, codes = [0.0] * n, [0] * n
        for j, column in enumerate(self.columns):
            lr_c[j], codes[j] = column.apply(row.get(column.name))
        lr_margin = self.intercept + math.fsum(lr_c)
        tree_c = [0.0] * n
        tree_margin = tree_bias = self.tree_base
        if self.trees and self.blend < 1.0:
            tree_margin += math.fsum(t.walk(codes, tree_c) for t in self.trees)
            tree_bias += math.fsum(t.value[0] for t in self.trees)
        a, w = self.calib_a, self.blend
        logit = a * (w * lr_margin + (1 - w) * tree_margin) + self.calib_b
        contrib = [a * (w * lc + (1 - w) * tc) for lc, tc in zip(lr_c, tree_c)]
        base = a * (w * self.intercept + (1 - w) * tree_bias) + self.calib_b
        return logit, base, contrib

    def predict_proba(self, rows: list[dict]) -> list[float]:
        return [sigmoid(self._raw(row)[0]) for row in rows]

    def predict(self, rows: list[dict], top: int | None = 5) -> list[Prediction]:
        """Probability per row with its ``top`` factors by absolute contribution (all when None)."""
        center = self.center or [0.0] * len(self.columns)
        out = []
        for row in rows:
            logit, base, contrib = self._raw(row)
            c = [v - m for v, m in zip(contrib, center)]
            order = sorted(range(len(c)), key=lambda j: -abs(c[j]))  # stable, as the mergesort
            if top is not None:
                order = order[:top]
            columns = [self.columns[j] for j in order]
            factors = [Factor(feature=col.name, value=col.describe(row.get(col.name)), contribution=c[j])
                       for j, col in zip(order, columns)]
            out.append(Prediction(probability=sigmoid(logit), logit=logit, intercept=base + math.fsum(center),
                                  factors=factors))
        return out
