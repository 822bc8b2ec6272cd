"""Predictive scoring in the product: import of historical leads, the daily training with its
activation rule, predictions with factors on leads, and the mapping's validation."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from datetime import UTC, date, datetime
from itertools import pairwise
from pathlib import Path

import pytest

from tests.helpers import LambdaContext

ROOT = Path(__file__).resolve().parents[2]
DATASET = Path(__file__).resolve().parents[3] / "shared/datasets/x-education-leads.csv"
MAPPING = ROOT / "config/import/x-education.yaml"
needs_dataset = pytest.mark.skipif(not DATASET.is_file(), reason=f"{DATASET} not available")


def read_dataset() -> tuple[list[str], list[dict[str, str]]]:
    with DATASET.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or []), list(reader)


def import_rows(header, rows, mapping=None):
    from leadflow.services.lead_import import import_leads, load_mapping

    return import_leads(rows, header, mapping or load_mapping(MAPPING), file_name=DATASET.name)


@pytest.fixture
def predictive(aws):
    from leadflow.services import predictive

    predictive.clear_cache()  # versions restart at 1 in every emulated account
    yield predictive
    predictive.clear_cache()


@needs_dataset
def test_import_train_activate_predict_and_keep_the_better_model(aws, predictive):
    from functions.train import handler
    from leadflow.services import predictive_training as training
    from leadflow.store import config as store
    from leadflow.store.leads import get_lead, history_of
    from leadflow.store.models import LeadModel
    from tests.integration.test_qualification import GENUINE, capture, drain_intake

    header, rows = read_dataset()
    first = import_rows(header, rows[:1500])
    assert (first.imported, first.errors, first.counted) == (1500, [], False)
    assert first.won + first.lost == 1500 and first.won == sum(r["Converted"] == "1" for r in rows[:1500])
    imported = get_lead(first.lead_ids[0])
    assert (imported.stage in ("CUSTOMER", "LOST"), imported.quality) == (True, "plausible")
    assert imported.source and "Tags" not in imported.attributes and "Lead Quality" not in imported.attributes
    assert not any(k.startswith("Asymmetrique") for k in imported.attributes)
    assert {"Prospect ID", "Converted", "Lead Number", "Lead Source"}.isdisjoint(imported.attributes)
    assert "TotalVisits" in imported.attributes
    [entry] = history_of(imported.lead_id)
    assert (entry.kind, entry.reason, entry.actor) == ("import", "imported", "system:import")
    again = import_rows(header, rows[:1500])
    assert (again.imported, again.already_imported) == (0, 1500)

    open_lead = capture(GENUINE)  # a live lead the new model's rescore reaches
    drain_intake(aws)

    summary = handler({}, LambdaContext())  # the daily schedule
    assert summary["activated"] and summary["version"] == 1, summary
    assert summary["outcomes"] == 1500 and summary["validation"]["rows"] == 300
    assert summary["validation"]["auc"] > 0.85
    assert summary["size"]["stored_bytes"] < summary["size"]["json_bytes"] / 2  # gzip+base64 in the item
    assert summary["rescore"]["rescored"] >= 1
    assert store.active_version("predictive_model") == 1
    document = store.get_version("predictive_model", 1).document
    assert document["validation"]["auc"] == summary["validation"]["auc"] and document["outcomes"] == 1500
    stored_lead = get_lead(open_lead)
    assert stored_lead.prediction["model_version"] == 1 and 0 < stored_lead.prediction["probability"] < 1

    # no outcomes since the active model: nothing is trained, the active version stays
    unchanged = handler({}, LambdaContext())
    assert (unchanged["trained"], unchanged["activated"], unchanged["version"]) == (False, False, 1)
    assert unchanged["outcomes"] is None  # seen from the index: only outcomes newer than the mark are read
    assert "keeping the active model" in unchanged["reason"]

    # an imported lead: probability and its top factors, read as a rep would
    prediction = predictive.predict_lead(get_lead(first.lead_ids[-1]))
    assert prediction["model_version"] == 1 and 0 < prediction["probability"] < 1
    assert len(prediction["factors"]) == 5
    assert {"feature", "value", "contribution"} == set(prediction["factors"][0])
    assert all(abs(a["contribution"]) >= abs(b["contribution"])
               for a, b in pairwise(prediction["factors"]))
    live = LeadModel("x", stage="LEAD", source="website", engagement_state={"download": [8.0, "2026-11-01"]})
    fields = predictive.prediction_fields(live, engagement_state={"download": [16.0, "2026-11-02"]})
    assert fields["prediction"]["model_version"] == 1
    assert predictive.feature_row(live, ("page_visit",), {"download": [16.0, "2026-11-02"]})[
        "engagement download"] == "16"

    # newer outcomes arrive: the candidate replaces the active model only if not worse on them
    second = import_rows(header, rows[1500:2000])
    assert second.imported == 500
    retrained = training.train_and_maybe_activate(datetime.now(UTC))
    # validated on the newest 20 % of the 2,000 outcomes, all after the active model's training mark
    assert retrained["trained"] and retrained["validation"]["rows"] == 400
    candidate, active = retrained["validation"]["auc"], retrained["active_validation"]["auc"]
    assert retrained["activated"] == (candidate >= active), retrained
    assert store.active_version("predictive_model") == (2 if candidate >= active else 1)


@needs_dataset
def test_a_model_too_large_for_one_item_falls_back_to_logistic_only(aws, predictive, monkeypatch):
    header, rows = read_dataset()
    import_rows(header, rows[:600])
    from leadflow.services import predictive_training

    monkeypatch.setattr(predictive_training, "MAX_DOCUMENT_BYTES", 25_000)
    summary = predictive_training.train_and_maybe_activate(datetime.now(UTC))
    assert summary["activated"] and summary["trees"] is False, summary
    version, model = predictive.active_model(fresh=True)
    assert version == 1 and model.trees is None


def test_without_an_active_model_there_is_no_prediction_and_no_numpy(aws, predictive):
    from leadflow.store.models import LeadModel

    assert predictive.prediction_fields(LeadModel("x", stage="LEAD")) == {}
    code = ("import sys, leadflow.services.predictive; "
            "assert 'numpy' not in sys.modules, 'numpy imported at module load'")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_training_reads_won_and_lost_leads_only(aws, predictive):
    from leadflow.store.models import LeadModel

    now = datetime.now(UTC)
    cases = {"won": ("CUSTOMER", ["LEAD", "MQL", "SAL", "SQL", "OPPORTUNITY", "CUSTOMER"]),
             "lost": ("LOST", ["LEAD", "MQL", "SAL", "SQL", "OPPORTUNITY", "LOST"]),
             "rejected-by-sales": ("RECYCLED", ["LEAD", "MQL", "SAL", "RECYCLED"]),
             "disqualified-by-sales": ("DISQUALIFIED", ["LEAD", "MQL", "SAL", "DISQUALIFIED"]),
             "implausible": ("DISQUALIFIED", ["LEAD", "DISQUALIFIED"]),
             "nurtured": ("RECYCLED", ["LEAD", "MQL", "RECYCLED"]),
             "open": ("SQL", ["LEAD", "MQL", "SAL", "SQL"])}
    for lead_id, (stage_name, reached) in cases.items():
        LeadModel(lead_id, stage=stage_name, stage_sort=f"{now.isoformat()}#{lead_id}", stage_entered_at=now,
                  created_at=now, updated_at=now, stages_reached=reached, source="fair",
                  engagement_state={"download": [8.0, now.isoformat()]}).save()
    rows, labels, _order, ids = predictive.training_rows()
    assert dict(zip(ids, labels)) == {"won": 1, "lost": 0, "rejected-by-sales": 0, "disqualified-by-sales": 0}
    row = rows[ids.index("won")]
    assert (row["source"], row["engagement download"], row["engagement page_visit"], row["has_phone"]) == (
        "fair", "8", "0", "no")
    assert not {"stage", "owner_id", "score_total", "grade", "close_reason"} & set(row)


def test_historical_leads_with_dates_count_in_their_periods_and_reconcile(aws):
    from leadflow.services.controlling import funnel, reconcile
    from leadflow.services.lead_import import import_leads, parse_mapping

    text = "\n".join(["crm_id,created,closed,result,channel,industry,notes"] + [
        f"c{i},2024-03-{1 + i % 28:02d},2024-04-{1 + i % 28:02d}T10:00,{'Closed Won' if i % 3 == 0 else 'Closed Lost'},"
        f"{'fair' if i % 2 else 'website'},{'retail' if i % 4 else 'logistics'},{'great' if i % 3 == 0 else ''}"
        for i in range(30)])
    mapping = parse_mapping({"name": "crm", "id": "crm_id", "created_at": "created", "closed_at": "closed",
                             "outcome": {"column": "result", "won": ["closed won"], "lost": ["closed lost"]},
                             "fields": {"source": "channel"}, "ignore": ["notes"]})
    reader = csv.DictReader(io.StringIO(text))
    summary = import_leads(reader, reader.fieldnames, mapping)
    assert (summary.imported, summary.won, summary.lost, summary.counted) == (30, 10, 20, True)
    march = funnel(date(2024, 3, 1), date(2024, 3, 31), grain="month")
    april = funnel(date(2024, 4, 1), date(2024, 4, 30), grain="month")
    assert stage(march, "LEAD").entered == 30 and stage(april, "CUSTOMER").entered == 10
    assert stage(april, "LOST").entered == 20
    assert reconcile().ok
    reader = csv.DictReader(io.StringIO(text))
    assert import_leads(reader, reader.fieldnames, mapping).already_imported == 30
    assert stage(funnel(date(2024, 3, 1), date(2024, 3, 31), grain="month"), "LEAD").entered == 30


def stage(report, name):
    [group] = report.groups
    return next(m for m in group.stages + group.side_exits if m.stage.value == name)


# --- the mapping (no AWS) -----------------------------------------------------------------------

def test_mapping_names_the_missing_column():
    from leadflow.services.lead_import import InvalidImport, load_mapping

    mapping = load_mapping(MAPPING)
    header = ["Prospect ID", "Lead Number", "Lead Source", "Country", "Tags", "Lead Quality", "Lead Profile",
              "Asymmetrique Activity Index", "Last Notable Activity", "TotalVisits"]
    with pytest.raises(InvalidImport) as missing:
        mapping.check_header(header, file_name="leads.csv")
    assert "outcome.column: column 'Converted' not found in leads.csv" in missing.value.message
    assert missing.value.field == "outcome.column"
    with pytest.raises(InvalidImport) as ignored:
        mapping.check_header([h for h in header if h != "Lead Profile"] + ["Converted"])
    assert "ignore: column 'Lead Profile' not found" in ignored.value.message
    assert mapping.check_header([*header, "Converted"]) == ["TotalVisits"]


def test_mapping_refuses_unknown_fields_and_bad_rows():
    from leadflow.services.lead_import import InvalidImport, import_leads, parse_mapping

    with pytest.raises(InvalidImport, match="fields: .*unknown Leadflow field 'email'"):
        parse_mapping({"id": "id", "outcome": {"column": "won"}, "fields": {"email": "mail"}})
    with pytest.raises(InvalidImport, match="id: Field required"):
        parse_mapping({"outcome": {"column": "won"}})
    mapping = parse_mapping({"name": "t", "id": "id", "outcome": {"column": "won"}, "created_at": "created"})
    rows = [{"id": "1", "won": "yes", "created": "2024-01-02"}, {"id": "1", "won": "no", "created": "2024-01-03"},
            {"id": "2", "won": "maybe", "created": "2024-01-03"}, {"id": "3", "won": "no", "created": "03/01/24"},
            {"id": "", "won": "no", "created": "2024-01-03"}, {"id": "4", "won": "No", "created": "2024-01-04"}]
    summary = import_leads(rows, ["id", "won", "created"], mapping, dry_run=True)
    assert (summary.imported, summary.won, summary.lost) == (2, 1, 1)
    assert [e.split(":")[0] for e in summary.errors] == ["line 3", "line 4", "line 5", "line 6"]
    assert "won = 'maybe' is neither won" in summary.errors[1]
    assert "created (created_at) = '03/01/24' is not an ISO 8601 date" in summary.errors[2]
