"""A small gradient-boosted tree ensemble for binary log loss, numpy only.

Histogram based: every input column is a small integer code (categorical level
index; numeric quantile bin with 0 = missing). Trees grow level by level to
``max_depth``. Numeric splits are ordinal with the missing bin sent to the
better side; categorical splits sort the levels by gradient ratio and cut that
order (the classic optimal partition for a binary loss). Levels a node never
saw go to its larger child.

Every node keeps its (shrunken) value, so a prediction decomposes exactly into
the first tree's root value plus, per split on the path, ``value(child) -
value(node)`` credited to the split column (Saabas attribution): the trees'
part of the logit splits into per-column contributions that sum up exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .logistic import sigmoid


@dataclass
class TreeOptions:
    learning_rate: float = 0.05
    max_depth: int = 3
    max_trees: int = 400
    min_child_weight: float = 5.0  # minimum hessian sum in a child
    l2: float = 1.0
    min_gain: float = 1e-6
    subsample: float = 0.8
    early_stopping: int = 40  # stop after this many trees without validation improvement
    seed: int = 0


@dataclass
class Tree:
    feature: np.ndarray  # int, -1 for a leaf
    threshold: np.ndarray  # numeric: codes 1..threshold go left
    missing_left: np.ndarray  # numeric: code 0 (missing) goes left
    left_codes: list  # categorical: codes that go left (None for numeric / leaves)
    left: np.ndarray
    right: np.ndarray
    value: np.ndarray

    def to_dict(self) -> dict:
        return {
            "feature": self.feature.tolist(),
            "threshold": self.threshold.tolist(),
            "missing_left": [int(b) for b in self.missing_left],
            "left_codes": [None if c is None else [int(x) for x in c] for c in self.left_codes],
            "left": self.left.tolist(),
            "right": self.right.tolist(),
            "value": [float(v) for v in self.value],
        }

    @classmethod
    def from_dict(cls, d: dict) -> Tree:
        return cls(
            feature=np.asarray(d["feature"], dtype=np.int64),
            threshold=np.asarray(d["threshold"], dtype=np.int64),
            missing_left=np.asarray(d["missing_left"], dtype=bool),
            left_codes=[None if c is None else list(c) for c in d["left_codes"]],
            left=np.asarray(d["left"], dtype=np.int64),
            right=np.asarray(d["right"], dtype=np.int64),
            value=np.asarray(d["value"], dtype=float),
        )


@dataclass
class TreeEnsemble:
    n_codes: list[int]  # per input column: number of codes
    categorical: list[bool]
    trees: list[Tree] = field(default_factory=list)
    _luts: list | None = field(default=None, repr=False, compare=False)

    # routing tables: per tree, for every node a slice of a flat "goes left?" array indexed by code
    def _lookup(self):
        if self._luts is None:
            luts = []
            for t in self.trees:
                offsets = np.zeros(len(t.feature), dtype=np.int64)
                parts, pos = [], 0
                for i, f in enumerate(t.feature):
                    if f < 0:
                        continue
                    size = self.n_codes[f]
                    table = np.zeros(size, dtype=bool)
                    if self.categorical[f]:
                        table[np.asarray(t.left_codes[i], dtype=np.int64)] = True
                    else:
                        table[1 : t.threshold[i] + 1] = True
                        table[0] = bool(t.missing_left[i])
                    offsets[i] = pos
                    parts.append(table)
                    pos += size
                flat = np.concatenate(parts) if parts else np.zeros(0, dtype=bool)
                luts.append((offsets, flat))
            self._luts = luts
        return self._luts

    def margin(self, codes: np.ndarray, contributions: bool = False):
        """Sum of tree outputs; with ``contributions`` also (bias, n x columns Saabas contributions)."""
        n = codes.shape[0]
        out = np.zeros(n)
        contrib = np.zeros((n, codes.shape[1])) if contributions else None
        bias = 0.0
        rows_all = np.arange(n)
        for t, (offsets, flat) in zip(self.trees, self._lookup()):
            node = np.zeros(n, dtype=np.int64)
            bias += float(t.value[0])
            while True:
                f = t.feature[node]
                active = f >= 0
                if not active.any():
                    break
                r = rows_all[active]
                nd = node[active]
                fa = f[active]
                go_left = flat[offsets[nd] + codes[r, fa]]
                child = np.where(go_left, t.left[nd], t.right[nd])
                if contributions:
                    np.add.at(contrib, (r, fa), t.value[child] - t.value[nd])
                node[active] = child
            out += t.value[node]
        if contributions:
            return out, bias, contrib
        return out

    def to_dict(self) -> dict:
        return {
            "n_codes": list(self.n_codes),
            "categorical": [bool(c) for c in self.categorical],
            "trees": [t.to_dict() for t in self.trees],
        }

    @classmethod
    def from_dict(cls, d: dict) -> TreeEnsemble:
        return cls(
            n_codes=[int(x) for x in d["n_codes"]],
            categorical=[bool(c) for c in d["categorical"]],
            trees=[Tree.from_dict(t) for t in d["trees"]],
        )


_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)


def _uniform(seed: int, draw: int, n: int) -> np.ndarray:
    """``n`` uniform numbers in [0, 1), a pure function of (seed, draw): SplitMix64 over a counter.

    Not numpy.random: it is 2.9 MB of the train function's artifact, which must stay under
    Lambda's 50 MB, for one subsample mask per tree."""
    start = ((seed & 0xFFFFFFFF) << 32 | (draw & 0xFFFFFFFF)) * n  # disjoint counters per (seed, draw)
    z = (np.arange(1, n + 1, dtype=np.uint64) + np.uint64(start % 2**64)) * _GOLDEN  # wraps mod 2**64
    z = (z ^ (z >> np.uint64(30))) * _MIX1
    z = (z ^ (z >> np.uint64(27))) * _MIX2
    z ^= z >> np.uint64(31)
    return (z >> np.uint64(11)).astype(float) * 2.0**-53


class _Nodes:
    """A tree under construction: parallel lists, one entry per node."""

    def __init__(self) -> None:
        self.feature: list[int] = []
        self.threshold: list[int] = []
        self.missing_left: list[bool] = []
        self.left_codes: list = []
        self.left: list[int] = []
        self.right: list[int] = []
        self.value: list[float] = []

    def add(self, learning_rate: float, lam: float, g: np.ndarray, h: np.ndarray, idx: np.ndarray) -> int:
        self.feature.append(-1)
        self.threshold.append(0)
        self.missing_left.append(False)
        self.left_codes.append(None)
        self.left.append(-1)
        self.right.append(-1)
        self.value.append(-learning_rate * float(g[idx].sum()) / (float(h[idx].sum()) + lam))
        return len(self.feature) - 1

    def split(self, node: int, f: int, thr: int, miss_left: bool, left_codes, left: int, right: int) -> None:
        self.feature[node], self.threshold[node], self.missing_left[node] = f, thr, miss_left
        self.left_codes[node], self.left[node], self.right[node] = left_codes, left, right

    def tree(self) -> Tree:
        return Tree(
            feature=np.asarray(self.feature, dtype=np.int64),
            threshold=np.asarray(self.threshold, dtype=np.int64),
            missing_left=np.asarray(self.missing_left, dtype=bool),
            left_codes=self.left_codes,
            left=np.asarray(self.left, dtype=np.int64),
            right=np.asarray(self.right, dtype=np.int64),
            value=np.asarray(self.value, dtype=float),
        )


def fit_trees(
    codes: np.ndarray,
    y: np.ndarray,
    n_codes: list[int],
    categorical: list[bool],
    options: TreeOptions | None = None,
    sample_weight: np.ndarray | None = None,
    base_margin: float = 0.0,
    valid: tuple[np.ndarray, np.ndarray] | None = None,
    n_trees: int | None = None,
) -> tuple[TreeEnsemble, int]:
    """Boost trees on top of a constant ``base_margin``.

    With ``valid`` = (codes, labels) stop early on validation log loss and
    return the best number of trees; otherwise grow ``n_trees`` (default
    ``options.max_trees``). Returns ``(ensemble, n_trees_used)``.
    """
    opts = options or TreeOptions()
    n, F = codes.shape
    y = np.asarray(y, dtype=float)
    w = np.ones(n) if sample_weight is None else np.asarray(sample_weight, dtype=float)
    n_codes = [int(c) for c in n_codes]
    is_cat = np.asarray(categorical, dtype=bool)
    offsets = np.r_[0, np.cumsum(n_codes)[:-1]].astype(np.int64)
    flat_codes = (codes + offsets[None, :]).astype(np.int64)
    total_bins = int(sum(n_codes))
    B = max(n_codes) if n_codes else 1
    # padded view (F x B) of a flat histogram; padding points at an extra zero slot
    pad_index = np.full((F, B), total_bins, dtype=np.int64)
    for f in range(F):
        pad_index[f, : n_codes[f]] = offsets[f] + np.arange(n_codes[f])
    valid_bin = pad_index < total_bins
    numeric_rows = ~is_cat

    ensemble = TreeEnsemble(n_codes=n_codes, categorical=[bool(c) for c in is_cat])
    margin = np.full(n, float(base_margin))
    limit = opts.max_trees if n_trees is None else n_trees
    if valid is not None:
        v_codes, v_y = valid
        v_y = np.asarray(v_y, dtype=float)
        v_margin = np.full(len(v_y), float(base_margin))
        best_loss, best_iter = np.inf, 0

    lam, mcw = opts.l2, opts.min_child_weight

    def histogram(idx, g, h):
        fc = flat_codes[idx].ravel()
        hg = np.bincount(fc, weights=np.repeat(g[idx], F), minlength=total_bins + 1)
        hh = np.bincount(fc, weights=np.repeat(h[idx], F), minlength=total_bins + 1)
        return hg[pad_index], hh[pad_index]

    def best_split(G, H):
        Gt, Ht = G[0].sum(), H[0].sum()
        # numeric: code 0 is the missing bin, split off and tried on either side
        Gm = np.where(numeric_rows, G[:, 0], 0.0)
        Hm = np.where(numeric_rows, H[:, 0], 0.0)
        G0 = G.copy()
        H0 = H.copy()
        G0[numeric_rows, 0] = 0.0
        H0[numeric_rows, 0] = 0.0
        ratio = np.where(H0 > 0, G0 / (H0 + lam), np.inf)
        ratio = np.where(valid_bin, ratio, np.inf)
        perm = np.tile(np.arange(B), (F, 1))
        if is_cat.any():
            perm[is_cat] = np.argsort(ratio[is_cat], axis=1, kind="mergesort")
        Gs = np.take_along_axis(G0, perm, axis=1)
        Hs = np.take_along_axis(H0, perm, axis=1)
        GL = np.cumsum(Gs, axis=1)[:, :-1]
        HL = np.cumsum(Hs, axis=1)[:, :-1]
        parent = Gt * Gt / (Ht + lam)
        best = (opts.min_gain, None)
        for miss_left in (False, True):
            gl = GL + (Gm[:, None] if miss_left else 0.0)
            hl = HL + (Hm[:, None] if miss_left else 0.0)
            gr, hr = Gt - gl, Ht - hl
            ok = (hl >= mcw) & (hr >= mcw)
            gain = np.where(ok, gl * gl / (hl + lam) + gr * gr / (hr + lam) - parent, -np.inf)
            k = int(np.argmax(gain))
            f, pos = divmod(k, gain.shape[1])
            if gain[f, pos] > best[0]:
                best = (float(gain[f, pos]), (f, pos, miss_left))
        if best[1] is None:
            return None
        f, pos, miss_left = best[1]
        if is_cat[f]:
            seen = H[f] > 0
            left_set = np.zeros(B, dtype=bool)
            left_set[perm[f, : pos + 1]] = True
            left_set &= seen
            h_left = H[f][left_set].sum()
            h_right = H[f][seen & ~left_set].sum()
            if h_left >= h_right:  # unseen levels follow the larger child
                left_set |= ~seen
            left_set = left_set[: n_codes[f]]
            return f, 0, False, np.nonzero(left_set)[0].tolist()
        return f, int(perm[f, pos]), miss_left, None

    def goes_left(idx, f, thr, miss_left, left_codes):
        c = codes[idx, f]
        if left_codes is not None:
            table = np.zeros(n_codes[f], dtype=bool)
            table[left_codes] = True
            return table[c]
        return np.where(c == 0, miss_left, c <= thr)

    all_rows = np.arange(n)
    for it in range(limit):
        p = sigmoid(margin)
        g = w * (p - y)
        h = w * p * (1.0 - p)
        in_sample = _uniform(opts.seed, it, n) < opts.subsample if opts.subsample < 1.0 else np.ones(n, dtype=bool)
        nodes = _Nodes()
        leaves: list[tuple[int, np.ndarray]] = []

        # a node: (id, all rows there, sampled rows there, histogram of the sampled rows or None)
        root_s = all_rows[in_sample]
        frontier = [(nodes.add(opts.learning_rate, lam, g, h, root_s), all_rows, root_s, None)]
        for _depth in range(opts.max_depth):
            nxt = []
            for node_id, idx, idx_s, hist in frontier:
                if h[idx_s].sum() < 2 * mcw:
                    leaves.append((node_id, idx))
                    continue
                G, H = hist if hist is not None else histogram(idx_s, g, h)
                split = best_split(G, H)
                if split is None:
                    leaves.append((node_id, idx))
                    continue
                f, thr, ml, lc = split
                mask = goes_left(idx, f, thr, ml, lc)
                li, ri = idx[mask], idx[~mask]
                ls, rs = li[in_sample[li]], ri[in_sample[ri]]
                # histogram the smaller child, the larger one is the parent's minus it
                if len(ls) <= len(rs):
                    Gl, Hl = histogram(ls, g, h)
                    hist_l, hist_r = (Gl, Hl), (G - Gl, H - Hl)
                else:
                    Gr, Hr = histogram(rs, g, h)
                    hist_l, hist_r = (G - Gr, H - Hr), (Gr, Hr)
                lid = nodes.add(opts.learning_rate, lam, g, h, ls)
                rid = nodes.add(opts.learning_rate, lam, g, h, rs)
                nodes.split(node_id, f, thr, ml, lc, lid, rid)
                nxt += [(lid, li, ls, hist_l), (rid, ri, rs, hist_r)]
            frontier = nxt
            if not frontier:
                break
        leaves += [(node_id, idx) for node_id, idx, _s, _h in frontier]
        for node_id, idx in leaves:
            margin[idx] += nodes.value[node_id]
        tree = nodes.tree()
        ensemble.trees.append(tree)
        ensemble._luts = None
        if valid is not None:
            one = TreeEnsemble(n_codes=n_codes, categorical=ensemble.categorical, trees=[tree])
            v_margin += one.margin(v_codes)
            pv = np.clip(sigmoid(v_margin), 1e-15, 1 - 1e-15)
            loss = float(-np.mean(v_y * np.log(pv) + (1 - v_y) * np.log(1 - pv)))
            if loss < best_loss - 1e-7:
                best_loss, best_iter = loss, it + 1
            elif it + 1 - best_iter >= opts.early_stopping:
                break
    if valid is not None:
        ensemble.trees = ensemble.trees[:best_iter]
        ensemble._luts = None
        return ensemble, best_iter
    return ensemble, len(ensemble.trees)
