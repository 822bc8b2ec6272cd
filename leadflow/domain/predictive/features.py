"""Generic feature inference and encoding for predictive scoring.

Rows are plain ``dict[str, str | None]`` (a CSV row, a DynamoDB item flattened
to strings). Nothing here knows a column name: each column's kind is inferred
from the training rows.

* **dropped** - constant or always-missing columns; id-like columns (most
  values distinct: ids, e-mails, free text; or a sequence of distinct
  integers); date/time columns; numeric columns that track the row order (a
  running lead number only tells the model "when", and in a time-ordered split
  every new lead lies outside the range seen in training).
* **categorical** - one indicator per level. Levels are matched after
  folding case and white space (``"google"`` and ``"Google "`` are one
  level). Levels seen fewer than ``min_level_count`` times are pooled into
  ``(other)``, which also receives levels never seen in training. A missing
  value is its own level ``(missing)``: missingness is informative. Form
  placeholders such as ``"Select"`` are simply levels; the model learns what
  they mean.
* **numeric** - a column whose non-missing values (nearly) all parse as
  numbers. Encoded as a standardised signed ``log1p`` term (clipped to the
  training range), one indicator per quantile bin (the model can learn any
  shape) and a missing indicator.

The encoder is fitted without labels, so fitting it on all training rows
leaks nothing into validation; it serialises to a dict of lists/numbers.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field
from itertools import pairwise

import numpy as np

from leadflow.domain.prediction import (  # how values are read: one place, shared with the scorer
    CATEGORICAL,
    MISSING_KEY,
    MISSING_LEVEL,
    NUMERIC,
    OTHER_KEY,
    OTHER_LEVEL,
    describe,
    is_missing,
    level_key,
    parse_number,
)
from leadflow.domain.prediction import fmt as _fmt

# 2024-01-31, 31/01/2024, 1.31.24, optionally followed by a time
DATE_LIKE = re.compile(r"^\s*(\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4})([ T]\S.*)?\s*$")


def signed_log1p(x: np.ndarray) -> np.ndarray:
    return np.sign(x) * np.log1p(np.abs(x))


@dataclass
class EncoderOptions:
    min_level_count: int = 10  # rarer levels are pooled into (other)
    n_bins: int = 10  # quantile bins per numeric column (logistic part)
    n_tree_bins: int = 32  # quantile bins per numeric column (trees)
    numeric_min_parse: float = 0.98  # share of non-missing values that must parse as numbers
    # categorical with more than id_min_levels levels and distinct/non-missing above this: id-like
    id_unique_ratio: float = 0.5
    id_min_levels: int = 50
    max_levels: int = 100  # most frequent levels kept per categorical column, the rest pooled
    order_corr: float = 0.95  # numeric |rank corr| with row order above this = a sequence, dropped


@dataclass
class ColumnEncoding:
    name: str
    kind: str
    # categorical
    levels: list[str] = field(default_factory=list)  # display names, in feature order
    keys: list[str] = field(default_factory=list)  # level_key of each level (specials keep their name)
    # numeric
    median: float = 0.0
    clip_low: float = 0.0
    clip_high: float = 0.0
    log_mean: float = 0.0
    log_sd: float = 1.0
    edges: list[float] = field(default_factory=list)
    has_missing: bool = False
    tree_edges: list[float] = field(default_factory=list)  # finer quantile bins for the trees

    # -- layout -----------------------------------------------------------
    def width(self) -> int:
        if self.kind == CATEGORICAL:
            return len(self.levels)
        return 1 + (len(self.edges) + 1 if self.edges else 0) + (1 if self.has_missing else 0)

    def feature_names(self) -> list[str]:
        if self.kind == CATEGORICAL:
            return [f"{self.name}={lvl}" for lvl in self.levels]
        names = [f"log({self.name})"]
        if self.edges:
            bounds = [-math.inf, *self.edges, math.inf]
            names += [f"{self.name} in [{_fmt(lo)}, {_fmt(hi)})" for lo, hi in pairwise(bounds)]
        if self.has_missing:
            names.append(f"{self.name}={MISSING_LEVEL}")
        return names

    # -- encoding ---------------------------------------------------------
    def parse(self, values: list[object]) -> np.ndarray:
        """Categorical: level index per value (``len(levels)`` = no level). Numeric: float, NaN = missing.

        Each distinct raw value is interpreted once (lead data repeats a lot).
        """
        distinct = dict.fromkeys(values)
        if self.kind == CATEGORICAL:
            index = {k: i for i, k in enumerate(self.keys)}
            none = len(self.levels)
            other_at = index.get(OTHER_KEY, none)
            missing_at = index.get(MISSING_KEY, other_at)
            for v in distinct:
                distinct[v] = missing_at if is_missing(v) else index.get(level_key(v), other_at)
            return np.fromiter((distinct[v] for v in values), dtype=np.int64, count=len(values))
        for v in distinct:
            num = None if is_missing(v) else parse_number(v)
            distinct[v] = math.nan if num is None else num
        return np.fromiter((distinct[v] for v in values), dtype=float, count=len(values))

    def encode_into(self, parsed: np.ndarray, out: np.ndarray) -> None:
        """Write this column's indicators/terms for ``parse()`` output into ``out`` (n x width)."""
        if self.kind == CATEGORICAL:
            hit = parsed < len(self.levels)
            out[np.nonzero(hit)[0], parsed[hit]] = 1.0
            return
        miss = np.isnan(parsed)
        num = np.clip(np.where(miss, self.median, parsed), self.clip_low, self.clip_high)
        out[:, 0] = (signed_log1p(num) - self.log_mean) / self.log_sd
        j = 1
        if self.edges:
            b = np.searchsorted(np.asarray(self.edges, float), num, side="right")
            rows = np.nonzero(~miss)[0]
            out[rows, j + b[rows]] = 1.0
            j += len(self.edges) + 1
        if self.has_missing:
            out[:, j] = miss.astype(float)

    # -- integer codes for the trees -----------------------------------------
    def n_tree_codes(self) -> int:
        if self.kind == CATEGORICAL:
            return len(self.levels) + 1  # last code: a value with no level (unseen, no (other))
        return len(self.tree_edges) + 2  # 0 = missing, then one code per bin

    def tree_codes(self, parsed: np.ndarray) -> np.ndarray:
        if self.kind == CATEGORICAL:
            return parsed
        miss = np.isnan(parsed)
        codes = 1 + np.searchsorted(
            np.asarray(self.tree_edges, float), np.where(miss, 0.0, parsed), side="right"
        )
        codes[miss] = 0
        return codes.astype(np.int64)

    def describe(self, value: object) -> str:
        """The value as a sales rep should read it in a factor."""
        return describe(self.kind, self.levels, self.keys, value)

    # -- serialisation ----------------------------------------------------
    def to_dict(self) -> dict:
        if self.kind == CATEGORICAL:
            return {
                "name": self.name,
                "kind": self.kind,
                "levels": list(self.levels),
                "keys": list(self.keys),
            }
        return {
            "name": self.name,
            "kind": self.kind,
            "median": self.median,
            "clip": [self.clip_low, self.clip_high],
            "log_mean": self.log_mean,
            "log_sd": self.log_sd,
            "edges": list(self.edges),
            "has_missing": self.has_missing,
            "tree_edges": list(self.tree_edges),
        }

    @classmethod
    def from_dict(cls, d: dict) -> ColumnEncoding:
        if d["kind"] == CATEGORICAL:
            return cls(name=d["name"], kind=CATEGORICAL, levels=list(d["levels"]), keys=list(d["keys"]))
        return cls(
            name=d["name"],
            kind=NUMERIC,
            median=float(d["median"]),
            clip_low=float(d["clip"][0]),
            clip_high=float(d["clip"][1]),
            log_mean=float(d["log_mean"]),
            log_sd=float(d["log_sd"]),
            edges=[float(e) for e in d["edges"]],
            has_missing=bool(d["has_missing"]),
            tree_edges=[float(e) for e in d.get("tree_edges", [])],
        )


def _rank(a: np.ndarray) -> np.ndarray:
    """Average ranks (ties share their mean rank)."""
    order = np.argsort(a, kind="mergesort")
    sorted_a = a[order]
    ranks = np.empty(len(a), dtype=float)
    # boundaries of runs of equal values
    starts = np.r_[0, np.nonzero(np.diff(sorted_a))[0] + 1]
    ends = np.r_[starts[1:], len(a)]
    avg = (starts + ends - 1) / 2.0
    run_id = np.repeat(np.arange(len(starts)), ends - starts)
    ranks[order] = avg[run_id]
    return ranks


@dataclass
class Encoder:
    columns: list[ColumnEncoding]
    dropped: dict[str, str] = field(default_factory=dict)

    @property
    def width(self) -> int:
        return sum(c.width() for c in self.columns)

    def slices(self) -> list[slice]:
        out, start = [], 0
        for c in self.columns:
            out.append(slice(start, start + c.width()))
            start += c.width()
        return out

    def feature_names(self) -> list[str]:
        return [name for c in self.columns for name in c.feature_names()]

    def encode(self, rows: list[dict], trees: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
        """``(X, codes)``: the logistic design matrix and the trees' integer codes (n x columns)."""
        n = len(rows)
        X = np.zeros((n, self.width))
        codes = np.zeros((n, len(self.columns)), dtype=np.int64) if trees else None
        for j, (col, sl) in enumerate(zip(self.columns, self.slices())):
            parsed = col.parse([row.get(col.name) for row in rows])
            col.encode_into(parsed, X[:, sl])
            if trees:
                codes[:, j] = col.tree_codes(parsed)
        return X, codes

    def transform(self, rows: list[dict]) -> np.ndarray:
        return self.encode(rows, trees=False)[0]

    def tree_codes(self, rows: list[dict]) -> np.ndarray:
        return self.encode(rows, trees=True)[1]

    def n_tree_codes(self) -> list[int]:
        return [c.n_tree_codes() for c in self.columns]

    def to_dict(self) -> dict:
        return {"columns": [c.to_dict() for c in self.columns], "dropped": dict(self.dropped)}

    @classmethod
    def from_dict(cls, d: dict) -> Encoder:
        return cls(
            columns=[ColumnEncoding.from_dict(c) for c in d["columns"]], dropped=dict(d.get("dropped", {}))
        )


def fit_encoder(
    rows: list[dict],
    exclude: set[str] | frozenset[str] = frozenset(),
    options: EncoderOptions | None = None,
) -> Encoder:
    """Infer each column's kind from ``rows`` (assumed in time order) and fit its encoding."""
    opts = options or EncoderOptions()
    n = len(rows)
    names: list[str] = []
    seen: set[str] = set()
    for row in rows:
        for k in row:
            if k not in seen:
                seen.add(k)
                names.append(k)
    columns: list[ColumnEncoding] = []
    dropped: dict[str, str] = {}
    for name in names:
        if name in exclude:
            continue
        if name is None or not str(name).strip():
            dropped[str(name)] = "unnamed column"
            continue
        values = [row.get(name) for row in rows]
        enc, reason = _infer_column(name, values, n, opts)
        if enc is None:
            dropped[name] = reason
        else:
            columns.append(enc)
    return Encoder(columns=columns, dropped=dropped)


def _infer_column(name: str, values: list[object], n: int, opts: EncoderOptions):
    counts = Counter(values)  # each distinct raw value is interpreted once
    present = {v: c for v, c in counts.items() if not is_missing(v)}
    n_present = sum(present.values())
    n_missing = n - n_present
    if not present:
        return None, "always missing"
    keys: Counter = Counter()
    for v, c in present.items():
        keys[level_key(v)] += c
    if len(keys) == 1 and n_missing == 0:
        return None, "constant"
    n_dates = sum(c for v, c in present.items() if DATE_LIKE.match(str(v)))
    if n_dates >= opts.numeric_min_parse * n_present:
        return None, "date/time (absolute dates do not carry over to new leads)"
    number = {v: parse_number(v) for v in present}
    n_numeric = sum(c for v, c in present.items() if number[v] is not None)
    distinct_nums = len({x for x in number.values() if x is not None})
    if n_numeric >= opts.numeric_min_parse * n_present and distinct_nums > 2:
        per_row = np.fromiter(
            (math.nan if (x := number.get(v)) is None else x for v in values), dtype=float, count=n
        )
        ok = ~np.isnan(per_row)
        x = per_row[ok]
        # distinct integers packed into a range about as wide as their count: a sequence of ids
        # (a continuous amount such as revenue can be all-distinct too, but spreads much wider)
        if (
            distinct_nums >= 0.99 * len(x)
            and len(x) > opts.id_min_levels
            and np.all(x == np.round(x))
            and x.max() - x.min() + 1 <= 1.5 * len(x)
        ):
            return None, "id-like (a sequence of distinct integers)"
        # a numeric column that runs with the row order is a sequence / timestamp
        if len(x) > 20 and np.std(x) > 0:
            pos = np.nonzero(ok)[0].astype(float)
            corr = float(np.corrcoef(_rank(x), pos)[0, 1])
            if abs(corr) >= opts.order_corr:
                return None, f"follows the row order (rank correlation {corr:.2f})"
        return _fit_numeric(name, x, n - len(x), opts), ""
    # categorical
    if len(keys) > opts.id_min_levels and len(keys) > opts.id_unique_ratio * n_present:
        return None, f"id-like or free text ({len(keys)} distinct values)"
    return _fit_categorical(name, present, keys, n_missing, opts), ""


def _fit_numeric(name: str, x: np.ndarray, n_missing: int, opts: EncoderOptions) -> ColumnEncoding:
    lo, hi = (float(v) for v in np.quantile(x, [0.005, 0.995]))
    if hi <= lo:
        lo, hi = float(x.min()), float(x.max())
    xc = np.clip(x, lo, hi)
    lg = signed_log1p(xc)
    sd = float(lg.std())
    inner = np.quantile(xc, np.linspace(0, 1, opts.n_bins + 1)[1:-1])
    # searchsorted(side="right") puts a value equal to an edge into the upper bin;
    # drop edges that would leave the lowest bin empty and duplicate edges
    edges = sorted({float(e) for e in inner if e > xc.min()})
    fine = np.quantile(x, np.linspace(0, 1, opts.n_tree_bins + 1)[1:-1])
    tree_edges = sorted({float(e) for e in fine if e > x.min()})
    return ColumnEncoding(
        name=name,
        kind=NUMERIC,
        median=float(np.median(x)),
        clip_low=lo,
        clip_high=hi,
        log_mean=float(lg.mean()),
        log_sd=sd if sd > 1e-12 else 1.0,
        edges=edges,
        has_missing=n_missing > 0,
        tree_edges=tree_edges,
    )


def _fit_categorical(
    name: str, present: dict[object, int], keys: Counter, n_missing: int, opts: EncoderOptions
) -> ColumnEncoding:
    spelling: dict[str, Counter] = {}
    for v, c in present.items():
        spelling.setdefault(level_key(v), Counter())[" ".join(str(v).split())] += c
    kept = [k for k, c in keys.most_common(opts.max_levels) if c >= opts.min_level_count]
    pooled = len(keys) > len(kept)
    levels = [spelling[k].most_common(1)[0][0] for k in kept]
    out_keys = list(kept)
    # (other) exists when levels were pooled; it also receives unseen levels later
    if pooled:
        levels.append(OTHER_LEVEL)
        out_keys.append(OTHER_KEY)
    if n_missing:
        levels.append(MISSING_LEVEL)
        out_keys.append(MISSING_KEY)
    return ColumnEncoding(name=name, kind=CATEGORICAL, levels=levels, keys=out_keys)
