"""Evaluation metrics, numpy only: ROC AUC, log loss and a calibration table."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

EPS = 1e-15


def roc_auc(y_true, scores) -> float:
    """Area under the ROC curve (Mann-Whitney U; tied scores count one half)."""
    y = np.asarray(y_true, dtype=float)
    s = np.asarray(scores, dtype=float)
    if y.shape != s.shape:
        raise ValueError("labels and scores differ in length")
    n_pos = float(y.sum())
    n_neg = float(len(y) - n_pos)
    if n_pos == 0 or n_neg == 0:
        raise ValueError("ROC AUC needs both classes")
    order = np.argsort(s, kind="mergesort")
    s_sorted = s[order]
    starts = np.r_[0, np.nonzero(np.diff(s_sorted))[0] + 1]
    ends = np.r_[starts[1:], len(s)]
    avg_rank = (starts + ends + 1) / 2.0  # 1-based average rank of each tie group
    ranks = np.empty(len(s))
    ranks[order] = np.repeat(avg_rank, ends - starts)
    return float((ranks[y == 1].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def log_loss(y_true, probabilities, eps: float = EPS) -> float:
    """Mean negative log-likelihood (natural log); probabilities clipped to [eps, 1-eps]."""
    y = np.asarray(y_true, dtype=float)
    p = np.clip(np.asarray(probabilities, dtype=float), eps, 1 - eps)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


@dataclass(frozen=True)
class CalibrationBin:
    bin: int  # 1 = lowest predicted probabilities
    count: int
    low: float  # smallest predicted probability in the bin
    high: float  # largest
    mean_predicted: float
    observed_rate: float


def calibration_table(y_true, probabilities, bins: int = 10) -> list[CalibrationBin]:
    """Rows sorted by predicted probability and cut into ``bins`` groups of (nearly) equal size."""
    y = np.asarray(y_true, dtype=float)
    p = np.asarray(probabilities, dtype=float)
    order = np.argsort(p, kind="mergesort")
    out = []
    for i, idx in enumerate(np.array_split(order, bins), start=1):
        if len(idx) == 0:
            continue
        out.append(
            CalibrationBin(
                bin=i,
                count=len(idx),
                low=float(p[idx].min()),
                high=float(p[idx].max()),
                mean_predicted=float(p[idx].mean()),
                observed_rate=float(y[idx].mean()),
            )
        )
    return out


def format_calibration(table: list[CalibrationBin]) -> str:
    lines = [f"{'decile':>6} {'n':>6} {'p range':>15} {'mean p':>7} {'observed':>8}"]
    for b in table:
        lines.append(
            f"{b.bin:>6} {b.count:>6} {b.low:>7.3f}-{b.high:<7.3f} {b.mean_predicted:>7.3f} {b.observed_rate:>8.3f}"
        )
    return "\n".join(lines)
