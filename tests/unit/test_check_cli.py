"""`leadflow check FILE`: JSONL and CSV in, one JSONL verdict per record out, in order."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from leadflow.cli import main

REPO = Path(__file__).resolve().parents[2]

GENUINE = {"firstName": "Åsa", "lastName": "Öberg", "email": "asa.oberg@gmail.com", "city": "Göteborg", "country": "SE"}
JUNK = {"firstName": "Max", "lastName": "Mustermann", "email": "max@example.com", "country": "DE"}
TYPO = {"firstName": "Bernd", "lastName": "Lange", "email": "bernd.lange@gmx.dee", "country": "DE"}


def write_jsonl(path: Path, rows: list) -> Path:
    path.write_text("".join((row if isinstance(row, str) else json.dumps(row, ensure_ascii=False)) + "\n"
                            for row in rows), encoding="utf-8")
    return path


def output_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_jsonl_in_order_with_reasons(tmp_path, capsys):
    source = write_jsonl(tmp_path / "leads.jsonl", [
        {"id": "a", "input": GENUINE}, {"id": "b", "input": JUNK}, {"id": 3, "input": TYPO},
    ])
    assert main(["check", str(source)]) == 0
    out = output_lines(capsys.readouterr().out)
    assert [row["id"] for row in out] == ["a", "b", 3]
    assert [row["verdict"] for row in out] == ["plausible", "implausible", "needs_review"]
    assert set(out[0]) == {"id", "verdict", "reasons"}
    reason = out[2]["reasons"][0]
    assert reason["code"] == "email_domain_typo" and reason["field"] == "email" and "gmx.de" in reason["message"]


def test_summary_on_stderr(tmp_path, capsys):
    source = write_jsonl(tmp_path / "leads.jsonl", [
        {"id": 1, "label": "genuine", "input": GENUINE}, {"id": 2, "label": "junk", "input": JUNK},
    ])
    main(["check", str(source)])
    err = capsys.readouterr().err
    assert "checked 2 records" in err and "records/s" in err
    assert "plausible" in err and "implausible" in err
    assert "top reasons:" in err and "email_placeholder_domain" in err
    assert "label genuine (1): plausible 100.0%" in err


def test_malformed_lines_give_an_error_line_and_do_not_stop(tmp_path, capsys):
    source = write_jsonl(tmp_path / "leads.jsonl", [
        {"id": "a", "input": GENUINE}, "{not json", "[1, 2]", {"id": "d", "input": "text"}, {"id": "e", "input": JUNK},
    ])
    assert main(["check", str(source)]) == 1
    out = output_lines(capsys.readouterr().out)
    assert [row["id"] for row in out] == ["a", "line 2", "line 3", "d", "e"]
    assert out[1]["verdict"] is None and "invalid JSON" in out[1]["error"]
    assert out[3]["verdict"] is None and "input" in out[3]["error"]
    assert out[4]["verdict"] == "implausible"


def test_flat_objects_without_input_are_read_as_capture_fields(tmp_path, capsys):
    source = write_jsonl(tmp_path / "flat.jsonl", [{"id": 7, **JUNK}])
    main(["check", str(source)])
    assert output_lines(capsys.readouterr().out)[0] == {
        "id": 7, "verdict": "implausible", "reasons": output_lines_reasons(JUNK)}


def output_lines_reasons(submission: dict) -> list[dict]:
    from leadflow.domain.plausibility import check

    return check(submission).to_dict()["reasons"]


@pytest.mark.parametrize("delimiter", [",", ";"])
def test_csv_with_capture_columns(tmp_path, capsys, delimiter):
    header = ["id", "firstName", "lastName", "email", "phone", "city", "country", "interests"]
    rows = [
        ["1", "Jürgen", "Weiß", "j.weiss@web.de", "0171 4829173", "München", "DE", "webinar;pricing"],
        ["2", "asdf", "asdf", "asdf@asdf.de", "", "", "DE", ""],
        ["3", "Katrin", "Vogt", "katrin.vogt@gmial.com", "", "Kassel", "DE", "demo"],
    ]
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter).writerows([header, *rows])  # quotes "webinar;pricing" for ";"
    source = tmp_path / "fair.csv"
    source.write_text("\ufeff" + buffer.getvalue(), encoding="utf-8")  # Excel writes a BOM
    main(["check", str(source)])
    out = output_lines(capsys.readouterr().out)
    assert [(row["id"], row["verdict"]) for row in out] == [
        ("1", "plausible"), ("2", "implausible"), ("3", "needs_review")]


def test_csv_rows_without_id_are_numbered(tmp_path, capsys):
    source = tmp_path / "no-id.csv"
    source.write_text("firstName,lastName,email\nAnna,Berg,anna.berg@gmx.de\n", encoding="utf-8")
    main(["check", str(source)])
    assert output_lines(capsys.readouterr().out)[0]["id"] == "row 2"


def test_stdin_and_out_file(tmp_path, monkeypatch, capsys):
    data = json.dumps({"id": "x", "input": TYPO}) + "\n"
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data.encode())))
    target = tmp_path / "verdicts.jsonl"
    assert main(["check", "-", "--out", str(target), "--quiet"]) == 0
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""
    assert output_lines(target.read_text())[0]["verdict"] == "needs_review"


def test_progress_for_long_files_when_stderr_is_not_a_terminal(tmp_path, capsys):
    rows = [{"id": n, "input": GENUINE if n % 2 else TYPO} for n in range(2500)]
    source = write_jsonl(tmp_path / "long.jsonl", rows)
    main(["check", str(source), "--out", str(tmp_path / "out.jsonl")])
    err = capsys.readouterr().err
    assert "2500/2500 100%" in err and "records/s" in err
    assert len((tmp_path / "out.jsonl").read_text().splitlines()) == 2500


def test_no_progress_for_short_files_unless_asked(tmp_path, capsys):
    source = write_jsonl(tmp_path / "short.jsonl", [{"id": 1, "input": GENUINE}])
    main(["check", str(source)])
    assert "[" not in capsys.readouterr().err
    main(["check", str(source), "--progress", "always"])
    assert "1/1 100%" in capsys.readouterr().err


def test_a_missing_file_is_exit_code_2(tmp_path, capsys):
    assert main(["check", str(tmp_path / "nope.jsonl")]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_other_rules_file(tmp_path, capsys):
    rules = (REPO / "config" / "plausibility.yaml").read_text().replace(
        "email_domain_typo: review", "email_domain_typo: reject", 1)
    (tmp_path / "strict.yaml").write_text(rules)
    source = write_jsonl(tmp_path / "leads.jsonl", [{"id": 1, "input": TYPO}])
    main(["check", str(source), "--rules", str(tmp_path / "strict.yaml")])
    assert output_lines(capsys.readouterr().out)[0]["verdict"] == "implausible"


def test_the_installed_command_runs_the_labelled_set():
    leadflow = Path(sys.executable).with_name("leadflow")
    command = [str(leadflow)] if leadflow.exists() else [sys.executable, "-m", "leadflow.cli"]
    result = subprocess.run([*command, "check", "tests/data/plausibility_labelled.jsonl"], cwd=REPO,
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    out = output_lines(result.stdout)
    ids = [json.loads(line)["id"] for line in (REPO / "tests/data/plausibility_labelled.jsonl").read_text().splitlines()]
    assert [row["id"] for row in out] == ids
    assert "records/s" in result.stderr
