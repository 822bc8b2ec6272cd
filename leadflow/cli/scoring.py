"""`leadflow scoring` - predictive lead scoring tools.

    leadflow scoring backtest --csv leads.csv --label Converted --id-column "Prospect ID" \\
        --order-by "Lead Number" --train-fraction 0.7 --exclude "Tags,Lead Quality" --out scores.csv

The backtest maps any CSV of historical leads generically: rows are sorted by
``--order-by`` (stable), the first ``--train-fraction`` is given to the same
``train`` the scheduled train function uses, the rest is predicted. It writes
``id,probability`` for every test row and prints ROC AUC, log loss and a
calibration table by decile (progress goes to stderr).
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import sys
import time
from pathlib import Path


def register(subparsers) -> None:
    parser = subparsers.add_parser("scoring", help="predictive lead scoring (backtest)")
    sub = parser.add_subparsers(dest="scoring_command", metavar="SUBCOMMAND")
    parser.set_defaults(func=lambda _args: (parser.print_help(), 2)[1])

    bt = sub.add_parser(
        "backtest",
        help="train on the oldest part of a CSV of closed leads, score the rest",
        description="Train on the first --train-fraction of the rows (sorted by --order-by), "
        "predict the rest, write id,probability and print ROC AUC, log loss and calibration.",
    )
    bt.add_argument("--csv", required=True, type=Path, help="CSV of historical leads with a header row")
    bt.add_argument("--label", required=True, help="outcome column (0/1, true/false, yes/no, won/lost)")
    bt.add_argument("--id-column", required=True, help="column identifying a lead (written to --out)")
    bt.add_argument("--order-by", required=True, help="column giving the time order (number or ISO date)")
    bt.add_argument("--train-fraction", type=float, default=0.7, help="oldest share used for training (0.7)")
    bt.add_argument(
        "--exclude",
        action="append",
        default=[],
        metavar="COLS",
        help="comma-separated columns never used as features (repeatable)",
    )
    bt.add_argument("--out", required=True, type=Path, help="output CSV: id,probability for every test row")
    bt.add_argument("--model-out", type=Path, help="also write the trained model as JSON")
    bt.add_argument("--no-trees", action="store_true", help="logistic regression only (no tree ensemble)")
    bt.set_defaults(func=backtest)


def _err(message: str) -> int:
    print(f"leadflow scoring backtest: error: {message}", file=sys.stderr)
    return 2


def _progress(message: str) -> None:
    print(f"[backtest] {message}", file=sys.stderr, flush=True)


def _exclude_columns(values: list[str], header: list[str]) -> list[str]:
    out: list[str] = []
    for value in values:
        if value in header:  # a column whose name itself contains a comma
            out.append(value)
            continue
        out.extend(part.strip() for part in value.split(",") if part.strip())
    return out


def read_csv(path: Path) -> tuple[list[str], list[dict[str, str | None]]]:
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        header = list(reader.fieldnames or [])
        rows = []
        for row in reader:
            row.pop(None, None)  # surplus fields beyond the header
            rows.append(row)
    return header, rows


def backtest(args: argparse.Namespace) -> int:
    if not 0.0 < args.train_fraction < 1.0:
        return _err(f"--train-fraction must lie strictly between 0 and 1, got {args.train_fraction}")
    if not args.csv.is_file():
        return _err(f"CSV file not found: {args.csv}")
    started = time.perf_counter()
    _progress(f"reading {args.csv}")
    try:
        header, rows = read_csv(args.csv)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        return _err(f"cannot read {args.csv}: {exc}")
    if not header:
        return _err(f"{args.csv} has no header row")
    exclude = _exclude_columns(args.exclude, header)
    shown = ", ".join(repr(h) for h in header if h)
    for option, column in (
        ("--label", args.label),
        ("--id-column", args.id_column),
        ("--order-by", args.order_by),
    ):
        if column not in header:
            return _err(f"column {column!r} ({option}) not found in {args.csv}; columns are: {shown}")
    for column in exclude:
        if column not in header:
            return _err(f"column {column!r} (--exclude) not found in {args.csv}; columns are: {shown}")
    if len(rows) < 10:
        return _err(f"{args.csv} has only {len(rows)} data rows")

    # numpy and the model are imported only now: `leadflow scoring -h` stays fast. The matrices are
    # small: BLAS threads only spin against each other (and against other processes) on a busy machine
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    from leadflow.domain.predictive import (
        PredictiveDataError,
        TrainOptions,
        binary_labels,
        calibration_table,
        chronological_order,
        format_calibration,
        log_loss,
        roc_auc,
        train,
    )

    try:
        labels = binary_labels([r.get(args.label) for r in rows], args.label)
    except PredictiveDataError as exc:
        return _err(exc.message)

    order_values = [r.get(args.order_by) for r in rows]
    order = chronological_order(order_values)
    n_missing_order = sum(1 for v in order_values if v is None or not str(v).strip())
    if n_missing_order:
        _progress(f"{n_missing_order} rows without {args.order_by!r}: treated as the oldest")
    rows = [rows[i] for i in order]
    labels = [labels[i] for i in order]
    n_train = math.floor(args.train_fraction * len(rows) + 1e-9)
    n_train = min(max(n_train, 1), len(rows) - 1)
    train_idx = [i for i in range(n_train) if labels[i] is not None]
    test_rows = rows[n_train:]
    test_labels = labels[n_train:]
    _progress(
        f"{len(rows)} rows sorted by {args.order_by!r}: training on the first {n_train} "
        f"({len(train_idx)} with an outcome), testing on {len(test_rows)}"
    )

    options = TrainOptions(
        exclude=frozenset({args.label, args.id_column, args.order_by, *exclude}),
        use_trees=not args.no_trees,
        progress=_progress,
    )
    try:
        model = train([rows[i] for i in train_idx], [labels[i] for i in train_idx], options)
    except PredictiveDataError as exc:
        return _err(exc.message)
    _progress(f"scoring {len(test_rows)} test rows")
    probabilities = model.predict_proba(test_rows)

    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["id", "probability"])
        for row, p in zip(test_rows, probabilities):
            writer.writerow([row.get(args.id_column) or "", f"{float(p):.10g}"])
    _progress(f"wrote {len(test_rows)} rows to {args.out}")
    if args.model_out:
        args.model_out.parent.mkdir(parents=True, exist_ok=True)
        args.model_out.write_text(json.dumps(model.to_dict()), encoding="utf-8")
        _progress(f"wrote the model to {args.model_out}")

    scored = [(p, y) for p, y in zip(probabilities, test_labels) if y is not None]
    meta = model.metadata
    print(
        f"backtest of {args.csv.name}: train {n_train} rows, test {len(test_rows)} rows ({len(scored)} with an outcome)"
    )
    print(
        f"model: {len(model.encoder.columns)} feature columns ({model.encoder.width} encoded), "
        f"L2={meta['l2']:g}, half-life={meta['half_life']}, trees={meta['trees']}, "
        f"logistic weight={meta['blend_logistic']:g}; trained in {meta['train_seconds']:.2f}s"
    )
    if model.encoder.dropped:
        print("dropped columns: " + "; ".join(f"{k!r} ({v})" for k, v in model.encoder.dropped.items()))
    ys = [y for _, y in scored]
    ps = [p for p, _ in scored]
    if not scored or len(set(ys)) < 2:
        print("test rows hold fewer than two outcomes: ROC AUC not defined")
        return 0
    print(f"ROC AUC   {roc_auc(ys, ps):.4f}")
    print(f"log loss  {log_loss(ys, ps):.4f}")
    print(f"base rate {sum(ys) / len(ys):.4f} (test)")
    print("calibration by decile of predicted probability:")
    print(format_calibration(calibration_table(ys, ps, bins=10)))
    _progress(f"done in {time.perf_counter() - started:.1f}s")
    return 0
