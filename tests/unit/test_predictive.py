"""Predictive lead scoring: encoding, training, factors, serialisation, metrics, backtest."""

from __future__ import annotations

import csv
import json
import math
import random
from pathlib import Path

import numpy as np
import pytest

from leadflow.domain.predictive import (
    Model,
    PredictiveDataError,
    TrainOptions,
    binary_labels,
    calibration_table,
    chronological_order,
    fit_and_validate,
    fit_encoder,
    log_loss,
    roc_auc,
    train,
)
from leadflow.domain.predictive.features import MISSING_LEVEL, OTHER_LEVEL

DATASET = Path(__file__).resolve().parents[3] / "shared/datasets/x-education-leads.csv"
EXCLUDE = (
    "Tags,Lead Quality,Lead Profile,Asymmetrique Activity Index,Asymmetrique Profile Index,"
    "Asymmetrique Activity Score,Asymmetrique Profile Score,Last Notable Activity"
)


def synthetic_leads(n: int = 1200, seed: int = 7) -> tuple[list[dict], list[int]]:
    """Leads whose outcome depends on source, visits and time on site (with missing values)."""
    rng = random.Random(seed)
    sources = {"Google": 0.0, "Referral": 1.5, "Ads": -1.0, "Chat": -0.5}
    rows, labels = [], []
    for i in range(n):
        source = rng.choice(list(sources))
        visits = rng.choice([0, 1, 2, 3, 5, 8, 13])
        seconds = 0 if visits == 0 else int(rng.expovariate(1 / 600))
        z = -0.8 + sources[source] + 0.25 * math.log1p(visits) + (1.2 if seconds > 900 else 0.0)
        label = int(rng.random() < 1 / (1 + math.exp(-z)))
        rows.append(
            {
                "lead_id": f"L{i:05d}",
                "source": source if rng.random() > 0.05 else "",
                "visits": str(visits) if rng.random() > 0.03 else "",
                "seconds": str(seconds),
                "plan": "Select" if rng.random() < 0.3 else rng.choice(["Basic", "Pro"]),
                "newsletter": "No",
            }
        )
        labels.append(label)
    return rows, labels


@pytest.fixture(scope="module")
def trained() -> tuple[Model, list[dict], list[int]]:
    rows, labels = synthetic_leads()
    model = train(rows, labels, TrainOptions(exclude=frozenset({"lead_id"})))
    return model, rows, labels


# -- encoding ------------------------------------------------------------------------


def _slice(encoder, name):
    cols = {c.name: (c, sl) for c, sl in zip(encoder.columns, encoder.slices())}
    return cols[name]


def test_column_kinds_are_inferred_from_the_data():
    rows = []
    for i in range(300):
        rows.append(
            {
                "id": f"{i:08x}-{i * 7919 % 10007}",  # unique text
                "seq": str(1000 + i // 2),  # runs with the row order (not unique)
                "jumbled": str((i * 7919) % 300 + 0.5),  # numeric, unrelated to order
                "ticket": str(5000 + (i * 7919) % 300),  # shuffled sequence of distinct integers
                "revenue": f"${(i * 7919) % 300 * 1013 + 17:,}",  # distinct too, but an amount
                "const": "No",
                "created": f"2024-01-{1 + i % 28:02d}T10:00:00",
                "flag": "1" if i % 3 else "0",  # two numbers: categorical
                "colour": ["red", "green", "blue"][i % 3],
                "empty": "",
                "": "",
            }
        )
    enc = fit_encoder(rows)
    kinds = {c.name: c.kind for c in enc.columns}
    assert kinds == {
        "jumbled": "numeric",
        "revenue": "numeric",
        "flag": "categorical",
        "colour": "categorical",
    }
    assert "id-like" in enc.dropped["id"]
    assert "id-like" in enc.dropped["ticket"]
    assert "row order" in enc.dropped["seq"]
    assert enc.dropped["const"] == "constant"
    assert "date" in enc.dropped["created"]
    assert enc.dropped["empty"] == "always missing"
    assert enc.dropped[""] == "unnamed column"


def test_numbers_are_parsed_generically():
    from leadflow.domain.predictive.features import parse_number

    assert [parse_number(v) for v in ["$1,200", "12.5%", "-3,000.50", " 7 ", "1e3", 4]] == [
        1200.0,
        12.5,
        -3000.5,
        7.0,
        1000.0,
        4.0,
    ]
    assert [parse_number(v) for v in ["1,2", "abc", "", "NA", "inf", None]] == [None] * 6


def test_numeric_column_tolerates_a_few_junk_values():
    rows = [{"x": str(i % 50)} for i in range(500)]
    rows[3]["x"] = "n/a"
    rows[4]["x"] = "about 5"  # 1 junk value in 500: still numeric, treated as missing
    enc = fit_encoder(rows)
    col, sl = _slice(enc, "x")
    assert col.kind == "numeric" and col.has_missing
    X = enc.transform([{"x": "about 5"}, {"x": "7"}])
    assert X[0, sl][-1] == 1.0  # missing indicator
    assert X[1, sl][-1] == 0.0


def test_unseen_and_rare_levels_go_to_other_and_matching_ignores_case_and_spaces():
    rows = [{"src": "Google"}] * 30 + [{"src": "Direct"}] * 30 + [{"src": "Fax"}] * 2 + [{"src": ""}] * 5
    enc = fit_encoder(rows)
    col, sl = _slice(enc, "src")
    assert col.levels == ["Google", "Direct", OTHER_LEVEL, MISSING_LEVEL]
    X = enc.transform([{"src": " google "}, {"src": "Fax"}, {"src": "Carrier pigeon"}, {"src": None}, {}])
    assert X[:, sl].tolist() == [
        [1, 0, 0, 0],
        [0, 0, 1, 0],  # rare in training: pooled
        [0, 0, 1, 0],  # never seen: pooled
        [0, 0, 0, 1],  # missing value
        [0, 0, 0, 1],  # missing key
    ]
    assert col.describe("Carrier pigeon") == f"Carrier pigeon {OTHER_LEVEL}"
    assert col.describe("  GOOGLE") == "Google"


def test_unseen_level_without_other_encodes_as_all_zeros():
    rows = [{"src": "Google"}] * 30 + [{"src": "Direct"}] * 30
    enc = fit_encoder(rows)
    col, sl = _slice(enc, "src")
    assert col.levels == ["Google", "Direct"]
    X = enc.transform([{"src": "Radio"}, {"src": ""}])
    assert X[:, sl].sum() == 0.0
    codes = enc.tree_codes([{"src": "Radio"}])
    assert codes[0, 0] == len(col.levels)  # the trees' "no level" code


def test_missing_values_keep_an_indicator_and_are_not_binned():
    rows = [{"v": str(i % 20)} for i in range(200)] + [{"v": ""}] * 20 + [{"v": "NA"}] * 5
    enc = fit_encoder(rows)
    col, sl = _slice(enc, "v")
    names = col.feature_names()
    assert names[-1] == f"v={MISSING_LEVEL}"
    X = enc.transform([{"v": None}, {"v": "null"}, {"v": "3"}])
    bins = slice(sl.start + 1, sl.stop - 1)
    assert X[0, sl.stop - 1] == X[1, sl.stop - 1] == 1.0
    assert X[0, bins].sum() == X[1, bins].sum() == 0.0
    assert X[2, bins].sum() == 1.0 and X[2, sl.stop - 1] == 0.0


def test_encoder_round_trips_through_json():
    rows, _ = synthetic_leads(300)
    enc = fit_encoder(rows, exclude={"lead_id"})
    from leadflow.domain.predictive import Encoder

    again = Encoder.from_dict(json.loads(json.dumps(enc.to_dict())))
    np.testing.assert_array_equal(enc.transform(rows), again.transform(rows))
    np.testing.assert_array_equal(enc.tree_codes(rows), again.tree_codes(rows))


# -- model ---------------------------------------------------------------------------


def test_model_learns_the_signal(trained):
    model, _, _ = trained
    fresh, fresh_labels = synthetic_leads(800, seed=99)
    p = model.predict_proba(fresh)
    assert roc_auc(fresh_labels, p) > 0.7
    assert p.min() > 0.0 and p.max() < 1.0
    # the id column was excluded, the constant one dropped
    names = {c.name for c in model.encoder.columns}
    assert "lead_id" not in names and "newsletter" not in names


def test_factors_explain_the_probability(trained):
    model, rows, _ = trained
    for pred in model.predict(rows[:50], top=None):
        total = pred.intercept + sum(f.contribution for f in pred.factors)
        assert total == pytest.approx(pred.logit, abs=1e-9)
        assert pred.probability == pytest.approx(1 / (1 + math.exp(-pred.logit)), abs=1e-12)
        assert len(pred.factors) == len(model.encoder.columns)
    top = model.predict(rows[:5], top=3)
    for pred in top:
        assert len(pred.factors) == 3
        mags = [abs(f.contribution) for f in pred.factors]
        assert mags == sorted(mags, reverse=True)
    # predict and predict_proba agree
    np.testing.assert_allclose(
        [p.probability for p in model.predict(rows[:20])], model.predict_proba(rows[:20])
    )


def test_factor_values_read_like_the_lead(trained):
    model, _, _ = trained
    pred = model.predict(
        [{"source": "referral", "visits": "", "seconds": "1200", "plan": "Telepathy"}], top=None
    )[0]
    values = {f.feature: f.value for f in pred.factors}
    assert values["source"] == "Referral"
    assert values["visits"] == MISSING_LEVEL
    assert values["seconds"] == "1200"
    assert values["plan"].startswith("Telepathy")


def test_serialisation_round_trip_gives_identical_predictions(trained):
    model, rows, _ = trained
    blob = json.dumps(model.to_dict())  # plain JSON: lists and numbers
    again = Model.from_dict(json.loads(blob))
    a = model.predict(rows[:100], top=None)
    b = again.predict(rows[:100], top=None)
    assert a == b
    np.testing.assert_array_equal(model.predict_proba(rows), again.predict_proba(rows))


def _odd_rows(rows: list[dict]) -> list[dict]:
    """Rows a live lead may bring: unseen levels, junk and extreme numbers, odd spellings, missing
    and unknown columns."""
    odd = [
        {"source": "Telepathy", "visits": "1,000", "seconds": "$1e9", "plan": " pro "},
        {"source": "  referral ", "visits": "-3", "seconds": "n/a", "plan": None},
        {"source": None, "visits": "abc", "seconds": "-1e12", "plan": "SELECT", "unknown": "x"},
        {},
        {"visits": 2, "seconds": 900.0, "plan": float("nan"), "source": "GOOGLE"},
        {"visits": "0", "seconds": "0", "source": "Chat", "plan": "Basic"},
    ]
    return odd + rows


def _assert_same_predictions(model, rows):
    from leadflow.domain.prediction import Predictor

    pure = Predictor.from_dict(json.loads(json.dumps(model.to_dict())))  # what the score function reads
    expected = model.predict(rows, top=None)
    got = pure.predict(rows, top=None)
    assert len(got) == len(expected) == len(rows)
    for e, g in zip(expected, got):
        assert g.probability == pytest.approx(e.probability, abs=1e-9)
        assert g.logit == pytest.approx(e.logit, abs=1e-9)
        assert g.intercept == pytest.approx(e.intercept, abs=1e-9)
        assert [f.value for f in sorted(g.factors, key=lambda f: f.feature)] == [
            f.value for f in sorted(e.factors, key=lambda f: f.feature)]
        for gf, ef in zip(g.factors, e.factors):  # same order, except between (near) ties
            assert gf.feature == ef.feature or abs(abs(gf.contribution) - abs(ef.contribution)) < 1e-9
            assert abs(gf.contribution) == pytest.approx(abs(ef.contribution), abs=1e-9)
    np.testing.assert_allclose(pure.predict_proba(rows), model.predict_proba(rows), rtol=0, atol=1e-9)
    assert [[f.feature for f in p.factors] for p in pure.predict(rows[:50], top=5)] == [
        [f.feature for f in p.factors] for p in model.predict(rows[:50], top=5)]


@pytest.mark.parametrize("blend", [0.0, 0.5])
def test_the_pure_python_predictor_gives_the_numpy_prediction(blend):
    rows, labels = synthetic_leads()
    model = train(rows, labels, TrainOptions(exclude=frozenset({"lead_id"}), blend_weights=(blend,)))
    assert model.trees is not None and model.blend == blend  # trees only, and both learners
    fresh, _ = synthetic_leads(800, seed=99)
    _assert_same_predictions(model, _odd_rows(rows + fresh))


def test_the_pure_python_predictor_gives_the_numpy_prediction_of_a_logistic_only_model():
    rows, labels = synthetic_leads(600, seed=3)
    model = train(rows, labels, TrainOptions(exclude=frozenset({"lead_id"}), use_trees=False))
    assert model.trees is None
    _assert_same_predictions(model, _odd_rows(rows))


def test_the_pure_python_predictor_refuses_other_formats():
    from leadflow.domain.prediction import Predictor

    with pytest.raises(ValueError, match="not a leadflow.predictive/1 model"):
        Predictor.from_dict({"format": "something/else"})


def test_from_dict_rejects_other_formats():
    with pytest.raises(ValueError):
        Model.from_dict({"format": "something/else"})


def test_logistic_only_model_still_explains_exactly():
    rows, labels = synthetic_leads(600)
    model = train(rows, labels, TrainOptions(exclude=frozenset({"lead_id"}), use_trees=False))
    assert model.trees is None
    for pred in model.predict(rows[:20], top=None):
        assert pred.intercept + sum(f.contribution for f in pred.factors) == pytest.approx(
            pred.logit, abs=1e-9
        )


def test_train_rejects_single_outcome():
    rows, _ = synthetic_leads(50)
    with pytest.raises(PredictiveDataError):
        train(rows, [1] * len(rows))


def test_fit_and_validate_holds_out_the_newest_and_respects_the_active_model():
    rows, labels = synthetic_leads(900)
    order = [r["lead_id"] for r in rows]
    opts = TrainOptions(exclude=frozenset({"lead_id"}))
    first = fit_and_validate(rows, labels, order, options=opts)
    assert first.accepted and first.model is not None
    assert first.candidate_metrics["rows"] == 180
    assert first.model.metadata["trained_through"] == "L00899"
    # no outcomes newer than the active model: nothing to learn from, keep it
    again = fit_and_validate(rows, labels, order, active=first.model, options=opts)
    assert again.model is None and not again.accepted
    # new outcomes arrive: the comparison uses only them
    more_rows, more_labels = synthetic_leads(400, seed=3)
    for i, r in enumerate(more_rows):
        r["lead_id"] = f"L{900 + i:05d}"
    later = fit_and_validate(
        rows + more_rows,
        labels + more_labels,
        order + [r["lead_id"] for r in more_rows],
        active=first.model,
        options=opts,
    )
    assert later.model is not None
    assert later.candidate_metrics["rows"] == 260  # newest 20% of 1300, all newer than the active model
    assert later.active_metrics["rows"] == 260
    assert later.accepted == (later.candidate_metrics["auc"] >= later.active_metrics["auc"])


# -- labels and order ------------------------------------------------------------------


def test_binary_labels_map_generically():
    assert binary_labels(["Yes", "no", "", "YES"], "c") == [1, 0, None, 1]
    assert binary_labels(["won", "Lost"], "c") == [1, 0]
    assert binary_labels(["Closed Won", "Closed Lost"], "c") == [1, 0]
    assert binary_labels(["true", "False"], "c") == [1, 0]
    assert binary_labels(["1.0", "0"], "c") == [1, 0]
    assert binary_labels(["2", "5", "2"], "c") == [0, 1, 0]


def test_binary_labels_name_the_column_when_not_binary():
    with pytest.raises(PredictiveDataError, match="'Stage'"):
        binary_labels(["new", "qualified", "won"], "Stage")
    with pytest.raises(PredictiveDataError, match="'Converted'"):
        binary_labels(["1", "1"], "Converted")


def test_chronological_order_is_numeric_or_date_aware_and_stable():
    assert chronological_order(["10", "9", "100", "9"]) == [1, 3, 0, 2]
    assert chronological_order(["2024-02-01", "2023-12-31T23:00:00", "2024-01-15"]) == [1, 2, 0]
    assert chronological_order(["b", "", "a"]) == [1, 2, 0]  # missing first, then text order


# -- metrics ---------------------------------------------------------------------------


def test_roc_auc_against_hand_computed_values():
    assert roc_auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == pytest.approx(0.75)
    # ties count one half: pairs (.5,.5)=.5, (.5,.2)=1, (.9,.5)=1, (.9,.2)=1 -> 3.5/4
    assert roc_auc([0, 1, 0, 1], [0.5, 0.5, 0.2, 0.9]) == pytest.approx(0.875)
    assert roc_auc([1, 0], [0.2, 0.9]) == 0.0
    with pytest.raises(ValueError):
        roc_auc([1, 1], [0.2, 0.3])


def test_log_loss_against_hand_computed_values():
    assert log_loss([1, 0], [0.8, 0.3]) == pytest.approx(-(math.log(0.8) + math.log(0.7)) / 2)
    assert math.isfinite(log_loss([1], [0.0]))  # clipped, not infinite


def test_calibration_table_by_equal_count_bins():
    p = [0.05, 0.15, 0.25, 0.35, 0.45, 0.55, 0.65, 0.75, 0.85, 0.95]
    y = [0, 0, 0, 1, 0, 1, 1, 1, 1, 1]
    table = calibration_table(y, p, bins=5)
    assert [b.count for b in table] == [2] * 5
    assert [b.mean_predicted for b in table] == pytest.approx([0.1, 0.3, 0.5, 0.7, 0.9])
    assert [b.observed_rate for b in table] == pytest.approx([0.0, 0.5, 0.5, 1.0, 1.0])
    assert table[0].low == 0.05 and table[-1].high == 0.95


# -- backtest on the real dataset --------------------------------------------------------


def _independent_auc(labels: list[int], scores: list[float]) -> float:
    """Pairwise ROC AUC computed from scratch (no shared code with the model's metrics)."""
    pos = sorted(s for s, y in zip(scores, labels) if y == 1)
    neg = sorted(s for s, y in zip(scores, labels) if y == 0)
    import bisect

    wins = 0.0
    for s in pos:
        lo = bisect.bisect_left(neg, s)
        hi = bisect.bisect_right(neg, s)
        wins += lo + 0.5 * (hi - lo)
    return wins / (len(pos) * len(neg))


def _naive_bayes_auc(rows, labels, n_train, columns, alpha=0.1):
    """Odoo-style naive Bayes: per-value won/lost frequencies with additive smoothing."""
    y_tr = labels[:n_train]
    won, lost = sum(y_tr), n_train - sum(y_tr)
    logit = [math.log(won / lost)] * (len(rows) - n_train)
    for col in columns:
        counts: dict[str, list[int]] = {}
        for r, y in zip(rows[:n_train], y_tr):
            counts.setdefault(r[col], [0, 0])[y] += 1
        k = len(counts)
        for i, r in enumerate(rows[n_train:]):
            c = counts.get(r[col], [0, 0])
            logit[i] += math.log((c[1] + alpha) / (won + alpha * k)) - math.log(
                (c[0] + alpha) / (lost + alpha * k)
            )
    return _independent_auc(labels[n_train:], logit)


@pytest.mark.skipif(not DATASET.exists(), reason=f"dataset not found at {DATASET}")
def test_backtest_on_x_education_leads_beats_090_and_naive_bayes(tmp_path, capsys):
    from leadflow.cli import main

    out = tmp_path / "scores.csv"
    argv = [
        "scoring", "backtest", "--csv", str(DATASET), "--id-column", "Prospect ID", "--label", "Converted",
        "--order-by", "Lead Number", "--train-fraction", "0.7", "--exclude", EXCLUDE, "--out", str(out),
    ]  # fmt: skip
    assert main(argv) == 0
    printed = capsys.readouterr()
    assert "ROC AUC" in printed.out and "log loss" in printed.out and "decile" in printed.out
    assert "[backtest]" in printed.err  # progress on stderr

    with DATASET.open(newline="", encoding="utf-8") as fh:
        data = list(csv.DictReader(fh))
    truth = {r["Prospect ID"]: int(r["Converted"]) for r in data}
    with out.open(newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        assert next(reader) == ["id", "probability"]
        scored = [(row[0], float(row[1])) for row in reader]
    n_train = int(0.7 * len(data))
    assert len(scored) == len(data) - n_train  # every test row
    ordered = sorted(data, key=lambda r: int(r["Lead Number"]))
    assert {i for i, _ in scored} == {r["Prospect ID"] for r in ordered[n_train:]}
    assert all(0.0 <= p <= 1.0 for _, p in scored)
    auc = _independent_auc([truth[i] for i, _ in scored], [p for _, p in scored])
    assert auc >= 0.90, auc

    # the reference naive Bayes on the same split (categorical fields, as Odoo's lead scoring)
    excluded = set(EXCLUDE.split(",")) | {"Prospect ID", "Lead Number", "Converted", ""}
    numeric = {"TotalVisits", "Total Time Spent on Website", "Page Views Per Visit"}
    columns = [c for c in data[0] if c not in excluded and c not in numeric]
    nb = _naive_bayes_auc(ordered, [int(r["Converted"]) for r in ordered], n_train, columns)
    assert nb == pytest.approx(0.843, abs=0.005)
    assert auc >= nb + 0.04
