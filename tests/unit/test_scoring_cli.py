"""`leadflow scoring backtest`: argument errors name the column; output covers every test row."""

from __future__ import annotations

import csv
import math
import random
from pathlib import Path

import pytest

from leadflow.cli import main


def write_leads(path: Path, n: int = 600, label_values=("won", "lost")) -> None:
    rng = random.Random(11)
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["Lead", "Created", "Channel", "Visits", "Secret", "Stage", ""])
        for i in range(n):
            channel = rng.choice(["Web", "Phone", "Partner"])
            visits = rng.randint(0, 12)
            z = -1 + {"Web": 0.0, "Phone": 0.8, "Partner": 1.5}[channel] + 0.2 * visits
            won = rng.random() < 1 / (1 + math.exp(-z))
            created = f"2024-{1 + (i * 12) // n:02d}-{1 + i % 28:02d}"
            stage = label_values[0] if won else label_values[1]
            w.writerow([f"id-{i}", created, channel, visits, "x" if won else "y", stage, ""])


def run(tmp_path: Path, *extra: str, csv_path: Path | None = None) -> tuple[int, Path]:
    src = csv_path or tmp_path / "leads.csv"
    if csv_path is None:
        write_leads(src)
    out = tmp_path / "out" / "scores.csv"
    argv = ["scoring", "backtest", "--csv", str(src), "--label", "Stage", "--id-column", "Lead",
            "--order-by", "Created", "--out", str(out), *extra]  # fmt: skip
    return main(argv), out


def test_backtest_writes_every_test_row_and_prints_metrics(tmp_path, capsys):
    code, out = run(
        tmp_path, "--train-fraction", "0.75", "--exclude", "Secret", "--model-out", str(tmp_path / "m.json")
    )
    assert code == 0
    with out.open(newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["id", "probability"]
    assert len(rows) - 1 == 150
    assert all(0.0 <= float(p) <= 1.0 for _, p in rows[1:])
    captured = capsys.readouterr()
    assert "ROC AUC" in captured.out and "log loss" in captured.out
    assert "calibration" in captured.out
    assert "[backtest]" in captured.err
    assert (tmp_path / "m.json").exists()


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--label", "Outcome"),
        ("--id-column", "LeadId"),
        ("--order-by", "Closed"),
        ("--exclude", "Secret,Budget"),
    ],
)
def test_missing_columns_are_named(tmp_path, capsys, option, value):
    src = tmp_path / "leads.csv"
    write_leads(src, n=50)
    out = tmp_path / "scores.csv"
    args = {"--label": "Stage", "--id-column": "Lead", "--order-by": "Created", "--exclude": "Secret"}
    args[option] = value
    argv = ["scoring", "backtest", "--csv", str(src), "--out", str(out)]
    for k, v in args.items():
        argv += [k, v]
    assert main(argv) == 2
    err = capsys.readouterr().err
    missing = "Budget" if option == "--exclude" else value
    assert f"'{missing}'" in err and option in err
    assert not out.exists()


def test_label_that_is_not_binary_is_reported_with_its_column(tmp_path, capsys):
    src = tmp_path / "leads.csv"
    write_leads(src, n=60)
    code, _ = run(tmp_path, "--label", "Channel", csv_path=src)
    assert code == 2
    assert "'Channel'" in capsys.readouterr().err


def test_train_fraction_must_be_a_proper_fraction(tmp_path, capsys):
    code, _ = run(tmp_path, "--train-fraction", "1.0")
    assert code == 2
    assert "--train-fraction" in capsys.readouterr().err


def test_yes_no_labels_and_missing_file(tmp_path, capsys):
    src = tmp_path / "yn.csv"
    write_leads(src, n=300, label_values=("Yes", "No"))
    code, out = run(tmp_path, "--exclude", "Secret", csv_path=src)
    assert code == 0 and out.exists()
    code, _ = run(tmp_path, csv_path=tmp_path / "nope.csv")
    assert code == 2
    assert "not found" in capsys.readouterr().err


def test_scoring_without_subcommand_prints_help(capsys):
    assert main(["scoring"]) == 2
    assert "backtest" in capsys.readouterr().out
